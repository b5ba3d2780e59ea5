"""A Django email backend that sends through SendCloud, for transactional mail:

    EMAIL_BACKEND=qualification.backends.SendCloudEmailBackend

With no SendCloud credentials it hands the messages to the local outbox backend, so a
half-configured environment still shows every email at /outbox/ instead of losing it.
"""

import logging
import uuid

from django.core.mail.backends.base import BaseEmailBackend

from qualification import sendcloud

log = logging.getLogger(__name__)


def _html_of(message) -> str:
    for content, mimetype in getattr(message, "alternatives", None) or []:
        if mimetype == "text/html":
            return str(content)
    if getattr(message, "content_subtype", "plain") == "html":
        return str(message.body)
    return ""


class SendCloudEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        if not sendcloud.is_configured():
            from solosales.core.mail import OutboxEmailBackend

            return OutboxEmailBackend(fail_silently=self.fail_silently).send_messages(email_messages)
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            headers = {str(k): str(v) for k, v in (message.extra_headers or {}).items()}
            request_id = headers.pop("X-SendCloud-Request-Id", "") or uuid.uuid4().hex
            html = _html_of(message)
            plain = "" if getattr(message, "content_subtype", "plain") == "html" else str(message.body)
            try:
                sendcloud.send(
                    to=recipients,
                    subject=str(message.subject),
                    html=html,
                    plain=plain,
                    request_id=request_id,
                    from_email=_address(message.from_email),
                    from_name=_name(message.from_email),
                    headers=headers,
                    tracking=False,  # transactional mail: no open/click tracking
                )
                sent += 1
            except sendcloud.SendCloudError:
                log.exception("SendCloud could not send %r", str(message.subject))
                if not self.fail_silently:
                    raise
        return sent


def _address(from_email: str | None) -> str | None:
    from email.utils import parseaddr

    return parseaddr(from_email or "")[1] or None


def _name(from_email: str | None) -> str:
    from email.utils import parseaddr

    return parseaddr(from_email or "")[0]
