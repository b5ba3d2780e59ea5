"""Thin RQ entry points: load by id, do the work once."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from disputes.models import ArbitrationLog, Decision, Dispute


def dispute_notify_decision(dispute_id: int) -> bool:
    """Emails the client the outcome of their dispute, in their language, at most once
    (claimed with a conditional UPDATE on ``notified_at``)."""
    claimed = Dispute.objects.filter(pk=dispute_id, notified_at__isnull=True, decided_at__isnull=False).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return False
    dispute = Dispute.objects.select_related("user", "order").get(pk=dispute_id)
    items = list(dispute.items.select_related("lead").order_by("id"))
    with translation.override(dispute.user.language or settings.LANGUAGE_CODE):
        subject = _("Your dispute #%(id)s was decided: %(status)s") % {
            "id": dispute.pk,
            "status": dispute.get_status_display(),
        }
        body = render_to_string(
            "disputes/email/decision.txt",
            {
                "dispute": dispute,
                "items": items,
                "accepted": sum(1 for i in items if i.decision == Decision.ACCEPTED),
                "url": settings.SITE_URL.rstrip("/") + reverse("disputes:detail", args=[dispute.pk]),
            },
        )
    send_mail(str(subject), body, settings.DEFAULT_FROM_EMAIL, [dispute.user.email])
    ArbitrationLog.objects.create(
        dispute=dispute, action=ArbitrationLog.Action.NOTIFIED, data={"to": dispute.user.email}
    )
    return True
