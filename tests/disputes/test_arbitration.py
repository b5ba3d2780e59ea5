import pytest
from django.core import mail
from django.core.management import call_command

from disputes.jobs import dispute_notify_decision
from disputes.models import ArbitrationLog, Dispute, DisputeItem
from disputes.services import (
    NotArbitrator,
    RefundRefused,
    SecondApproverRequired,
    dispute_approve,
    dispute_decide,
    dispute_open,
    dispute_return,
    dispute_start_review,
)
from solosales.core.errors import IllegalTransition, ValidationFailed
from tests.disputes.helpers import (
    available_balance,
    delivered_leads,
    delivered_order,
    ledger_sums_to_zero,
    refunds_for,
)

pytestmark = pytest.mark.django_db


def _decisions(dispute, accepted: int):
    lead_ids = list(dispute.items.order_by("id").values_list("lead_id", flat=True))
    return {lead_id: ("accepted" if i < accepted else "rejected") for i, lead_id in enumerate(lead_ids)}


def _fresh(dispute):
    return Dispute.objects.get(pk=dispute.pk)


def test_partial_acceptance_refunds_exactly_the_accepted_leads(open_dispute, client_user, staff_user, order):
    before = available_balance(client_user)
    decided = dispute_decide(
        dispute=open_dispute, actor=staff_user, decisions=_decisions(open_dispute, 2), notes="Two bounced."
    )
    assert decided.status == "partially_accepted"
    assert decided.refund_credits == 2 * order.unit_price
    refunds = refunds_for(order)
    assert len(refunds) == 1
    assert refunds[0].amount == 10
    assert refunds[0].idempotency_key == f"dispute:{decided.pk}:refund"
    assert refunds[0].dispute_id == decided.pk
    assert decided.refund_transfer_id == refunds[0].pk
    assert available_balance(client_user) == before + 10
    assert list(decided.items.order_by("id").values_list("decision", flat=True)) == ["accepted", "accepted", "rejected"]
    assert not DisputeItem.objects.filter(dispute=decided, active=True).exists()
    assert ledger_sums_to_zero()
    actions = list(ArbitrationLog.objects.filter(dispute=decided).values_list("action", "actor_id"))
    assert ("review_started", staff_user.pk) in actions
    assert ("decided", staff_user.pk) in actions
    assert ("refunded", staff_user.pk) in actions


def test_all_accepted_and_all_rejected(client_user, staff_user, order, leads):
    d1 = dispute_open(user=client_user, order=order, items=[{"lead": leads[0], "reason": "duplicate"}], statement="x")
    assert dispute_decide(dispute=d1, actor=staff_user, decisions=_decisions(d1, 1), notes="dup").status == "accepted"
    d2 = dispute_open(user=client_user, order=order, items=[{"lead": leads[1], "reason": "duplicate"}], statement="x")
    rejected = dispute_decide(dispute=d2, actor=staff_user, decisions=_decisions(d2, 0), notes="not a dup")
    assert rejected.status == "rejected"
    assert rejected.refund_transfer_id is None
    assert len(refunds_for(order)) == 1


def test_notes_are_mandatory_and_every_lead_must_be_decided(open_dispute, staff_user):
    with pytest.raises(ValidationFailed, match="notes"):
        dispute_decide(dispute=open_dispute, actor=staff_user, decisions=_decisions(open_dispute, 1), notes="  ")
    partial = dict(list(_decisions(open_dispute, 1).items())[:2])
    with pytest.raises(ValidationFailed, match="every disputed lead"):
        dispute_decide(dispute=open_dispute, actor=staff_user, decisions=partial, notes="n")
    with pytest.raises(ValidationFailed):
        bad = dict.fromkeys(_decisions(open_dispute, 1), "maybe")
        dispute_decide(dispute=open_dispute, actor=staff_user, decisions=bad, notes="n")
    assert _fresh(open_dispute).status == "open"
    assert not ArbitrationLog.objects.filter(dispute=open_dispute, actor=staff_user).exists()


def test_deciding_twice_is_refused_and_refunds_once(open_dispute, staff_user, second_staff, order):
    dispute_decide(dispute=open_dispute, actor=staff_user, decisions=_decisions(open_dispute, 3), notes="all bad")
    with pytest.raises(IllegalTransition, match="already decided"):
        dispute_decide(dispute=open_dispute, actor=second_staff, decisions=_decisions(open_dispute, 3), notes="again")
    assert len(refunds_for(order)) == 1


def test_only_arbitrators_decide(open_dispute, qa_staff, client_user):
    for outsider in (qa_staff, client_user):
        with pytest.raises(NotArbitrator):
            dispute_decide(dispute=open_dispute, actor=outsider, decisions=_decisions(open_dispute, 1), notes="n")
        with pytest.raises(NotArbitrator):
            dispute_start_review(dispute=open_dispute, actor=outsider)
    assert _fresh(open_dispute).status == "open"


def test_ops_qa_group_has_no_permission_to_arbitrate(qa_staff, staff_user):
    assert not qa_staff.has_perm("disputes.decide_dispute")
    assert not qa_staff.has_perm("disputes.view_dispute")
    assert staff_user.has_perm("disputes.decide_dispute")


def test_start_review_then_decide(open_dispute, staff_user):
    reviewed = dispute_start_review(dispute=open_dispute, actor=staff_user)
    assert reviewed.status == "under_review"
    with pytest.raises(IllegalTransition):
        dispute_start_review(dispute=open_dispute, actor=staff_user)
    assert dispute_decide(dispute=open_dispute, actor=staff_user, decisions=_decisions(open_dispute, 0), notes="ok")


def test_refund_beyond_what_was_captured_is_refused_with_nothing_stored(client_user, staff_user):
    # 3 leads delivered, but only 1 was charged: accepting 2 would refund more than captured.
    order = delivered_order(client_user, leads=3, unit_price=5, captured_leads=1)
    leads = delivered_leads(order)
    dispute = dispute_open(
        user=client_user,
        order=order,
        items=[{"lead": lead, "reason": "invalid_email"} for lead in leads[:2]],
        statement="x",
    )
    before = available_balance(client_user)
    with pytest.raises(RefundRefused, match="exceeds") as exc:
        dispute_decide(dispute=dispute, actor=staff_user, decisions=_decisions(dispute, 2), notes="both bad")
    assert exc.value.extra["refundable"] == 5
    fresh = _fresh(dispute)
    assert fresh.status == "open" and fresh.decided_by is None and fresh.refund_credits == 0
    assert set(fresh.items.values_list("decision", flat=True)) == {"pending"}
    assert refunds_for(order) == []
    assert available_balance(client_user) == before
    assert not ArbitrationLog.objects.filter(dispute=dispute, actor=staff_user).exists()
    # within what was captured it goes through
    assert (
        dispute_decide(dispute=dispute, actor=staff_user, decisions=_decisions(dispute, 1), notes="one").refund_credits
        == 5
    )


def test_ledger_refusal_inside_the_transaction_rolls_everything_back(client_user, staff_user, order, leads):
    """Two decided disputes on one order can together exceed the captured amount only if the
    ledger lets them; its own check (under the account lock) refuses the second."""
    from wallet.services import dispute_refund

    dispute = dispute_open(
        user=client_user, order=order, items=[{"lead": leads[0], "reason": "duplicate"}], statement="x"
    )
    # Someone refunded almost everything on this order by another path before the decision.
    dispute_refund(user=client_user, amount=4 * 5 - 2, order_id=order.pk, dispute_id=0, key="manual:test")
    with pytest.raises(RefundRefused):
        dispute_decide(dispute=dispute, actor=staff_user, decisions=_decisions(dispute, 1), notes="dup")
    assert _fresh(dispute).status == "open"


def test_large_refunds_need_a_second_approver(client_user, staff_user, second_staff, settings):
    settings.DISPUTE_SECOND_APPROVER_ABOVE = 10
    order = delivered_order(client_user, leads=3, unit_price=5)
    leads = delivered_leads(order)
    dispute = dispute_open(
        user=client_user,
        order=order,
        items=[{"lead": lead, "reason": "invalid_email"} for lead in leads],
        statement="x",
    )
    before = available_balance(client_user)
    proposed = dispute_decide(dispute=dispute, actor=staff_user, decisions=_decisions(dispute, 3), notes="all bad")
    assert proposed.awaiting_approval and proposed.status == "under_review"
    assert proposed.refund_credits == 15
    assert refunds_for(order) == [] and available_balance(client_user) == before
    with pytest.raises(IllegalTransition, match="awaiting"):
        dispute_decide(dispute=dispute, actor=second_staff, decisions=_decisions(dispute, 0), notes="no")
    with pytest.raises(SecondApproverRequired):
        dispute_approve(dispute=dispute, actor=staff_user)
    assert refunds_for(order) == []
    approved = dispute_approve(dispute=dispute, actor=second_staff)
    assert approved.status == "accepted"
    assert (approved.decided_by, approved.approved_by) == (staff_user, second_staff)
    assert available_balance(client_user) == before + 15
    assert len(refunds_for(order)) == 1
    with pytest.raises(IllegalTransition):
        dispute_approve(dispute=dispute, actor=second_staff)
    assert ArbitrationLog.objects.filter(dispute=dispute, action="approved", actor=second_staff).exists()
    assert ledger_sums_to_zero()


def test_at_the_threshold_one_arbitrator_is_enough(client_user, staff_user, settings):
    settings.DISPUTE_SECOND_APPROVER_ABOVE = 10
    order = delivered_order(client_user, leads=2, unit_price=5)
    dispute = dispute_open(
        user=client_user,
        order=order,
        items=[{"lead": lead, "reason": "invalid_email"} for lead in delivered_leads(order)],
        statement="x",
    )
    decided = dispute_decide(dispute=dispute, actor=staff_user, decisions=_decisions(dispute, 2), notes="ok")
    assert decided.status == "accepted" and not decided.awaiting_approval


def test_a_proposed_decision_can_be_returned(client_user, staff_user, second_staff, settings):
    settings.DISPUTE_SECOND_APPROVER_ABOVE = 0
    order = delivered_order(client_user, leads=1, unit_price=5)
    dispute = dispute_open(
        user=client_user, order=order, items=[{"lead": delivered_leads(order)[0], "reason": "duplicate"}], statement="x"
    )
    dispute_decide(dispute=dispute, actor=staff_user, decisions=_decisions(dispute, 1), notes="dup")
    with pytest.raises(ValidationFailed):
        dispute_return(dispute=dispute, actor=second_staff, notes="")
    returned = dispute_return(dispute=dispute, actor=second_staff, notes="Not a duplicate, check again.")
    assert not returned.awaiting_approval and returned.status == "under_review"
    assert set(returned.items.values_list("decision", flat=True)) == {"pending"}
    decided = dispute_decide(dispute=dispute, actor=second_staff, decisions=_decisions(dispute, 0), notes="valid")
    assert decided.status == "rejected"


def test_the_client_is_emailed_the_decision_in_their_language(
    open_dispute, client_user, staff_user, django_capture_on_commit_callbacks, run_jobs
):
    client_user.language = "zh-hans"
    client_user.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        dispute_decide(
            dispute=open_dispute, actor=staff_user, decisions=_decisions(open_dispute, 1), notes="One bounced."
        )
    run_jobs(["email"])
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [client_user.email]
    assert "争议" in message.subject
    assert "One bounced." in message.body
    assert f"/disputes/{open_dispute.pk}/" in message.body
    # a second run of the job sends nothing
    assert dispute_notify_decision(open_dispute.pk) is False
    assert len(mail.outbox) == 1
    assert ArbitrationLog.objects.filter(dispute=open_dispute, action="notified").count() == 1


def test_ledger_check_is_clean_after_refunds(open_dispute, staff_user):
    dispute_decide(dispute=open_dispute, actor=staff_user, decisions=_decisions(open_dispute, 2), notes="two")
    assert ledger_sums_to_zero()
    call_command("ledger_check")


def test_an_open_dispute_keeps_its_order_delivered_until_decided(open_dispute, order, staff_user):
    from datetime import timedelta

    from orders import services
    from orders.models import Order

    later = order.dispute_window_ends_at + timedelta(days=1)
    services.order_close_due(now=later)
    assert Order.objects.get(pk=order.pk).status == "delivered"
    dispute_decide(dispute=open_dispute, actor=staff_user, decisions=_decisions(open_dispute, 0), notes="fine")
    services.order_close_due(now=later)
    assert Order.objects.get(pk=order.pk).status == "closed"
