"""Demo seeder: a few orders of the demo client, built from the sandbox and delivered
(idempotent: each order has a fixed idempotency key, each step is claimed before it runs)."""

from __future__ import annotations

from orders.models import OrderStatus, PipelineStep
from orders.pipeline import run_step
from orders.services import order_place, order_qa_decide
from wallet import services as wallet

DEMO_ORDERS = [
    (
        "demo-order-1",
        {
            "type": "list",
            "target_count": 120,
            "criteria": {"seniorities": ["director", "vp"], "departments": ["marketing"], "countries": ["US", "GB"]},
        },
        "pass",
    ),
    (
        "demo-order-2",
        {
            "type": "list",
            "target_count": 60,
            "criteria": {"titles": ["CTO", "VP of Engineering"], "countries": ["CN"], "company_sizes": ["51-200"]},
        },
        "pass",
    ),
    (
        "demo-order-3",
        {
            "type": "list",
            "target_count": 40,
            "criteria": {"industries": ["financial_services"], "countries": ["DE"], "seniorities": ["manager"]},
        },
        None,  # left in QA#1 for the staff demo
    ),
]
DEMO_TOPUP_CREDITS = 1000


def _ensure_credits(client, needed: int) -> None:
    available, _held = wallet.client_accounts(client)
    if available.balance < needed:
        wallet.topup_seed_paid(user=client, credits=DEMO_TOPUP_CREDITS, session_id=f"cs_demo_orders_{client.pk}")


def seed(*, client, staff, stdout=None) -> None:
    for key, body, decision in DEMO_ORDERS:
        order = client.orders.filter(idempotency_key=key).first()
        if order is None:
            unit = wallet.pricing_active().list_lead_price
            # keep enough besides for the client's own first order in the demo (200 leads)
            _ensure_credits(client, (body["target_count"] + 200) * unit)
            order = order_place(user=client, data=body, idempotency_key=key)
        step = PipelineStep.objects.filter(order=order, name=PipelineStep.Name.BUILD).first()
        if step and step.status != PipelineStep.Status.DONE:
            run_step(step.pk)
        order.refresh_from_db()
        if decision and order.status == OrderStatus.LIST_QA:
            order_qa_decide(order=order, gate="list", decision=decision, actor=staff, notes="Demo review: sample OK.")
        if stdout is not None:
            order.refresh_from_db()
            stdout.write(f"    order #{order.pk} {order.status}")
