"""System checks that keep a production deployment from running with a local stand-in.

Registered from CoreConfig.ready(); they run at every ``manage.py`` start (runserver,
migrate, check) and ``check --deploy``. Outside production they say nothing.
"""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def production_secrets(app_configs=None, **kwargs):
    if not getattr(settings, "PRODUCTION", False):
        return []
    errors = []
    if settings.STRIPE_WEBHOOK_SECRET in ("", settings.LOCAL_STRIPE_WEBHOOK_SECRET):
        errors.append(
            checks.Error(
                "STRIPE_WEBHOOK_SECRET is not set: anyone could sign a Stripe event that credits a wallet.",
                hint="Set it to the endpoint secret (whsec_…) of the /webhooks/stripe/ endpoint in Stripe.",
                id="solosales.E001",
            )
        )
    if settings.SENDCLOUD_APP_KEY in ("", settings.LOCAL_SENDCLOUD_APP_KEY):
        errors.append(
            checks.Error(
                "SENDCLOUD_APP_KEY is not set: anyone could sign SendCloud events that qualify leads.",
                hint="Set it to the APP_KEY SendCloud signs webhooks with.",
                id="solosales.E002",
            )
        )
    if settings.TEST_CHECKOUT:
        errors.append(
            checks.Error(
                "TEST_CHECKOUT is on in production: the local checkout credits wallets without a payment.",
                hint="Unset TEST_CHECKOUT (it is off by default in production).",
                id="solosales.E003",
            )
        )
    if not settings.STRIPE_SECRET_KEY:
        errors.append(
            checks.Warning(
                "STRIPE_SECRET_KEY is not set: clients cannot buy credits.",
                hint="Set it, or switch stripe_topups off so the wallet says top-ups are unavailable.",
                id="solosales.W001",
            )
        )
    return errors
