"""The local outbox: the default email backend when no real provider is configured."""

from django.core.mail.backends.base import BaseEmailBackend


class OutboxEmailBackend(BaseEmailBackend):
    """Stores each message as an OutboxMessage row, shown on the /outbox/ page of the demo."""

    def send_messages(self, email_messages):
        from solosales.core.models import OutboxMessage

        sent = 0
        for message in email_messages:
            html = ""
            for alt, mimetype in getattr(message, "alternatives", []) or []:
                if mimetype == "text/html":
                    html = alt
            OutboxMessage.objects.create(
                to=", ".join(message.recipients()),
                from_email=message.from_email or "",
                subject=str(message.subject)[:998],
                body=str(message.body),
                html=html,
                headers={k: str(v) for k, v in (message.extra_headers or {}).items()},
            )
            sent += 1
        return sent
