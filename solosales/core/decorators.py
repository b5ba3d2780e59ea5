from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


def portal_view(view):
    """Client portal pages: signed in, with a verified email address (else sent to verify)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        from solosales.accounts.selectors import user_is_verified

        if not user_is_verified(request.user):
            return redirect("account_email_verification_sent")
        return view(request, *args, **kwargs)

    return wrapper
