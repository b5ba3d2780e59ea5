"""Signed, login-free links carried by every nurture email ("yes, I'm interested" and
"unsubscribe"). The token is the email's own message id signed with SECRET_KEY, so it
cannot be guessed or pointed at another email."""

import uuid

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "qualification.email-link"


def make_token(message_id: uuid.UUID) -> str:
    # No timestamp: the same email always carries the same link, and links do not expire.
    return signing.Signer(salt=SALT).sign(uuid.UUID(str(message_id)).hex)


def read_token(token: str) -> uuid.UUID | None:
    """The message id a token was made for, or None for anything forged or garbled."""
    if not token or len(token) > 200:
        return None
    try:
        return uuid.UUID(hex=signing.Signer(salt=SALT).unsign(token))
    except (signing.BadSignature, ValueError, TypeError):
        return None


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def interested_url(message_id) -> str:
    return _absolute(reverse("qualification_public:interested", args=[make_token(message_id)]))


def unsubscribe_url(message_id) -> str:
    return _absolute(reverse("qualification_public:unsubscribe", args=[make_token(message_id)]))
