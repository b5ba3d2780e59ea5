"""Orders in a given state for page, API and export tests, built through the real services
(placement, transitions, QA) with leads written directly, so no provider or worker runs."""

import itertools
import uuid

from orders.models import Lead, Order, OrderStatus
from orders.services import order_cancel, order_place, order_qa_decide, order_transition
from wallet.services import adjustment_post

S = OrderStatus
_seq = itertools.count(1)

DEFAULT_CRITERIA = {"titles": ["Head of Sales"], "countries": ["DE"]}


def fund(user, credits: int) -> None:
    """Gives ``user`` available credits through the ledger (an ops promotion adjustment)."""
    adjustment_post(
        user=user, amount=credits, reason_code="promotion", actor=None, key=f"test-fund:{uuid.uuid4()}", memo="test"
    )


def make_lead(order: Order, **fields) -> Lead:
    n = next(_seq)
    values = {
        "provider": "sandbox",
        "provider_id": f"p{n}",
        "dedupe_key": f"lead{n}@acme-{n}.example",
        "full_name": f"Person {n}",
        "first_name": "Person",
        "last_name": str(n),
        "title": "Head of Sales",
        "company": f"Acme {n}",
        "company_domain": f"acme-{n}.example",
        "industry": "computer_software",
        "company_size": "51-200",
        "email": f"lead{n}@acme-{n}.example",
        "email_status": "valid",
        "phone": "",
        "linkedin_url": f"https://www.linkedin.com/in/person-{n}",
        "country": "DE",
        "region": "Berlin",
        "city": "Berlin",
    }
    values.update(fields)
    return Lead.objects.create(order=order, **values)


def make_order(
    user,
    *,
    status: str = S.QUEUED,
    type: str = "list",  # noqa: A002
    target_count: int = 20,
    leads: int = 0,
    accepted: int | None = None,
    qualified: int = 0,
    criteria: dict | None = None,
    fund_credits: int | None = None,
) -> Order:
    """An order of ``user`` in ``status``. For building and later states ``leads`` valid
    leads are written; list_qa → delivered passes QA#1 accepting ``accepted`` (all by
    default) leads, capturing their price; closed closes it afterwards. MQL orders go on
    through nurturing and QA#2 with ``qualified`` leads qualified."""
    data = {"type": type, "target_count": target_count, "criteria": criteria or DEFAULT_CRITERIA}
    credits = fund_credits if fund_credits is not None else target_count * 5
    if credits:
        fund(user, credits)
    order = order_place(user=user, data=data, idempotency_key=f"test:{uuid.uuid4()}")
    if status == S.QUEUED:
        return order
    if status == S.CANCELLED:
        return order_cancel(order=order, actor=user, reason="test")
    order = order_transition(order=order, name="start")
    for _ in range(leads):
        make_lead(order)
    if leads:
        Order.objects.filter(pk=order.pk).update(found_count=leads)
        order.refresh_from_db()
    if status == S.BUILDING:
        return order
    if status == S.PAUSED:
        return order_transition(order=order, name="pause", reason="provider rate limit")
    order = order_transition(order=order, name="finish_building")
    if status == S.LIST_QA:
        return order
    if type == "mql" and status in (S.NURTURING, S.MQL_QA, S.DELIVERED, S.CLOSED):
        order = order_qa_decide(order=order, gate="list", decision="pass", accepted_count=accepted or leads)
        if status == S.NURTURING:
            return order
        # Qualification's scoring stands in here: the first ``qualified`` accepted leads qualify.
        ids = list(order.leads.filter(accepted=True).order_by("id").values_list("id", flat=True)[:qualified])
        Lead.objects.filter(pk__in=ids).update(qualified=True, score=42)
        order = order_transition(order=order, name="finish_nurturing")
        if status == S.MQL_QA:
            return order
        order = order_qa_decide(order=order, gate="mql", decision="pass")
        if status == S.CLOSED:
            order = order_transition(order=order, name="close", reason="window over")
        return Order.objects.get(pk=order.pk)
    if status in (S.DELIVERED, S.CLOSED):
        order = order_qa_decide(order=order, gate="list", decision="pass", accepted_count=accepted or leads)
        if status == S.CLOSED:
            order = order_transition(order=order, name="close", reason="window over")
        return Order.objects.get(pk=order.pk)
    if status == S.FAILED:
        return order_qa_decide(order=order, gate="list", decision="fail", notes="bad list")
    raise ValueError(status)
