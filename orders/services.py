"""Order services: every write to an order goes through one of these functions.

Each runs in one transaction, locks the order row (SELECT ... FOR UPDATE) before it reads
the state it decides on, records the transition in the order's timeline in the same
transaction, moves credits through the wallet services and enqueues jobs only on commit.
Callers (views, admin, the API, jobs, qualification, disputes) never save order state.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from orders import hooks, jobs, placement
from orders.criteria import clean_order_data
from orders.models import (
    CLIENT_CANCELLABLE,
    Lead,
    Order,
    OrderStatus,
    OrderTransition,
    OrderType,
    PipelineStep,
    QADecision,
    QAGate,
    RulesVersion,
    SuppressedAddress,
)
from providers.base import primary_provider_name
from solosales.core.errors import (
    ApplicationError,
    Conflict,
    IdempotencyConflict,
    IllegalTransition,
    ValidationFailed,
)
from solosales.core.jobs import enqueue_on_commit
from wallet import services as wallet
from wallet.models import Account, PricingVersion

log = logging.getLogger(__name__)

S = OrderStatus

# The FSM methods a caller may run by name (never an arbitrary attribute of the model).
TRANSITIONS = (
    "start",
    "pause",
    "resume",
    "finish_building",
    "pass_list_qa",
    "pass_list_qa_to_nurture",
    "fail_list_qa",
    "cancel",
    "finish_nurturing",
    "pass_mql_qa",
    "fail_mql_qa",
    "close",
    "fail",
)

MAX_IDEMPOTENCY_KEY = 200


def _settle_key(order: Order) -> str:
    # One resolution key per order: a hold resolves exactly once, whichever path settles it.
    return f"order:{order.pk}:settle"


# --- transitions -----------------------------------------------------------------------


def order_transition(*, order: Order, name: str, actor=None, reason: str = "", fields: dict | None = None) -> Order:
    """Runs the FSM transition ``name`` on the locked row and records it in the timeline.

    Returns the locked, updated instance (use it: the passed one is not refreshed).
    ``fields`` are extra attributes saved with the transition (e.g. ``delivered_at``).
    Raises IllegalTransition when the current state forbids it; nothing is written then.
    """
    if name not in TRANSITIONS:
        raise IllegalTransition(_("Unknown order action."), extra={"transition": name})
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        from_status = locked.status
        method = getattr(locked, name)
        try:
            method()
        except TransitionNotAllowed:
            raise IllegalTransition(
                _("This order cannot go from “%(status)s” by “%(action)s”.")
                % {"status": locked.get_status_display(), "action": name},
                extra={"status": from_status, "transition": name},
            )
        now = timezone.now()
        locked.status_changed_at = now
        if reason:
            locked.status_reason = str(reason)[:500]
        for attr, value in (fields or {}).items():
            setattr(locked, attr, value)
        try:
            locked.save()
        except ConcurrentTransition:
            raise IllegalTransition(_("The order changed meanwhile; reload and try again."))
        OrderTransition.objects.create(
            order=locked,
            from_status=from_status,
            to_status=locked.status,
            actor=actor if getattr(actor, "pk", None) else None,
            reason=str(reason)[:1000],
        )
    return locked


# --- quote and placement ---------------------------------------------------------------


def _unit_price(pricing: PricingVersion, order_type: str) -> int:
    return pricing.mql_lead_price if order_type == OrderType.MQL else pricing.list_lead_price


def _available_balance(user) -> int:
    account = Account.objects.filter(owner=user, kind=Account.Kind.AVAILABLE).first()
    return account.balance if account else 0


def _active_rules() -> RulesVersion:
    rules = RulesVersion.objects.filter(active=True).first()
    if rules is None:
        raise ApplicationError(_("No active rules version; ops must activate one."))
    return rules


def order_quote(*, user, data) -> dict:
    """What an order body would cost now: ``unit_price``, ``max_cost`` (the hold),
    the client's ``available`` credits and the ``shortfall`` (0 when affordable). Writes nothing."""
    pricing = wallet.pricing_active()
    cleaned = clean_order_data(data, pricing=pricing)
    unit = _unit_price(pricing, cleaned["type"])
    max_cost = unit * cleaned["target_count"]
    available = _available_balance(user)
    return {
        "unit_price": unit,
        "max_cost": max_cost,
        "available": available,
        "shortfall": max(0, max_cost - available),
        "type": cleaned["type"],
        "target_count": cleaned["target_count"],
        "pricing_version": pricing.version,
    }


def _same_body(order: Order, cleaned: dict) -> bool:
    return (order.type, order.target_count, order.criteria) == (
        cleaned["type"],
        cleaned["target_count"],
        cleaned["criteria"],
    )


def _replay(*, user, data, idempotency_key: str) -> Order | None:
    existing = Order.objects.filter(user=user, idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    try:
        cleaned = clean_order_data(data, pricing=existing.pricing_version)
    except ValidationFailed:
        raise IdempotencyConflict(extra={"idempotency_key": idempotency_key})
    if not _same_body(existing, cleaned):
        raise IdempotencyConflict(extra={"idempotency_key": idempotency_key})
    return existing


def order_place(*, user, data, idempotency_key: str, in_transaction: bool = False) -> Order:
    """Places an order: validates the body, locks the active pricing and rules versions
    (marking them used), snapshots the unit price, holds ``target × unit price`` credits and
    creates the build step, all in one transaction; the build job is enqueued on commit.

    Replaying ``idempotency_key`` with the same body returns the first order; with another
    body it raises IdempotencyConflict. Insufficient credits raise InsufficientCredits with
    the shortfall, and nothing is written.
    """
    order, _created = order_place_result(
        user=user, data=data, idempotency_key=idempotency_key, in_transaction=in_transaction
    )
    return order


def order_place_result(*, user, data, idempotency_key: str, in_transaction: bool = False) -> tuple[Order, bool]:
    """As ``order_place``, returning ``(order, created)``: created is False for a replay of
    ``idempotency_key`` (the first order is returned). A newly placed order comes with its
    pricing and rules versions, its hold and its timeline (the one "placed" entry) loaded,
    so a caller can show it without reading it back."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed(
            _("An idempotency key of 1 to %(max)s characters is required.") % {"max": MAX_IDEMPOTENCY_KEY},
            extra={"fields": {"idempotency_key": [_("Required, at most %(max)s characters.") % {"max": 200}]}},
        )
    if in_transaction:
        # Inside a caller's transaction: look for a replay first (a failed INSERT would
        # leave the caller to roll back its own savepoint).
        if (existing := _replay(user=user, data=data, idempotency_key=key)) is not None:
            return existing, False
        return _place(user=user, data=data, key=key, in_transaction=True), True
    # No replay lookup before placing: a replayed key fails the order INSERT on the unique
    # (user, idempotency_key) before any credit moves, and its first order is answered
    # then; so does a concurrent placement of the same key that committed first.
    try:
        return _place(user=user, data=data, key=key, in_transaction=False), True
    except IntegrityError:
        if (existing := _replay(user=user, data=data, idempotency_key=key)) is not None:
            return existing, False
        raise
    except ApplicationError:
        # A body that no longer validates, or credits that no longer suffice, may still be
        # a replay of a key placed earlier: that answer (the order, or a conflict) wins.
        if (existing := _replay(user=user, data=data, idempotency_key=key)) is not None:
            return existing, False
        raise


def _active_version(model):
    """The active version; on its first use, read again under a row lock.

    The lock is ``FOR NO KEY UPDATE``: it serialises with an admin edit (``FOR UPDATE``) and
    with other first uses, but not with the ``FOR KEY SHARE`` that every order INSERT takes
    on the version through its foreign key. (``FOR UPDATE`` here conflicted with those: a
    placement holding a wallet lock waited on the version row while the first use, holding
    the version row, waited on the wallet — a deadlock under concurrent placements.)
    Pricing is always locked before rules, and both before any wallet row."""
    version = model.objects.filter(active=True).first()
    if version is not None and not version.used:
        version = model.objects.select_for_update(no_key=True).filter(pk=version.pk, active=True).first()
    return version


def _timeline_known(order: Order, transitions: list[OrderTransition]) -> None:
    """Stores ``transitions`` as the order's prefetched timeline (``order.transitions.all()``
    then reads no rows), as ``orders_for_client_with_timeline`` would have loaded it."""
    timeline = order.transitions.all()
    timeline._result_cache = list(transitions)
    timeline._prefetch_done = True
    if not hasattr(order, "_prefetched_objects_cache"):
        order._prefetched_objects_cache = {}
    order._prefetched_objects_cache[Order.transitions.rel.get_accessor_name()] = timeline


# The pricing and rules versions this process last placed an order with, both used (so
# immutable): the one-statement placement (orders/placement.py) starts from them and checks
# in the database that they are still the active ones.
_last_versions: dict[str, tuple[PricingVersion, RulesVersion]] = {}


def _place(*, user, data, key: str, in_transaction: bool) -> Order:
    if not in_transaction and placement.available():
        order = _place_in_one_statement(user=user, data=data, key=key)
        if order is not None:
            return order
    order = _place_in_python(user=user, data=data, key=key, in_transaction=in_transaction)
    if not in_transaction:
        _last_versions["placed"] = (order.pricing_version, order.rules_version)
    return order


def _place_in_one_statement(*, user, data, key: str) -> Order | None:
    """The placement as one PostgreSQL statement, or None when it is for the Python path
    (no versions seen yet, a body that does not validate against them, versions no longer
    active, a client without accounts): that path then decides, and raises, itself.
    Credits that do not suffice are refused here, with the same error."""
    versions = _last_versions.get("placed")
    if versions is None:
        return None
    pricing, rules = versions
    try:
        cleaned = clean_order_data(data, pricing=pricing)
    except ValidationFailed:
        return None  # validated again against the active pricing, and refused, there
    unit = _unit_price(pricing, cleaned["type"])
    result = placement.place(
        user=user,
        cleaned=cleaned,
        key=key,
        pricing=pricing,
        rules=rules,
        unit=unit,
        provider=primary_provider_name(),
        reason=_("Order placed"),
    )
    if isinstance(result, placement.NotPlaced):
        if result.why == "credits":
            raise wallet.insufficient_credits(available=result.available, required=cleaned["target_count"] * unit)
        if result.why == "versions":
            _last_versions.pop("placed", None)
        return None
    order, placed, step_id = result
    _timeline_known(order, [placed])
    enqueue_on_commit(jobs.run_step, step_id, queue="providers")
    return order


def _place_in_python(*, user, data, key: str, in_transaction: bool) -> Order:
    """The placement through the ORM and the wallet's ``hold_place``: on SQLite, inside a
    caller's transaction, on a version's first use; the reference for the one statement."""
    with transaction.atomic(durable=not in_transaction):
        # A used version is immutable, so only its first use needs the row lock (which
        # serialises with an edit of the still-unused version); every later placement reads
        # without locking and placements do not queue behind each other.
        pricing = _active_version(PricingVersion)
        if pricing is None:
            raise ApplicationError(_("No active pricing version; ops must activate one."))
        cleaned = clean_order_data(data, pricing=pricing)
        rules = _active_version(RulesVersion)
        if rules is None:
            raise ApplicationError(_("No active rules version; ops must activate one."))
        unit = _unit_price(pricing, cleaned["type"])
        order = Order.objects.create(
            user=user,
            type=cleaned["type"],
            criteria=cleaned["criteria"],
            target_count=cleaned["target_count"],
            pricing_version=pricing,
            rules_version=rules,
            unit_price=unit,
            idempotency_key=key,
            status_changed_at=timezone.now(),
        )
        # No savepoint of its own: any error leaves this atomic block and undoes it whole.
        hold = wallet.hold_place(
            user=user,
            amount=order.max_cost,
            key=f"order:{order.pk}:hold",
            order_id=order.pk,
            memo=f"order #{order.pk}",
            fresh_key=True,  # it names the order inserted just above
            in_transaction=True,
            savepoint=False,
        )
        Order.objects.filter(pk=order.pk).update(hold=hold)
        order.hold = hold
        wallet.pricing_mark_used(version=pricing)
        if not rules.used:
            RulesVersion.objects.filter(pk=rules.pk).update(used=True)
            rules.used = True
        placed = OrderTransition.objects.create(
            order=order, from_status="", to_status=S.QUEUED, actor=user, reason=_("Order placed")
        )
        _timeline_known(order, [placed])
        provider = primary_provider_name()
        step = PipelineStep.objects.create(order=order, name=PipelineStep.Name.BUILD, provider=provider)
        enqueue_on_commit(jobs.run_step, step.pk, queue="providers")
    return order


# --- cancel ----------------------------------------------------------------------------


def _is_ops(actor, order: Order) -> bool:
    if actor is None or not getattr(actor, "is_staff", False) or actor.pk == order.user_id:
        return False
    return actor.is_superuser or actor.groups.filter(name="ops_qa").exists()


def _release_hold(order: Order, *, actor) -> int:
    """Releases the whole hold; returns the credits released (0 if already resolved)."""
    if order.hold_id is None:
        return 0
    hold = wallet.hold_release(hold=order.hold, key=_settle_key(order), actor=actor, in_transaction=True)
    return int(hold.released)


def _stop_steps(order: Order, why: str) -> None:
    PipelineStep.objects.filter(order=order).exclude(status=PipelineStep.Status.DONE).update(
        status=PipelineStep.Status.FAILED, last_error=why[:2000], lease_until=None, updated_at=timezone.now()
    )


def order_cancel(*, order: Order, actor, reason: str = "", in_transaction: bool = False) -> Order:
    """Cancels an order and releases its whole hold, in one transaction.

    Clients may cancel while queued, building or paused; ops (staff in ``ops_qa``) also in
    QA#1. Any other state raises IllegalTransition and changes nothing.
    """
    with transaction.atomic(durable=not in_transaction):
        locked = Order.objects.select_for_update().get(pk=order.pk)
        allowed = CLIENT_CANCELLABLE + ((S.LIST_QA,) if _is_ops(actor, locked) else ())
        if locked.status not in allowed:
            raise IllegalTransition(
                _("An order in “%(status)s” cannot be cancelled.") % {"status": locked.get_status_display()},
                extra={"status": locked.status},
            )
        released = _release_hold(locked, actor=actor)
        _stop_steps(locked, "order cancelled")
        return order_transition(
            order=locked,
            name="cancel",
            actor=actor,
            reason=reason or _("Cancelled"),
            fields={"released_credits": released, "charged_credits": 0},
        )


def order_fail(*, order: Order, reason: str, actor=None, in_transaction: bool = False) -> Order:
    """An unrecoverable pipeline failure (building/paused/queued → failed): releases the whole
    hold, nothing charged. Idempotent: a failed order is returned as is."""
    with transaction.atomic(durable=not in_transaction):
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == S.FAILED:
            return locked
        if locked.status not in (S.QUEUED, S.BUILDING, S.PAUSED):
            raise IllegalTransition(extra={"status": locked.status})
        released = _release_hold(locked, actor=actor)
        _stop_steps(locked, reason)
        return order_transition(
            order=locked,
            name="fail",
            actor=actor,
            reason=reason,
            fields={"released_credits": released, "charged_credits": 0},
        )


# --- QA gates --------------------------------------------------------------------------


def _accept_leads(order: Order, count: int, *, deliver: bool) -> int:
    """Marks the first ``count`` valid leads accepted (and delivered); returns how many."""
    ids = list(
        Lead.objects.filter(order=order, status=Lead.Status.VALID).order_by("id").values_list("id", flat=True)[:count]
    )
    changes = {"accepted": True}
    if deliver:
        changes["delivered"] = True
    Lead.objects.filter(pk__in=ids).update(**changes)
    return len(ids)


def _qa_context(order: Order) -> tuple[dict, list]:
    step = PipelineStep.objects.filter(order=order, name=PipelineStep.Name.BUILD).first()
    state = step.state if step else {}
    return state.get("qa_checks", {}), state.get("qa_sample", [])


def order_qa_decide(
    *,
    order: Order,
    gate: str,
    decision: str,
    accepted_count: int | None = None,
    actor=None,
    notes: str = "",
    automatic: bool = False,
    in_transaction: bool = False,
) -> Order:
    """Records a QA gate decision and settles the order, all in one transaction.

    QA#1 (gate ``list``) pass: LIST orders capture accepted × unit price, release the rest
    and are delivered; MQL orders go to nurturing (hold kept) and the nurture hooks run on
    commit. QA#2 (gate ``mql``) pass: qualified × unit price is captured, the rest released,
    delivered. Fail (notes mandatory for people): the whole hold is released → failed.

    At most one decision per (order, gate): the order row lock serialises deciders and the
    unique constraint backs it. Repeating the same decision returns the order unchanged;
    a different one raises Conflict. A gate not open for the order raises IllegalTransition.
    """
    if gate not in QAGate.values:
        raise ValidationFailed(_("Unknown QA gate."), extra={"fields": {"gate": [_("Choose list or mql.")]}})
    if decision not in QADecision.Decision.values:
        raise ValidationFailed(_("Decide pass or fail."), extra={"fields": {"decision": [_("Choose pass or fail.")]}})
    notes = (notes or "").strip()
    if decision == QADecision.Decision.FAIL and not automatic and not notes:
        raise ValidationFailed(
            _("Say why the order fails QA."), extra={"fields": {"notes": [_("Notes are required to fail an order.")]}}
        )
    if accepted_count is not None and (isinstance(accepted_count, bool) or not isinstance(accepted_count, int)):
        raise ValidationFailed(
            _("The accepted count must be a whole number."),
            extra={"fields": {"accepted_count": [_("Enter a whole number.")]}},
        )
    on_commit = None
    with transaction.atomic(durable=not in_transaction):
        locked = Order.objects.select_for_update().get(pk=order.pk)
        existing = QADecision.objects.filter(order=locked, gate=gate).first()
        if existing is not None:
            same = existing.decision == decision and (
                accepted_count is None or decision == "fail" or existing.accepted_count == accepted_count
            )
            if same:
                return locked
            raise Conflict(
                _("This order already has a %(gate)s decision.") % {"gate": existing.get_gate_display()},
                extra={"decision": existing.decision, "accepted_count": existing.accepted_count},
            )
        expected = S.LIST_QA if gate == QAGate.LIST else S.MQL_QA
        if locked.status != expected:
            raise IllegalTransition(
                _("This order is not waiting for this QA gate (it is “%(status)s”).")
                % {"status": locked.get_status_display()},
                extra={"status": locked.status},
            )
        checks, sample = _qa_context(locked) if gate == QAGate.LIST else ({}, [])
        now = timezone.now()
        key = _settle_key(locked)
        reason = notes or (_("Automatic pass (gate switched off)") if automatic else "")

        if decision == QADecision.Decision.FAIL:
            count = 0
            released = _release_hold(locked, actor=actor)
            name = "fail_list_qa" if gate == QAGate.LIST else "fail_mql_qa"
            fields = {"released_credits": released, "charged_credits": 0}
        elif gate == QAGate.LIST:
            valid = Lead.objects.filter(order=locked, status=Lead.Status.VALID).count()
            cap = min(valid, locked.target_count)
            count = cap if accepted_count is None else accepted_count
            if not 1 <= count <= cap:
                raise ValidationFailed(
                    _("Accept between 1 and %(max)s leads (the valid leads, up to the target).") % {"max": cap},
                    extra={"fields": {"accepted_count": [_("Between 1 and %(max)s.") % {"max": cap}]}},
                )
            is_list = locked.type == OrderType.LIST
            _accept_leads(locked, count, deliver=is_list)
            if is_list:
                hold = wallet.hold_capture(
                    hold=locked.hold, amount=count * locked.unit_price, key=key, actor=actor, in_transaction=True
                )
                name = "pass_list_qa"
                fields = {
                    "accepted_count": count,
                    "delivered_count": count,
                    "charged_credits": int(hold.captured),
                    "released_credits": int(hold.released),
                    "delivered_at": now,
                    "dispute_window_ends_at": now + timedelta(days=locked.rules_version.dispute_window_days),
                }
            else:
                name = "pass_list_qa_to_nurture"
                fields = {"accepted_count": count}
                on_commit = hooks.call_on_list_qa_passed_mql
        else:
            qualified = Lead.objects.filter(order=locked, accepted=True, qualified=True)
            count = qualified.count()
            qualified.update(delivered=True)
            hold = wallet.hold_capture(
                hold=locked.hold, amount=count * locked.unit_price, key=key, actor=actor, in_transaction=True
            )
            name = "pass_mql_qa"
            fields = {
                "qualified_count": count,
                "delivered_count": count,
                "charged_credits": int(hold.captured),
                "released_credits": int(hold.released),
                "delivered_at": now,
                "dispute_window_ends_at": now + timedelta(days=locked.rules_version.dispute_window_days),
            }
            on_commit = hooks.call_on_mql_qa_passed
        try:
            with transaction.atomic():
                QADecision.objects.create(
                    order=locked,
                    gate=gate,
                    decision=decision,
                    accepted_count=count,
                    notes=notes,
                    actor=actor if getattr(actor, "pk", None) else None,
                    automatic=automatic,
                    checks=checks,
                    sample_lead_ids=sample,
                )
        except IntegrityError:
            raise Conflict(_("This order already has a decision for this gate."))
        result = order_transition(order=locked, name=name, actor=actor, reason=reason, fields=fields)
        if on_commit is not None:
            transaction.on_commit(lambda: on_commit(Order.objects.get(pk=result.pk)))
    return result


# --- closing ---------------------------------------------------------------------------


def order_close_due(*, now=None) -> int:
    """Closes delivered orders whose dispute window has ended, unless a hook (an open
    dispute) blocks it. Idempotent; returns how many were closed."""
    now = now or timezone.now()
    closed = 0
    due = Order.objects.filter(status=S.DELIVERED, dispute_window_ends_at__lte=now).order_by("id")
    for order in due.iterator(chunk_size=200):
        if hooks.close_blocked(order):
            continue
        try:
            order_transition(
                order=order, name="close", reason=_("Dispute window ended"), fields={"closed_at": timezone.now()}
            )
            closed += 1
        except IllegalTransition:
            continue  # closed or changed concurrently
    return closed


# --- suppression -----------------------------------------------------------------------


def suppression_add(*, email: str, reason: str, source: str = "") -> SuppressedAddress:
    """Adds an address to the global suppression list (lower-cased). Idempotent: an address
    already there keeps its first reason."""
    address = (email or "").strip().lower()
    if not address or "@" not in address or len(address) > 320:
        raise ValidationFailed(_("Not an email address."), extra={"fields": {"email": [_("Enter an email address.")]}})
    if reason not in SuppressedAddress.Reason.values:
        raise ValidationFailed(_("Unknown suppression reason."), extra={"fields": {"reason": [_("Unknown reason.")]}})
    try:
        with transaction.atomic():
            obj, _created = SuppressedAddress.objects.get_or_create(
                email=address, defaults={"reason": reason, "source": source[:200]}
            )
    except IntegrityError:
        obj = SuppressedAddress.objects.get(email=address)
    return obj


# --- counters used by the pipeline -------------------------------------------------------


def order_add_counts(*, order_id: int, found=0, invalid=0, duplicate=0, suppressed=0) -> None:
    """Adds the counts of one committed page (call inside the page's transaction)."""
    Order.objects.filter(pk=order_id).update(
        found_count=F("found_count") + found,
        invalid_count=F("invalid_count") + invalid,
        duplicate_count=F("duplicate_count") + duplicate,
        suppressed_count=F("suppressed_count") + suppressed,
        updated_at=timezone.now(),
    )


# --- rules versions ----------------------------------------------------------------------

_RULES_COPY_EXCLUDE = {"id", "version", "active", "used", "created_at"}


def rules_version_create_from(*, source: RulesVersion, notes: str = "") -> RulesVersion:
    """A new, inactive, unused copy of ``source`` with the next version number (the only way
    to change rules once a version is used)."""
    with transaction.atomic():
        last = RulesVersion.objects.select_for_update().order_by("-version").first()
        values = {
            f.name: getattr(source, f.name)
            for f in RulesVersion._meta.concrete_fields
            if f.name not in _RULES_COPY_EXCLUDE
        }
        values["notes"] = notes or _("Copied from v%(version)s.") % {"version": source.version}
        return RulesVersion.objects.create(version=(last.version if last else 0) + 1, **values)


def rules_version_activate(*, version: RulesVersion) -> RulesVersion:
    """Makes ``version`` the one new orders lock (exactly one active version)."""
    with transaction.atomic():
        list(RulesVersion.objects.select_for_update().order_by("pk"))
        RulesVersion.objects.exclude(pk=version.pk).filter(active=True).update(active=False)
        RulesVersion.objects.filter(pk=version.pk).update(active=True)
    version.refresh_from_db()
    return version
