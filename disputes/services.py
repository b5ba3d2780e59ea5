"""Dispute services: every write to disputes goes through one of these functions.

Each runs in one durable transaction, locks the dispute row (SELECT ... FOR UPDATE) before a
transition, appends evidence and arbitration-log rows in the same transaction and enqueues
the client's email on commit. A refused operation changes nothing (files written by a
rolled-back transaction are removed).

Decisions taken here (DESIGN.md section 7):
- A dispute may be opened while ``now <= order.dispute_window_ends_at`` (inclusive), on an
  order that is ``delivered`` or already ``closed`` — the client's right follows the window,
  not the order status (an order closed early by ops is still disputable until its deadline).
- A lead can be in one active (open / under review) dispute at a time (partial unique index);
  a lead whose earlier dispute was decided cannot be disputed again (it was arbitrated, and an
  accepted lead was already refunded). A withdrawn dispute frees its leads.
- Deciding an open dispute first moves it to under review (both steps are logged).
- A refund above ``DISPUTE_SECOND_APPROVER_ABOVE`` credits is recorded as a proposed decision
  (the dispute stays under review) and takes effect only when a different arbitrator approves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disputes import files as evidence_files
from disputes.chain import compute_hash
from disputes.models import (
    GENESIS_HASH,
    ArbitrationLog,
    Decision,
    Dispute,
    DisputeItem,
    DisputeStatus,
    EvidenceItem,
    EvidenceKind,
    ReasonCode,
)
from disputes.selectors import dispute_window_ends_at, is_arbitrator
from solosales.core.errors import ApplicationError, Conflict, IllegalTransition, NotFound, ValidationFailed
from solosales.core.jobs import enqueue_on_commit

S = DisputeStatus
A = ArbitrationLog.Action


class DisputeWindowClosed(ApplicationError):
    code = "dispute_window_closed"
    status = 400


class LeadAlreadyDisputed(Conflict):
    code = "lead_already_disputed"


class NotArbitrator(ApplicationError):
    code = "permission_denied"
    status = 403


class SecondApproverRequired(ApplicationError):
    code = "second_approver_required"
    status = 403


class RefundRefused(Conflict):
    code = "refund_refused"


ONE_ACTIVE_PER_LEAD = "disputes_one_active_per_lead"


# --- helpers -----------------------------------------------------------------


def _json_safe(value):
    """Plain JSON (what jsonb gives back), so the hash computed now verifies later."""
    text = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False).replace("\\u0000", "")
    return json.loads(text)


def _locked(dispute: Dispute) -> Dispute:
    return Dispute.objects.select_for_update().select_related("order", "user").get(pk=dispute.pk)


def _log(dispute: Dispute, action: str, *, actor=None, from_status="", to_status="", notes="", data=None):
    return ArbitrationLog.objects.create(
        dispute=dispute,
        action=action,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        notes=notes,
        data=_json_safe(data or {}),
    )


def _append_evidence(
    *,
    dispute: Dispute,
    kind: str,
    written: list[str],
    submitted_by=None,
    text: str = "",
    references: dict | None = None,
    snapshot: dict | None = None,
    checked: evidence_files.CheckedFile | None = None,
) -> EvidenceItem:
    """Appends one item at the end of the dispute's chain. The caller holds the dispute lock
    (or has just created the dispute in its transaction)."""
    last = EvidenceItem.objects.filter(dispute_id=dispute.pk).order_by("-seq").values("seq", "item_hash").first()
    item = EvidenceItem(
        dispute=dispute,
        seq=(last["seq"] + 1) if last else 1,
        kind=kind,
        submitted_by=submitted_by,
        created_at=timezone.now(),
        text=text,
        references=_json_safe(references or {}),
        snapshot=_json_safe(snapshot or {}),
        prev_hash=last["item_hash"] if last else GENESIS_HASH,
    )
    if checked is not None:
        item.file_path = evidence_files.store(dispute_id=dispute.pk, checked=checked)
        written.append(item.file_path)
        item.file_name = checked.display_name
        item.file_sha256 = checked.sha256
        item.file_size = checked.size
        item.file_content_type = checked.content_type
    item.item_hash = compute_hash(item)
    item.save()
    Dispute.objects.filter(pk=dispute.pk).update(evidence_count=item.seq, evidence_head=item.item_hash)
    dispute.evidence_count, dispute.evidence_head = item.seq, item.item_hash
    return item


def _optional_model(app_label: str, model_name: str):
    """A model of an app that may not exist yet in this deployment (guarded, not imported)."""
    from django.apps import apps

    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


_SECRET_FIELDS = {"token", "unique_key", "dedupe_key", "key_hash", "password"}


def _row(obj) -> dict:
    """A model row as a dict, without tokens and internal keys."""
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in _SECRET_FIELDS}


def _safe_rows(queryset, limit: int = 500) -> list:
    """Rows of an optional table; an app whose table is not migrated yet gives none."""
    try:
        with transaction.atomic():
            return list(queryset[:limit])
    except DatabaseError:
        return []


LEAD_SNAPSHOT_FIELDS = (
    "full_name",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "company",
    "company_domain",
    "industry",
    "company_size",
    "email",
    "email_status",
    "phone",
    "linkedin_url",
    "country",
    "region",
    "city",
    "provider",
    "provider_id",
    "status",
    "accepted",
    "delivered",
)


def lead_snapshot(*, order, leads: Iterable) -> tuple[dict, dict]:
    """What the system knew about the disputed leads: provider record, QA decisions, email
    events and score breakdown (MQL), and the order's provider calls. Returns
    ``(snapshot, references)``."""
    from orders.models import OrderType, QADecision  # disputes sits above orders

    leads = list(leads)
    lead_ids = [lead.pk for lead in leads]
    is_mql = order.type == OrderType.MQL
    qa = [
        {
            "id": d.pk,
            "gate": d.gate,
            "decision": d.decision,
            "accepted_count": d.accepted_count,
            "notes": d.notes,
            "automatic": d.automatic,
            "actor_id": d.actor_id,
            "checks": d.checks,
            "sample_lead_ids": d.sample_lead_ids,
            "created_at": d.created_at,
        }
        for d in QADecision.objects.filter(order=order).order_by("created_at", "id")
    ]
    events_by_lead: dict[int, list] = {}
    event_ids: list[int] = []
    EmailEvent = _optional_model("qualification", "EmailEvent") if is_mql else None
    if EmailEvent is not None and any(f.name == "lead" for f in EmailEvent._meta.fields):
        for event in _safe_rows(EmailEvent.objects.filter(lead_id__in=lead_ids).order_by("pk"), limit=5000):
            events_by_lead.setdefault(event.lead_id, []).append(_row(event))
            event_ids.append(event.pk)
    calls = []
    ProviderCall = _optional_model("providers", "ProviderCall")
    if ProviderCall is not None:
        for call in _safe_rows(ProviderCall.objects.filter(order_id=order.pk).order_by("created_at", "id")):
            calls.append(
                {
                    k: getattr(call, k, None)
                    for k in (
                        "id",
                        "provider",
                        "operation",
                        "step",
                        "outcome",
                        "http_status",
                        "attempt",
                        "records_returned",
                        "provider_request_id",
                        "error_message",
                        "created_at",
                    )
                }
            )
    if is_mql:
        from qualification.scoring import expand as expand_breakdown  # the breakdown as shown, in full
    lead_entries = []
    for lead in leads:
        entry = {"id": lead.pk, "fields": {f: getattr(lead, f) for f in LEAD_SNAPSHOT_FIELDS}, "raw": lead.raw}
        if is_mql:
            entry["qualified"] = lead.qualified
            entry["score"] = lead.score
            entry["score_breakdown"] = expand_breakdown(lead.score_breakdown, order.rules_version)
            entry["email_events"] = events_by_lead.get(lead.pk, [])
        lead_entries.append(entry)
    snapshot = {
        "taken_at": timezone.now(),
        "order": {
            "id": order.pk,
            "type": order.type,
            "status": order.status,
            "unit_price": order.unit_price,
            "rules_version": order.rules_version.version,
            "delivered_at": order.delivered_at,
            "dispute_window_ends_at": dispute_window_ends_at(order),
        },
        "qa_decisions": qa,
        "leads": lead_entries,
        "provider_calls": calls,
    }
    references = {"leads": lead_ids, "provider_calls": [c["id"] for c in calls], "email_events": event_ids}
    return snapshot, references


def _allowed_reasons(order) -> list[str]:
    from orders.models import OrderType

    codes = [c for c in (order.rules_version.reason_codes or []) if c in ReasonCode.values]
    if order.type != OrderType.MQL:
        codes = [c for c in codes if c != ReasonCode.NOT_QUALIFIED]
    return codes


def allowed_reasons(order) -> list[tuple[str, str]]:
    """(code, label) pairs a client may choose for leads of ``order``."""
    labels = dict(ReasonCode.choices)
    return [(c, labels[c]) for c in _allowed_reasons(order)]


def dispute_open_check(*, user, order) -> None:
    """Raises when ``user`` may not open a dispute on ``order`` now (ownership, status, window)."""
    from orders.models import OrderStatus

    if order.user_id != user.pk:
        raise NotFound(_("Order not found."))
    ends = dispute_window_ends_at(order)
    if order.status not in (OrderStatus.DELIVERED, OrderStatus.CLOSED) or ends is None:
        raise IllegalTransition(_("Only delivered orders can be disputed."), extra={"status": order.status})
    if timezone.now() > ends:
        raise DisputeWindowClosed(
            _("The dispute window for this order closed on %(date)s.")
            % {"date": timezone.localtime(ends).strftime("%Y-%m-%d %H:%M %Z")},
            extra={"window_ends_at": ends.isoformat()},
        )


# --- client services -----------------------------------------------------------


def dispute_open(*, user, order, items: list[dict], statement: str, files: Iterable = ()) -> Dispute:
    """Opens a dispute on delivered leads of the client's own order within its window, all or
    nothing: the dispute, its items, the client statement, the files and a system snapshot
    of the disputed leads. A lead is in at most one active dispute (enforced by the database)."""
    from orders.models import Lead

    statement = (statement or "").strip()
    files = [f for f in files if f is not None]
    dispute_open_check(user=user, order=order)
    if not statement:
        raise ValidationFailed(_("Please describe the problem in a statement."), extra={"field": "statement"})
    if not items:
        raise ValidationFailed(_("Choose at least one lead to dispute."), extra={"field": "items"})
    if len(files) > evidence_files.MAX_FILES_PER_SUBMISSION:
        raise ValidationFailed(
            _("Attach at most %(n)s files.") % {"n": evidence_files.MAX_FILES_PER_SUBMISSION}, extra={"field": "files"}
        )
    allowed = _allowed_reasons(order)
    wanted: list[tuple[int, str, str]] = []
    for raw in items:
        lead = raw.get("lead")
        try:
            lead_id = int(lead.pk if hasattr(lead, "pk") else lead)
        except (TypeError, ValueError):
            raise ValidationFailed(_("Each disputed item needs a lead."), extra={"field": "items"})
        reason = (raw.get("reason") or "").strip()
        note = (raw.get("note") or "").strip()
        if reason not in allowed:
            raise ValidationFailed(
                _("Lead %(lead)s: choose one of the allowed reasons.") % {"lead": lead_id},
                extra={"lead": lead_id, "reason": reason, "allowed": allowed},
            )
        if reason == ReasonCode.OTHER and not note:
            raise ValidationFailed(
                _("Lead %(lead)s: the reason “other” needs an explanation.") % {"lead": lead_id},
                extra={"lead": lead_id, "field": "note"},
            )
        wanted.append((lead_id, reason, note[:2000]))
    ids = [w[0] for w in wanted]
    if len(set(ids)) != len(ids):
        raise ValidationFailed(_("Each lead can appear only once in a dispute."), extra={"field": "items"})
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=ids, order=order)}
    for lead_id in ids:
        if lead_id not in leads:
            raise ValidationFailed(
                _("Lead %(lead)s is not part of this order.") % {"lead": lead_id}, extra={"lead": lead_id}
            )
        if not leads[lead_id].delivered:
            raise ValidationFailed(
                _("Lead %(lead)s was not delivered, so it cannot be disputed.") % {"lead": lead_id},
                extra={"lead": lead_id},
            )
    busy = sorted(DisputeItem.objects.filter(lead_id__in=ids, active=True).values_list("lead_id", flat=True))
    if busy:
        raise LeadAlreadyDisputed(
            _("These leads are already under dispute: %(ids)s.") % {"ids": ", ".join(map(str, busy))},
            extra={"leads": busy},
        )
    decided = sorted(
        DisputeItem.objects.filter(lead_id__in=ids, dispute__status__in=[S.ACCEPTED, S.PARTIALLY_ACCEPTED, S.REJECTED])
        .values_list("lead_id", flat=True)
        .distinct()
    )
    if decided:
        raise LeadAlreadyDisputed(
            _("These leads were already arbitrated: %(ids)s.") % {"ids": ", ".join(map(str, decided))},
            extra={"leads": decided},
        )
    checked = [evidence_files.check_upload(f) for f in files]
    ordered_leads = [leads[i] for i in ids]
    snapshot, references = lead_snapshot(order=order, leads=ordered_leads)

    written: list[str] = []
    try:
        with transaction.atomic(durable=True):
            dispute = Dispute.objects.create(
                order=order, user=user, statement=statement, window_ends_at=dispute_window_ends_at(order)
            )
            DisputeItem.objects.bulk_create(
                [DisputeItem(dispute=dispute, lead_id=i, reason=r, note=n) for i, r, n in wanted]
            )
            _append_evidence(
                dispute=dispute,
                kind=EvidenceKind.CLIENT_STATEMENT,
                submitted_by=user,
                text=statement,
                references={"leads": ids},
                written=written,
            )
            for one in checked:
                _append_evidence(
                    dispute=dispute, kind=EvidenceKind.CLIENT_FILE, submitted_by=user, checked=one, written=written
                )
            _append_evidence(
                dispute=dispute,
                kind=EvidenceKind.SYSTEM_SNAPSHOT,
                references=references,
                snapshot=snapshot,
                written=written,
            )
            _log(dispute, A.OPENED, actor=user, to_status=S.OPEN, data={"leads": ids, "files": len(checked)})
    except IntegrityError as exc:
        evidence_files.discard(written)
        # PostgreSQL names the constraint; SQLite names the column.
        if ONE_ACTIVE_PER_LEAD in str(exc) or "disputes_disputeitem.lead_id" in str(exc):
            raise LeadAlreadyDisputed(_("One of these leads was just disputed in another request."))
        raise
    except BaseException:
        evidence_files.discard(written)
        raise
    return dispute


def dispute_add_evidence(*, dispute: Dispute, user, text: str | None = None, file=None) -> EvidenceItem:
    """Appends evidence: the client while the dispute is open or under review, an arbitrator
    (as an ops note) at any time. Anyone else: NotFound."""
    text = (text or "").strip()
    if dispute.user_id == user.pk:
        kind = EvidenceKind.CLIENT_FILE if file is not None else EvidenceKind.CLIENT_STATEMENT
    elif is_arbitrator(user):
        kind = EvidenceKind.OPS_NOTE
    else:
        raise NotFound(_("Dispute not found."))
    if not text and file is None:
        raise ValidationFailed(_("Add a text or a file."), extra={"field": "text"})
    checked = evidence_files.check_upload(file) if file is not None else None
    written: list[str] = []
    try:
        with transaction.atomic(durable=True):
            locked = _locked(dispute)
            if kind != EvidenceKind.OPS_NOTE and not locked.is_active:
                raise IllegalTransition(_("Evidence can be added only while the dispute is open or under review."))
            item = _append_evidence(
                dispute=locked, kind=kind, submitted_by=user, text=text[:20000], checked=checked, written=written
            )
            _log(locked, A.EVIDENCE_ADDED, actor=user, data={"seq": item.seq, "kind": kind})
    except BaseException:
        evidence_files.discard(written)
        raise
    return item


def dispute_withdraw(*, dispute: Dispute, user) -> Dispute:
    """The client withdraws an open dispute; its leads are free again."""
    if dispute.user_id != user.pk:
        raise NotFound(_("Dispute not found."))
    with transaction.atomic(durable=True):
        locked = _locked(dispute)
        if locked.status != S.OPEN:
            raise IllegalTransition(_("Only an open dispute can be withdrawn."), extra={"status": locked.status})
        locked.withdraw()
        locked.save()
        _deactivate_items(locked)
        _log(locked, A.WITHDRAWN, actor=user, from_status=S.OPEN, to_status=S.WITHDRAWN)
    return locked


def _deactivate_items(dispute: Dispute) -> None:
    for item in dispute.items.filter(active=True):
        item.active = False
        item.save(update_fields=["active"])


# --- arbitration -----------------------------------------------------------------


def _require_arbitrator(actor) -> None:
    if not is_arbitrator(actor):
        raise NotArbitrator(_("Only members of ops_arbitration can arbitrate disputes."))


def _start_review(locked: Dispute, actor) -> None:
    locked.start_review()
    locked.save()
    _log(locked, A.REVIEW_STARTED, actor=actor, from_status=S.OPEN, to_status=S.UNDER_REVIEW)


def dispute_start_review(*, dispute: Dispute, actor) -> Dispute:
    """An arbitrator takes an open dispute into review (the client can no longer withdraw)."""
    _require_arbitrator(actor)
    with transaction.atomic(durable=True):
        locked = _locked(dispute)
        if locked.status != S.OPEN:
            raise IllegalTransition(
                _("Only an open dispute can be taken into review."), extra={"status": locked.status}
            )
        _start_review(locked, actor)
    return locked


def _refundable(order_id: int) -> int:
    from wallet.services import captured_for_order, refunded_for_order  # disputes sits above wallet

    return captured_for_order(order_id) - refunded_for_order(order_id)


def dispute_decide(*, dispute: Dispute, actor, decisions: dict, notes: str, item_notes: dict | None = None) -> Dispute:
    """Decides every disputed lead (accepted / rejected) with mandatory notes, once.

    The refund (accepted leads × the order's unit price) is one idempotent ledger transfer
    keyed ``dispute:<id>:refund``, refused by the ledger beyond what was captured for the
    order. Above DISPUTE_SECOND_APPROVER_ABOVE credits the decision is only proposed and
    waits for a different arbitrator (``dispute_approve``). The row lock plus the status
    check make a second, concurrent decision fail instead of refunding twice."""
    _require_arbitrator(actor)
    notes = (notes or "").strip()
    if not notes:
        raise ValidationFailed(_("Decision notes are required."), extra={"field": "notes"})
    try:
        wanted = {int(k): str(v) for k, v in (decisions or {}).items()}
    except (TypeError, ValueError):
        raise ValidationFailed(_("Decisions are given per lead id."), extra={"field": "items"})
    if any(v not in (Decision.ACCEPTED, Decision.REJECTED) for v in wanted.values()):
        raise ValidationFailed(_("Each lead is either accepted or rejected."), extra={"field": "items"})
    item_notes = {int(k): (v or "").strip() for k, v in (item_notes or {}).items()}

    with transaction.atomic(durable=True):
        locked = _locked(dispute)
        if locked.status not in (S.OPEN, S.UNDER_REVIEW):
            raise IllegalTransition(_("This dispute was already decided."), extra={"status": locked.status})
        if locked.awaiting_approval:
            raise IllegalTransition(_("A decision on this dispute is already awaiting a second approval."))
        items = list(locked.items.all())
        lead_ids = {item.lead_id for item in items}
        if set(wanted) != lead_ids:
            raise ValidationFailed(
                _("Decide every disputed lead, and only those."),
                extra={"missing": sorted(lead_ids - set(wanted)), "unknown": sorted(set(wanted) - lead_ids)},
            )
        accepted = sum(1 for v in wanted.values() if v == Decision.ACCEPTED)
        refund = accepted * locked.order.unit_price
        if refund and refund > _refundable(locked.order_id):
            raise RefundRefused(
                _("A refund of %(amount)s credits exceeds the %(refundable)s still refundable on this order.")
                % {"amount": refund, "refundable": _refundable(locked.order_id)},
                extra={"refund": refund, "refundable": _refundable(locked.order_id)},
            )
        if locked.status == S.OPEN:
            _start_review(locked, actor)
        for item in items:
            item.decision = wanted[item.lead_id]
            item.decision_notes = item_notes.get(item.lead_id, "")[:2000]
            item.save(update_fields=["decision", "decision_notes"])
        locked.decision_notes = notes
        locked.decided_by = actor
        locked.refund_credits = refund
        summary = {"decisions": {str(k): v for k, v in sorted(wanted.items())}, "refund": refund}
        if refund > settings.DISPUTE_SECOND_APPROVER_ABOVE:
            locked.awaiting_approval = True
            locked.save()
            _log(
                locked,
                A.DECISION_PROPOSED,
                actor=actor,
                notes=notes,
                data={**summary, "threshold": settings.DISPUTE_SECOND_APPROVER_ABOVE},
            )
            return locked
        _finalise(locked, actor=actor, notes=notes, summary=summary)
    return locked


def dispute_approve(*, dispute: Dispute, actor) -> Dispute:
    """A second arbitrator, not the one who decided, approves a proposed decision; the
    decision and its refund take effect."""
    _require_arbitrator(actor)
    with transaction.atomic(durable=True):
        locked = _locked(dispute)
        if not locked.awaiting_approval or locked.status != S.UNDER_REVIEW:
            raise IllegalTransition(_("No decision on this dispute is awaiting approval."))
        if locked.decided_by_id == actor.pk:
            raise SecondApproverRequired(_("A different staff user must approve a decision you recorded."))
        locked.awaiting_approval = False
        locked.approved_by = actor
        locked.approved_at = timezone.now()
        _log(locked, A.APPROVED, actor=actor, data={"refund": locked.refund_credits})
        summary = {
            "decisions": {str(i.lead_id): i.decision for i in locked.items.all()},
            "refund": locked.refund_credits,
        }
        _finalise(locked, actor=actor, notes=locked.decision_notes, summary=summary)
    return locked


def dispute_return(*, dispute: Dispute, actor, notes: str) -> Dispute:
    """An arbitrator sends a proposed (not yet approved) decision back: the leads are
    undecided again and the dispute stays under review."""
    _require_arbitrator(actor)
    notes = (notes or "").strip()
    if not notes:
        raise ValidationFailed(_("Say why the decision is returned."), extra={"field": "notes"})
    with transaction.atomic(durable=True):
        locked = _locked(dispute)
        if not locked.awaiting_approval or locked.status != S.UNDER_REVIEW:
            raise IllegalTransition(_("No decision on this dispute is awaiting approval."))
        for item in locked.items.all():
            item.decision = Decision.PENDING
            item.decision_notes = ""
            item.save(update_fields=["decision", "decision_notes"])
        locked.awaiting_approval = False
        locked.decided_by = None
        locked.refund_credits = 0
        locked.decision_notes = ""
        locked.save()
        _log(locked, A.DECISION_RETURNED, actor=actor, notes=notes)
    return locked


def _finalise(locked: Dispute, *, actor, notes: str, summary: dict) -> None:
    """Moves a reviewed dispute to its final status and refunds, inside the caller's
    transaction (the row is locked)."""
    from wallet.services import dispute_refund  # disputes sits above wallet

    decisions = list(locked.items.values_list("decision", flat=True))
    accepted = sum(1 for d in decisions if d == Decision.ACCEPTED)
    if accepted == len(decisions):
        locked.accept()
    elif accepted == 0:
        locked.reject()
    else:
        locked.accept_partially()
    now = timezone.now()
    locked.decided_at = now
    transfer = None
    if locked.refund_credits:
        try:
            transfer = dispute_refund(
                user=locked.user,
                amount=locked.refund_credits,
                order_id=locked.order_id,
                dispute_id=locked.pk,
                key=f"dispute:{locked.pk}:refund",
                actor=actor,
                in_transaction=True,
            )
        except ApplicationError as exc:
            raise RefundRefused(
                _("The ledger refused the refund: %(reason)s") % {"reason": exc.message},
                extra={"refund": locked.refund_credits, **exc.extra},
            )
        locked.refund_transfer_id = transfer.pk
        locked.refunded_at = now
    locked.save()
    _deactivate_items(locked)
    _log(locked, A.DECIDED, actor=actor, from_status=S.UNDER_REVIEW, to_status=locked.status, notes=notes, data=summary)
    if transfer is not None:
        _log(locked, A.REFUNDED, actor=actor, data={"credits": transfer.amount, "transfer": transfer.pk})
    from disputes.jobs import dispute_notify_decision

    enqueue_on_commit(dispute_notify_decision, locked.pk, queue="email")
