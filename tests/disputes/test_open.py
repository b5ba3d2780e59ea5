from datetime import timedelta

import pytest
from django.utils import timezone

from disputes.models import ArbitrationLog, Dispute, DisputeItem, EvidenceItem, EvidenceKind
from disputes.services import DisputeWindowClosed, LeadAlreadyDisputed, dispute_open, dispute_withdraw
from orders.models import OrderStatus, OrderType
from solosales.core.errors import IllegalTransition, NotFound, ValidationFailed
from tests.disputes.helpers import delivered_leads, delivered_order

pytestmark = pytest.mark.django_db


def _open(user, order, leads, **kw):
    items = kw.pop("items", None) or [{"lead": lead, "reason": "invalid_email"} for lead in leads]
    return dispute_open(user=user, order=order, items=items, statement=kw.pop("statement", "Bad data."), **kw)


def _nothing_stored():
    return not Dispute.objects.exists() and not DisputeItem.objects.exists() and not EvidenceItem.objects.exists()


def test_it_opens_with_statement_and_a_snapshot_of_the_disputed_leads(client_user, order, leads):
    dispute = _open(client_user, order, leads[:2])
    assert dispute.status == "open"
    assert dispute.window_ends_at == order.dispute_window_ends_at
    assert sorted(dispute.items.values_list("lead_id", flat=True)) == [leads[0].pk, leads[1].pk]
    kinds = list(dispute.evidence.order_by("seq").values_list("kind", flat=True))
    assert kinds == [EvidenceKind.CLIENT_STATEMENT, EvidenceKind.SYSTEM_SNAPSHOT]
    snapshot = dispute.evidence.get(kind=EvidenceKind.SYSTEM_SNAPSHOT)
    assert snapshot.submitted_by is None
    assert snapshot.references["leads"] == [leads[0].pk, leads[1].pk]
    assert [entry["raw"]["id"] for entry in snapshot.snapshot["leads"]] == [leads[0].provider_id, leads[1].provider_id]
    assert snapshot.snapshot["order"]["unit_price"] == 5
    assert ArbitrationLog.objects.filter(dispute=dispute, action="opened", actor=client_user).exists()


def test_mql_snapshot_carries_score_breakdown(client_user):
    order = delivered_order(client_user, order_type=OrderType.MQL, leads=2)
    leads = delivered_leads(order)
    dispute = _open(client_user, order, leads[:1], items=[{"lead": leads[0], "reason": "not_qualified"}])
    entry = dispute.evidence.get(kind="system_snapshot").snapshot["leads"][0]
    assert entry["score"] == 42
    # The snapshot freezes the full breakdown, rule by rule, as scoring derives it.
    breakdown = entry["score_breakdown"]
    rows = {row["rule"]: row for row in breakdown["rows"]}
    assert rows["clicked"]["count"] == 2 and rows["clicked"]["points"] == 2 * rows["clicked"]["weight"]
    assert rows["opened"]["count"] == 3
    assert breakdown["rules_version"] == order.rules_version.version and breakdown["reasons"]
    assert "email_events" in entry


def test_it_opens_exactly_at_the_deadline(client_user, order, leads, monkeypatch):
    monkeypatch.setattr("disputes.services.timezone.now", lambda: order.dispute_window_ends_at)
    assert _open(client_user, order, leads[:1]).status == "open"


def test_it_refuses_a_microsecond_after_the_deadline(client_user, order, leads, monkeypatch):
    after = order.dispute_window_ends_at + timedelta(microseconds=1)
    monkeypatch.setattr("disputes.services.timezone.now", lambda: after)
    with pytest.raises(DisputeWindowClosed):
        _open(client_user, order, leads[:1])
    assert _nothing_stored()


def test_a_closed_order_within_its_window_can_still_be_disputed(client_user, order, leads):
    from orders.models import Order

    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CLOSED)
    order = Order.objects.get(pk=order.pk)
    assert _open(client_user, order, leads[:1]).status == "open"


def test_an_undelivered_order_cannot_be_disputed(client_user, order, leads):
    from orders.models import Order

    Order.objects.filter(pk=order.pk).update(status=OrderStatus.LIST_QA)
    with pytest.raises(IllegalTransition):
        _open(client_user, Order.objects.get(pk=order.pk), leads[:1])
    assert _nothing_stored()


def test_someone_elses_order_is_not_found(other_client, order, leads):
    with pytest.raises(NotFound):
        _open(other_client, order, leads[:1])
    assert _nothing_stored()


def test_a_lead_of_another_order_is_refused(client_user, order, leads):
    other_order = delivered_order(client_user, leads=1)
    foreign = delivered_leads(other_order)[0]
    with pytest.raises(ValidationFailed, match="not part of this order"):
        _open(client_user, order, [leads[0], foreign])
    assert _nothing_stored()


def test_an_undelivered_lead_is_refused(client_user):
    order = delivered_order(client_user, leads=1, undelivered=1)
    undelivered = order.leads.get(delivered=False)
    with pytest.raises(ValidationFailed, match="not delivered"):
        _open(client_user, order, [undelivered])
    assert _nothing_stored()


def test_other_needs_an_explanation(client_user, order, leads):
    with pytest.raises(ValidationFailed, match="needs an explanation"):
        _open(client_user, order, leads[:1], items=[{"lead": leads[0], "reason": "other", "note": "  "}])
    assert _nothing_stored()
    assert _open(client_user, order, leads[:1], items=[{"lead": leads[0], "reason": "other", "note": "Fake"}])


def test_not_qualified_is_only_for_mql_orders(client_user, order, leads):
    with pytest.raises(ValidationFailed, match="allowed reasons"):
        _open(client_user, order, leads[:1], items=[{"lead": leads[0], "reason": "not_qualified"}])
    assert _nothing_stored()


def test_unknown_reason_and_empty_statement_and_no_leads_are_refused(client_user, order, leads):
    with pytest.raises(ValidationFailed):
        _open(client_user, order, leads[:1], items=[{"lead": leads[0], "reason": "because"}])
    with pytest.raises(ValidationFailed, match="statement"):
        _open(client_user, order, leads[:1], statement="   ")
    with pytest.raises(ValidationFailed):
        dispute_open(user=client_user, order=order, items=[], statement="x")
    with pytest.raises(ValidationFailed, match="only once"):
        _open(client_user, order, [leads[0], leads[0]])
    assert _nothing_stored()


def test_a_lead_can_be_in_only_one_active_dispute(client_user, order, leads):
    first = _open(client_user, order, leads[:2])
    with pytest.raises(LeadAlreadyDisputed):
        _open(client_user, order, [leads[1], leads[2]])
    assert Dispute.objects.count() == 1
    # another lead of the same order is fine
    _open(client_user, order, [leads[2]])
    # withdrawing frees the leads
    dispute_withdraw(dispute=first, user=client_user)
    again = _open(client_user, order, leads[:2])
    assert again.status == "open"


def test_the_database_refuses_a_second_active_item_for_a_lead(client_user, order, leads):
    from django.db import IntegrityError, transaction

    first = _open(client_user, order, leads[:1])
    second = Dispute.objects.create(
        order=order, user=client_user, statement="x", window_ends_at=timezone.now() + timedelta(days=1)
    )
    with (
        pytest.raises(IntegrityError, match="disputes_one_active_per_lead|disputes_disputeitem.lead_id"),
        transaction.atomic(),
    ):
        DisputeItem.objects.create(dispute=second, lead=leads[0], reason="duplicate")
    assert first.items.count() == 1


def test_a_decided_lead_cannot_be_disputed_again(client_user, order, leads, staff_user):
    from disputes.services import dispute_decide

    dispute = _open(client_user, order, leads[:1])
    dispute_decide(dispute=dispute, actor=staff_user, decisions={leads[0].pk: "rejected"}, notes="Valid lead.")
    with pytest.raises(LeadAlreadyDisputed, match="already arbitrated"):
        _open(client_user, order, leads[:1])


def test_withdraw_only_by_the_owner_and_only_while_open(client_user, other_client, order, leads, staff_user):
    from disputes.services import dispute_start_review

    dispute = _open(client_user, order, leads[:1])
    with pytest.raises(NotFound):
        dispute_withdraw(dispute=dispute, user=other_client)
    withdrawn = dispute_withdraw(dispute=dispute, user=client_user)
    assert withdrawn.status == "withdrawn"
    assert not DisputeItem.objects.filter(dispute=dispute, active=True).exists()
    assert ArbitrationLog.objects.filter(dispute=dispute, action="withdrawn", actor=client_user).exists()
    with pytest.raises(IllegalTransition):
        dispute_withdraw(dispute=dispute, user=client_user)
    reviewed = _open(client_user, order, leads[1:2])
    dispute_start_review(dispute=reviewed, actor=staff_user)
    with pytest.raises(IllegalTransition):
        dispute_withdraw(dispute=reviewed, user=client_user)


def test_status_changes_are_kept_in_history(client_user, order, leads):
    dispute = _open(client_user, order, leads[:1])
    dispute_withdraw(dispute=dispute, user=client_user)
    assert list(dispute.history.order_by("history_date").values_list("status", flat=True)) == ["open", "withdrawn"]


def test_snapshot_includes_email_events_and_provider_calls_when_those_apps_have_data(client_user):
    from providers.models import ProviderCall
    from qualification.models import EmailEvent

    order = delivered_order(client_user, order_type=OrderType.MQL, leads=2)
    lead = delivered_leads(order)[0]
    event = EmailEvent.objects.create(
        unique_key="evt-1",
        event="clicked",
        lead=lead,
        order_id=order.pk,
        occurred_at=timezone.now(),
        outcome="accepted",
        token="secret-token",
    )
    call = ProviderCall.objects.create(provider="sandbox", operation="search", order_id=order.pk, outcome="ok")
    event_ids, call_ids = [event.pk], [call.pk]
    dispute = _open(client_user, order, [lead], items=[{"lead": lead, "reason": "not_qualified"}])
    snapshot = dispute.evidence.get(kind="system_snapshot")
    assert snapshot.references["email_events"] == event_ids
    assert snapshot.references["provider_calls"] == call_ids
    entry = snapshot.snapshot["leads"][0]
    assert [e["id"] for e in entry["email_events"]] == event_ids
    assert "secret-token" not in str(snapshot.snapshot)
    from disputes.chain import verify_chain

    assert verify_chain(dispute)[0]
