"""Demo seeder (after the orders seeder): one MQL order of the demo client taken through
the whole qualification — built from the sandbox, QA#1 passed, nurture emails sent to the
outbox, signed engagement events processed, the nurture window closed — and left in QA#2
for the staff demo. Idempotent: a fixed idempotency key, and each stage runs only once."""

import random
from urllib.parse import urlencode

from orders.models import OrderStatus, PipelineStep
from orders.pipeline import run_step
from orders.services import order_place, order_qa_decide
from qualification import sendcloud, services, simulation
from qualification.models import EmailEvent, EmailMessage
from wallet import services as wallet

DEMO_KEY = "demo-mql-1"
BODY = {
    "type": "mql",
    "target_count": 30,
    "criteria": {"seniorities": ["director", "vp"], "departments": ["marketing"], "countries": ["US"]},
}


def seed(*, client, staff, stdout=None) -> None:
    order = client.orders.filter(idempotency_key=DEMO_KEY).first()
    if order is None:
        needed = BODY["target_count"] * wallet.pricing_active().mql_lead_price
        available, _held = wallet.client_accounts(client)
        if available.balance < needed:
            wallet.topup_seed_paid(user=client, credits=max(needed, 500), session_id=f"cs_demo_mql_{client.pk}")
        order = order_place(user=client, data=BODY, idempotency_key=DEMO_KEY)
    step = PipelineStep.objects.filter(order=order, name=PipelineStep.Name.BUILD).first()
    if step and step.status != PipelineStep.Status.DONE:
        run_step(step.pk)
    order.refresh_from_db()
    if order.status == OrderStatus.LIST_QA:
        order = order_qa_decide(order=order, gate="list", decision="pass", actor=staff, notes="Demo review: sample OK.")
    if order.status == OrderStatus.NURTURING:
        _nurture(order)
    order.refresh_from_db()
    if stdout is not None:
        stdout.write(f"    MQL order #{order.pk} {order.status} ({order.qualified_count} qualified)")


def _nurture(order) -> None:
    services.nurture_start(order=order)  # no-op when the orders hook already started it
    order.refresh_from_db()
    services.nurture_step_run(order=order, step_key="intro", now=order.nurture_started_at)
    for pk in EmailMessage.objects.filter(order=order, status=EmailMessage.Status.RENDERED).values_list(
        "pk", flat=True
    ):
        services.message_send(message_id=pk)
    sent = list(
        EmailMessage.objects.filter(order=order, status=EmailMessage.Status.SENT)
        .exclude(sendcloud_email_id=None)
        .order_by("lead_id", "id")
    )
    if not EmailEvent.objects.filter(order_id=order.pk, source=EmailEvent.Source.SENDCLOUD).exists():
        base = int(sendcloud.now_ms()) - 60_000
        for i, (kind, message) in enumerate(simulation.plan(sent, random.Random(40))):
            if kind == "interested":
                services.portal_link_used(message_id=message.message_id, kind="interest_confirmed")
            else:
                body = urlencode(simulation.webhook_form(kind, message, timestamp=str(base + i))).encode()
                services.webhook_receive(raw_body=body, content_type="application/x-www-form-urlencoded")
    for pk in EmailEvent.objects.filter(outcome=EmailEvent.Outcome.PENDING).values_list("pk", flat=True):
        services.event_process(event_id=pk)
    services.nurture_finish(order=order, force=True)
