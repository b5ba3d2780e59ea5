from allauth.account.models import EmailAddress


def user_is_verified(user) -> bool:
    """A portal user must have verified their primary email address (staff are exempt)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    cached = getattr(user, "_verified_cache", None)
    if cached is None:
        cached = EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
        user._verified_cache = cached
    return cached


def api_tokens_for(*, user):
    return user.api_tokens.filter(revoked_at__isnull=True)
