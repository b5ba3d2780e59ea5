from django.db import transaction
from django.utils import timezone

from solosales.accounts.models import ApiToken
from solosales.core.errors import NotFound, ValidationFailed

MAX_TOKENS = 20


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its plain key; only the key's hash is stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Give the token a name of 1 to 100 characters.")
    if user.api_tokens.filter(revoked_at__isnull=True).count() >= MAX_TOKENS:
        raise ValidationFailed(f"At most {MAX_TOKENS} active tokens; revoke one first.")
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:10], key_hash=ApiToken.hash_key(key))
    return token, key


@transaction.atomic
def api_token_revoke(*, user, token_id: int) -> ApiToken:
    """Revokes one of the user's own tokens; revoking twice is harmless."""
    token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def user_set_preferences(*, user, language: str | None = None, tz: str | None = None):
    fields = []
    if language is not None:
        user.language = language
        fields.append("language")
    if tz is not None:
        user.timezone = tz
        fields.append("timezone")
    if fields:
        user.save(update_fields=fields)
    return user
