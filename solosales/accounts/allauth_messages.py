"""allauth's own Simplified Chinese catalogue leaves "Email" in English inside its Chinese
messages ("确认Email地址"). The msgids of those that clients see are marked here so that
``make messages`` keeps them in the project's catalogue (locale/), whose translations take
precedence over allauth's (LOCALE_PATHS). Nothing imports this module."""

from django.utils.translation import gettext_noop

ALLAUTH_OVERRIDES = [
    gettext_noop("Confirm Email Address"),
    gettext_noop("Please Confirm Your Email Address"),
    gettext_noop("Email Confirmation"),
    gettext_noop("Your email has been confirmed."),
    gettext_noop("Email Address"),
    gettext_noop("Email Addresses"),
    gettext_noop("The following email addresses are associated with your account:"),
    gettext_noop("Primary"),
    gettext_noop("Re-send Verification"),
    gettext_noop("Add Email Address"),
    gettext_noop("Add Email"),
    gettext_noop("Change Email"),
    gettext_noop("Current email"),
    gettext_noop("Email Changed"),
    gettext_noop("Email Removed"),
    gettext_noop("Do you really want to remove the selected email address?"),
    gettext_noop("Email address %(deleted_email)s has been removed from your account."),
    gettext_noop("You cannot remove your primary email address (%(email)s)."),
]
