"""Qualification test helpers: MQL orders in nurture, sent emails, signed SendCloud events."""

import itertools
import json
import secrets
import time
from urllib.parse import urlencode

from django.utils import timezone

from orders.models import Lead, Order
from orders.services import order_place, order_qa_decide, order_transition
from qualification import sendcloud, services
from qualification.models import EmailEvent, EmailMessage
from tests.factories import make_client
from wallet import services as wallet
from wallet.models import TopUp

_seq = itertools.count(1)
WEBHOOK = "/webhooks/sendcloud/"


def fund(user, credits: int) -> None:
    pricing = wallet.pricing_active()
    topup = TopUp.objects.create(
        user=user,
        pricing_version=pricing,
        credits=credits,
        credit_price_minor=pricing.credit_price_minor,
        amount_minor=credits * pricing.credit_price_minor,
        currency=pricing.currency,
        status=TopUp.Status.PAID,
        paid_at=timezone.now(),
    )
    wallet.topup_credit(topup=topup)


def make_mql_order(user=None, *, leads: int = 4, language: str = "en", target: int = 10, start=True) -> Order:
    """An MQL order that passed QA#1 with ``leads`` accepted leads, in ``nurturing``
    (nurture started unless ``start`` is False)."""
    user = user or make_client()
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    fund(user, 5000)
    order = order_place(
        user=user,
        data={"type": "mql", "target_count": target, "criteria": {"countries": ["US"]}},
        idempotency_key=f"mql-{next(_seq)}",
    )
    order = order_transition(order=order, name="start")
    n = next(_seq)
    for i in range(leads):
        Lead.objects.create(
            order=order,
            provider="sandbox",
            dedupe_key=f"lead-{n}-{i}",
            full_name=f"Ada Lovelace{i}",
            first_name="Ada",
            last_name=f"Lovelace{i}",
            title="Head of Growth",
            company=f"Acme {i}",
            company_domain=f"acme{i}.example",
            email=f"ada{n}.{i}@acme{i}.example",
            email_status="valid",
            country="US",
        )
    order = order_transition(order=order, name="finish_building")
    order = order_qa_decide(order=order, gate="list", decision="pass", accepted_count=leads)
    if start:
        assert services.nurture_start(order=order)
    return Order.objects.get(pk=order.pk)


def send_step(order, step="intro") -> list[EmailMessage]:
    """Renders the step and sends every email of it (outbox path unless SendCloud is set)."""
    services.nurture_step_run(order=order, step_key=step)
    messages = list(EmailMessage.objects.filter(order=order, step=step).order_by("id"))
    for message in messages:
        services.message_send(message_id=message.pk)
    process_pending()
    return list(EmailMessage.objects.filter(order=order, step=step).order_by("id"))


def process_pending() -> list[str]:
    return [
        services.event_process(event_id=pk)
        for pk in EmailEvent.objects.filter(outcome=EmailEvent.Outcome.PENDING)
        .order_by("id")
        .values_list("pk", flat=True)
    ]


def signed(message=None, event="deliver", *, ts=None, token=None, app_key=None, email_id=None, **extra) -> dict:
    ts = ts if ts is not None else sendcloud.now_ms()
    token = token or secrets.token_hex(25)
    data = {
        "event": event,
        "emailId": email_id if email_id is not None else (message.sendcloud_email_id if message else "unknown$x@y.z"),
        "recipient": message.to_email if message else "x@y.z",
        "timestamp": str(ts),
        "token": token,
        "signature": sendcloud.signature(timestamp=str(ts), token=token, app_key=app_key),
        **extra,
    }
    return data


def post_form(client, data):
    return client.post(WEBHOOK, data=urlencode(data), content_type="application/x-www-form-urlencoded")


def post_json(client, data):
    return client.post(WEBHOOK, data=json.dumps(data), content_type="application/json")


def seconds_ago(seconds: float) -> str:
    return str(int((time.time() - seconds) * 1000))
