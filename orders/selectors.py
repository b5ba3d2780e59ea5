"""Reads of the order engine: suppression, the QA queue and a reviewer's context, the
timeline. Client-facing reads scoped to the requesting user live with the portal views
(``orders/selectors_client.py``)."""

from __future__ import annotations

import random

from django.db.models import QuerySet

from orders.models import Lead, Order, OrderStatus, OrderTransition, PipelineStep, SuppressedAddress

QA_STATUSES = (OrderStatus.LIST_QA, OrderStatus.MQL_QA)


def is_suppressed(email: str) -> bool:
    return SuppressedAddress.objects.filter(email=(email or "").strip().lower()).exists()


def suppressed_among(emails) -> set[str]:
    """The subset of ``emails`` (lower-cased) that is on the suppression list, in one query."""
    wanted = {(e or "").strip().lower() for e in emails if e}
    return set(SuppressedAddress.objects.filter(email__in=wanted).values_list("email", flat=True))


def qa_queue(*, statuses=QA_STATUSES) -> QuerySet[Order]:
    """Orders waiting for a QA gate, oldest first (by the time they entered the gate)."""
    return (
        Order.objects.filter(status__in=statuses)
        .select_related("user", "rules_version")
        .order_by("status_changed_at", "id")
    )


def order_timeline(*, order: Order) -> list[dict]:
    """The order's transitions for display: status, label, time, actor, reason."""
    labels = dict(OrderStatus.choices)
    rows = OrderTransition.objects.filter(order=order).select_related("actor").order_by("created_at", "id")
    return [
        {
            "status": t.to_status,
            "status_label": str(labels.get(t.to_status, t.to_status)),
            "at": t.created_at,
            "actor": t.actor_label,
            "reason": t.reason,
        }
        for t in rows
    ]


def qa_review(*, order: Order, sample_size: int | None = None) -> dict:
    """What the QA#1 reviewer sees: the automated check results and the stored random sample
    (drawn again from all leads if the build stored none)."""
    step = PipelineStep.objects.filter(order=order, name=PipelineStep.Name.BUILD).first()
    state = (step.state if step else None) or {}
    checks = state.get("qa_checks") or {}
    sample_ids = list(state.get("qa_sample") or [])
    size = sample_size if sample_size is not None else order.rules_version.qa_sample_size
    if not sample_ids:
        ids = list(Lead.objects.filter(order=order).values_list("id", flat=True))
        sample_ids = sorted(random.sample(ids, min(size, len(ids))))
    sample = list(Lead.objects.filter(order=order, pk__in=sample_ids).order_by("id"))
    valid = Lead.objects.filter(order=order, status=Lead.Status.VALID).count()
    return {
        "checks": checks,
        "sample": sample,
        "valid": valid,
        "default_accepted": min(valid, order.target_count),
        "step": step,
    }
