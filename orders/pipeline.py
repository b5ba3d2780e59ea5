"""The list-building pipeline: one restartable ``build`` step per order.

The step row (``PipelineStep``) is the durable checkpoint and the source of truth:

- A run claims the step with a conditional UPDATE (free or expired lease, due
  ``not_before``) that also writes a fresh claim token; a second run of the same job finds
  nothing to claim and returns, so a step never runs twice at once.
- Each provider page is fetched outside any transaction (the provider writes its audit row
  itself), then committed in one transaction together with the new cursor, after checking
  the claim token is still ours. A worker killed between the call and the commit repeats
  only that uncommitted page; a committed page is never fetched again.
- Leads are inserted with ``bulk_create(ignore_conflicts=True)`` on the (order, dedupe_key)
  unique constraint, so even a replayed page cannot insert a lead twice.

Provider errors never make a worker sleep: rate limits and retries reschedule the job
(``schedule_on_commit``); an open breaker pauses the order until the sweeper finds the
provider healthy again (or the fallback provider takes over when its switch is on).
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import jobs
from orders.criteria import normalise_domain
from orders.models import EmailStatus, Lead, Order, OrderStatus, OrderType, PipelineStep, SuppressedAddress
from orders.services import order_add_counts, order_fail, order_qa_decide, order_transition
from providers.base import (
    CallContext,
    CircuitOpen,
    Criteria,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    backoff_delay,
    get_provider,
)
from solosales.core import flags
from solosales.core.jobs import enqueue_now, enqueue_on_commit, schedule_on_commit

log = logging.getLogger(__name__)

S = OrderStatus
St = PipelineStep.Status
ACTIVE_STEP_STATUSES = (St.PENDING, St.RUNNING, St.WAITING)
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_LEAD_LIMITS = {
    f.name: f.max_length
    for f in Lead._meta.get_fields()
    if getattr(f, "max_length", None) and f.get_internal_type() == "CharField"
}
_RECORD_FIELDS = (
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
    "phone",
    "linkedin_url",
    "country",
    "region",
    "city",
)


def page_size() -> int:
    """The page the pipeline asks a provider for. Each provider serves at most what its API
    allows per call (RocketReach and Hunter 100, the sandbox 1,000), so this is a ceiling:
    one page is one transaction, and fewer, larger pages cost fewer round trips per lead
    (500 instead of 100 took the sandbox build from ~2,000 to ~3,400 leads/s here)."""
    return int(getattr(settings, "PIPELINE_PAGE_SIZE", 500))


def lease_seconds() -> int:
    return int(getattr(settings, "PIPELINE_LEASE_SECONDS", 120))


def max_attempts() -> int:
    return int(getattr(settings, "PROVIDER_MAX_ATTEMPTS", 6))


def run_budget_seconds() -> float:
    # One job builds for at most this long, then hands over to a fresh job (RQ job timeout).
    return float(getattr(settings, "PIPELINE_RUN_SECONDS", 240))


def breaker_retry_seconds() -> int:
    return int(getattr(settings, "PROVIDER_BREAKER_RESET", 60))


# --- claiming --------------------------------------------------------------------------


def claim_step(step_id: int) -> str | None:
    """Claims the step for this run; returns the claim token, or None if another run holds
    it, it is not due yet, or it is finished."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = (
        PipelineStep.objects.filter(pk=step_id, status__in=ACTIVE_STEP_STATUSES)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .update(status=St.RUNNING, lease_until=now + timedelta(seconds=lease_seconds()), job_id=token, updated_at=now)
    )
    return token if claimed == 1 else None


def _release(step_id: int, token: str, **changes) -> bool:
    """Ends our claim, writing ``changes``; False if the claim was lost meanwhile."""
    changes.setdefault("lease_until", None)
    changes["updated_at"] = timezone.now()
    return PipelineStep.objects.filter(pk=step_id, job_id=token).update(**changes) == 1


# --- lead normalisation ----------------------------------------------------------------


def _clip(name: str, value) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\x00", "").strip()
    limit = _LEAD_LIMITS.get(name)
    return text[:limit] if limit else text


def normalise_record(record, *, provider: str) -> dict:
    """Lead field values from a provider's PersonRecord (trimmed, clipped, lower-cased email)."""
    values = {name: _clip(name, getattr(record, name, "")) for name in _RECORD_FIELDS}
    values["email"] = values["email"].lower()
    values["company_domain"] = _clip("company_domain", normalise_domain(values["company_domain"].split("://")[-1]))
    country = str(getattr(record, "country", "") or "").strip().upper()
    values["country"] = country if len(country) == 2 and country.isalpha() else ""
    if not values["full_name"]:
        values["full_name"] = _clip("full_name", f"{values['first_name']} {values['last_name']}")
    status = str(getattr(record, "email_status", "") or "unknown").lower().replace("-", "_")
    values["email_status"] = status if status in EmailStatus.values else EmailStatus.UNKNOWN
    values["provider"] = _clip("provider", getattr(record, "provider", "") or provider)
    values["provider_id"] = _clip("provider_id", getattr(record, "provider_id", ""))
    raw = getattr(record, "raw", None)
    values["raw"] = raw if isinstance(raw, dict) else {}
    return values


def dedupe_key(values: dict) -> str:
    if values["email"]:
        return values["email"][:320]
    if values["provider_id"]:
        return f"{values['provider']}:{values['provider_id']}"[:320]
    return ""


REQUIRED_LABELS = {
    "full_name": "full name",
    "title": "job title",
    "company": "company",
    "company_domain": "company domain",
    "email": "email",
    "country": "country",
    "phone": "phone",
    "linkedin_url": "LinkedIn URL",
}


def validate_lead(values: dict, *, required: list[str], accepted_statuses: list[str], criteria: Criteria) -> str:
    """The rejection reason of a lead ("" when it passes). Reasons are short, stable English
    phrases for ops (the admin shows them as recorded)."""
    missing = [f for f in required if not values.get(f)]
    if missing:
        return "missing " + ", ".join(REQUIRED_LABELS.get(f, f) for f in missing)
    if values["email"] and not _EMAIL_RE.match(values["email"]):
        return "malformed email"
    if "email" in required and values["email_status"] not in accepted_statuses:
        return f"email status {values['email_status']}"
    if values["company_domain"] and values["company_domain"] in criteria.exclude_domains:
        return "excluded domain"
    if values["company"] and values["company"].casefold() in {c.casefold() for c in criteria.exclude_companies}:
        return "excluded company"
    return ""


# --- one page ----------------------------------------------------------------------------


class ClaimLost(Exception):
    """Our lease expired and another run took the step over; stop without writing."""


def _commit_page(*, step_id: int, token: str, order_id: int, records, next_cursor: str | None) -> dict:
    """Stores one page's leads and the new cursor in one transaction; returns the counts."""
    with transaction.atomic():
        step = PipelineStep.objects.select_for_update().get(pk=step_id)
        if step.job_id != token or step.status != St.RUNNING:
            raise ClaimLost()
        order = Order.objects.select_for_update().select_related("rules_version").get(pk=order_id)
        if order.status != S.BUILDING:
            raise ClaimLost()
        rules = order.rules_version
        required = rules.required_fields_mql if order.type == OrderType.MQL else rules.required_fields_list
        accepted_statuses = list(rules.accepted_email_statuses)
        criteria = Criteria.from_dict(order.criteria)
        state = dict(step.state or {})
        valid_so_far = int(state.get("valid", 0))
        need = max(0, order.target_count - valid_so_far)

        prepared = []
        for record in records:
            values = normalise_record(record, provider=step.provider)
            key = dedupe_key(values)
            if key:
                prepared.append((key, values))
        keys = {k for k, _v in prepared}
        emails = {v["email"] for _k, v in prepared if v["email"]}
        existing = set(Lead.objects.filter(order_id=order_id, dedupe_key__in=keys).values_list("dedupe_key", flat=True))
        suppressed = set(SuppressedAddress.objects.filter(email__in=emails).values_list("email", flat=True))

        counts = Counter()
        seen = set(existing)
        leads = []
        new_valid = 0
        for key, values in prepared:
            if new_valid >= need:
                break  # target reached: the rest of the page is not needed
            if key in seen:
                counts["duplicate"] += 1
                continue
            seen.add(key)
            if values["email"] in suppressed:
                counts["suppressed"] += 1
                continue
            reason = validate_lead(values, required=required, accepted_statuses=accepted_statuses, criteria=criteria)
            status = Lead.Status.INVALID if reason else Lead.Status.VALID
            if not reason:
                new_valid += 1
            counts["invalid" if reason else "valid"] += 1
            leads.append(
                Lead(
                    order_id=order_id,
                    dedupe_key=key,
                    status=status,
                    invalid_reason=reason[:500],
                    page_cursor=(step.cursor or "")[:200],
                    **values,
                )
            )
        counts["skipped_no_id"] = len(records) - len(prepared)
        Lead.objects.bulk_create(leads, ignore_conflicts=True, batch_size=500)
        state["valid"] = valid_so_far + counts["valid"]
        state["invalid"] = int(state.get("invalid", 0)) + counts["invalid"] + counts["skipped_no_id"]
        state["duplicate"] = int(state.get("duplicate", 0)) + counts["duplicate"]
        state["suppressed"] = int(state.get("suppressed", 0)) + counts["suppressed"]
        done = state["valid"] >= order.target_count or next_cursor is None
        now = timezone.now()
        PipelineStep.objects.filter(pk=step_id).update(
            cursor=(next_cursor or "")[:500],
            pages_done=step.pages_done + 1,
            attempt=0,
            state=state,
            last_error="",
            lease_until=now + timedelta(seconds=lease_seconds()),
            updated_at=now,
        )
        order_add_counts(
            order_id=order_id,
            found=counts["valid"],
            invalid=counts["invalid"] + counts["skipped_no_id"],
            duplicate=counts["duplicate"],
            suppressed=counts["suppressed"],
        )
    return {"done": done, **{k: counts[k] for k in ("valid", "invalid", "duplicate", "suppressed", "skipped_no_id")}}


# --- automated QA checks -----------------------------------------------------------------


def automated_checks(order: Order) -> dict:
    """The automated QA#1 checks shown to the reviewer beside the sample (aggregate queries)."""
    leads = Lead.objects.filter(order=order)
    valid = leads.filter(status=Lead.Status.VALID)
    rules = order.rules_version
    criteria = Criteria.from_dict(order.criteria)
    valid_count = valid.count()
    invalid_reasons = dict(
        leads.filter(status=Lead.Status.INVALID)
        .values_list("invalid_reason")
        .annotate(n=Count("id"))
        .order_by("-n")[:20]
    )
    invalid_total = leads.filter(status=Lead.Status.INVALID).count()
    by_status = dict(valid.values_list("email_status").annotate(n=Count("id")).order_by())
    bad_status = sum(n for s, n in by_status.items() if s not in rules.accepted_email_statuses)
    dup_emails = valid.exclude(email="").values("email").annotate(n=Count("id")).filter(n__gt=1).count()
    suppressed_now = valid.filter(Exists(SuppressedAddress.objects.filter(email=OuterRef("email")))).count()
    outside = Q()
    if criteria.countries:
        outside |= ~Q(country__in=criteria.countries)
    if criteria.company_sizes:
        outside |= ~Q(company_size__in=criteria.company_sizes)
    if criteria.exclude_domains:
        outside |= Q(company_domain__in=criteria.exclude_domains)
    outside_count = valid.filter(outside).count() if outside else 0
    return {
        "summary": {
            "target": order.target_count,
            "valid": valid_count,
            "invalid": invalid_total,
            "duplicates_skipped": order.duplicate_count,
            "suppressed_skipped": order.suppressed_count,
            "enough": valid_count >= order.target_count,
        },
        "checks": [
            {
                "name": "required_fields",
                "ok": True,
                "count": invalid_total,
                "detail": invalid_reasons,
            },
            {"name": "email_status", "ok": bad_status == 0, "count": bad_status, "detail": by_status},
            {"name": "duplicates", "ok": dup_emails == 0, "count": dup_emails, "detail": {}},
            {"name": "suppression", "ok": suppressed_now == 0, "count": suppressed_now, "detail": {}},
            {
                "name": "criteria_match",
                "ok": outside_count == 0,
                "count": outside_count,
                "detail": {"countries": criteria.countries, "company_sizes": criteria.company_sizes},
            },
        ],
    }


def _pick_sample(order: Order, size: int) -> list[int]:
    ids = list(Lead.objects.filter(order=order).values_list("id", flat=True))
    sample = sorted(random.sample(ids, min(size, len(ids))))
    Lead.objects.filter(pk__in=sample).update(qa_sampled=True)
    return sample


def _finish(step_id: int, token: str, order_id: int) -> str:
    """Building is over: list_qa with the automated checks and the sample stored for the
    reviewer; with the QA#1 switch off an automatic decision follows."""
    with transaction.atomic():
        step = PipelineStep.objects.select_for_update().get(pk=step_id)
        if step.job_id != token:
            raise ClaimLost()
        order = Order.objects.select_related("rules_version").get(pk=order_id)
        if order.status != S.BUILDING:
            raise ClaimLost()
        checks = automated_checks(order)
        state = dict(step.state or {})
        state["qa_checks"] = checks
        state["qa_sample"] = _pick_sample(order, order.rules_version.qa_sample_size)
        PipelineStep.objects.filter(pk=step_id).update(
            status=St.DONE, state=state, lease_until=None, not_before=None, updated_at=timezone.now()
        )
        order = order_transition(
            order=order,
            name="finish_building",
            reason=_("%(valid)s valid leads found for a target of %(target)s.")
            % {"valid": checks["summary"]["valid"], "target": order.target_count},
        )
    if not flags.is_on(flags.QA_GATE_LIST):
        valid = checks["summary"]["valid"]
        if valid:
            order_qa_decide(
                order=order,
                gate="list",
                decision="pass",
                accepted_count=min(valid, order.target_count),
                automatic=True,
            )
        else:
            order_qa_decide(
                order=order, gate="list", decision="fail", automatic=True, notes=_("No valid leads were found.")
            )
    return "finished"


# --- error handling ----------------------------------------------------------------------


def _reschedule(step_id: int, token: str, *, delay: float, error: str, attempt: int | None = None) -> None:
    delay = max(1.0, float(delay))
    changes = {"status": St.WAITING, "not_before": timezone.now() + timedelta(seconds=delay), "last_error": error}
    if attempt is not None:
        changes["attempt"] = attempt
    with transaction.atomic():
        if _release(step_id, token, **changes):
            schedule_on_commit(jobs.run_step, step_id, delay=timedelta(seconds=delay), queue="providers")


def _fallback_name(provider_name: str) -> str | None:
    if not flags.is_on(flags.PROVIDER_FALLBACK):
        return None
    try:
        provider = get_provider(provider_name)
        fallback = provider.fallback_name
        if not fallback or fallback == provider_name:
            return None
        fallback_cls = type(get_provider(fallback))
    except KeyError:
        return None
    return fallback if fallback_cls.is_configured() else None


def _switch_provider(step: PipelineStep, token: str, order_id: int, new: str, reason: str) -> bool:
    with transaction.atomic():
        locked = PipelineStep.objects.select_for_update().get(pk=step.pk)
        if locked.job_id != token:
            return False
        state = dict(locked.state or {})
        cursors = dict(state.get("cursors", {}))
        cursors[locked.provider] = locked.cursor
        state["cursors"] = cursors
        state.setdefault("providers_used", [locked.provider])
        state["providers_used"] = [*state["providers_used"], new]
        PipelineStep.objects.filter(pk=step.pk).update(
            provider=new, cursor=cursors.get(new, ""), attempt=0, state=state, last_error=reason[:2000]
        )
        Order.objects.filter(pk=order_id).update(provider=new)
    return True


def _pause(step_id: int, token: str, order_id: int, reason: str) -> None:
    delay = breaker_retry_seconds()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == S.BUILDING:
            order_transition(
                order=order,
                name="pause",
                reason=_("The data provider is unavailable; building resumes automatically."),
            )
        _reschedule(step_id, token, delay=delay, error=reason)


def _provider_healthy(name: str) -> bool:
    try:
        from providers.breakers import breaker_state

        return breaker_state(name) != "open"
    except Exception:  # no breaker for this provider (sandbox) or Redis hiccup: try the call
        log.debug("breaker state of %s unknown", name, exc_info=True)
        return True


def _handle_error(exc: Exception, *, step: PipelineStep, token: str, order: Order) -> str:
    attempt = step.attempt + 1
    reason = f"{step.provider}: {getattr(exc, 'reason', exc)}"[:2000]
    if isinstance(exc, RateLimited):
        _reschedule(step.pk, token, delay=exc.retry_after, error=reason)
        return "rate_limited"
    if isinstance(exc, CircuitOpen):
        fallback = _fallback_name(step.provider)
        if fallback:
            if _switch_provider(step, token, order.pk, fallback, reason):
                return "fallback"
            return "claim_lost"
        _pause(step.pk, token, order.pk, reason)
        return "paused"
    if isinstance(exc, PermanentError):
        _release(step.pk, token, status=St.FAILED, last_error=reason, attempt=attempt)
        order_fail(
            order=order,
            reason=_("Data provider refused the request: %(reason)s") % {"reason": reason[:400]},
        )
        return "failed"
    # TransientError, an unknown ProviderError, or an unexpected bug in a page: retry a few
    # times with backoff, then fail the order (hold released) instead of looping forever.
    if attempt >= max_attempts():
        _release(step.pk, token, status=St.FAILED, last_error=reason, attempt=attempt)
        order_fail(
            order=order,
            reason=_("Data provider failed %(n)s times in a row: %(reason)s") % {"n": attempt, "reason": reason[:400]},
        )
        return "failed"
    _reschedule(step.pk, token, delay=backoff_delay(attempt), error=reason, attempt=attempt)
    return "retry"


# --- the step ------------------------------------------------------------------------------


def run_step(step_id: int) -> str:
    """Runs (or continues) one step; returns what happened (for logs and tests)."""
    token = claim_step(step_id)
    if token is None:
        return "not_claimed"
    try:
        return _run_claimed(step_id, token)
    except ClaimLost:
        return "claim_lost"


def _run_claimed(step_id: int, token: str) -> str:
    step = PipelineStep.objects.select_related("order").get(pk=step_id)
    order = step.order
    if step.name != PipelineStep.Name.BUILD:
        _release(step_id, token, status=St.FAILED, last_error=f"unknown step {step.name}")
        return "unknown_step"
    if order.status not in (S.QUEUED, S.BUILDING, S.PAUSED):
        _release(step_id, token, status=St.DONE if order.status != S.CANCELLED else St.FAILED)
        return "order_not_building"
    if order.status == S.PAUSED:
        if not _provider_healthy(step.provider):
            _reschedule(step_id, token, delay=breaker_retry_seconds(), error=step.last_error)
            return "still_paused"
        order = order_transition(order=order, name="resume", reason=_("The data provider is available again."))
    elif order.status == S.QUEUED:
        order = order_transition(order=order, name="start", fields={"provider": step.provider})

    criteria = Criteria.from_dict(order.criteria)
    started = time.monotonic()
    while True:
        step.refresh_from_db()
        if step.job_id != token:
            return "claim_lost"
        try:
            provider = get_provider(step.provider)
        except KeyError:
            return _handle_error(
                PermanentError(f"unknown provider {step.provider!r}"), step=step, token=token, order=order
            )
        context = CallContext(order_id=order.pk, step=step.name, attempt=step.attempt + 1)
        try:
            page = provider.search(criteria, cursor=step.cursor or None, page_size=page_size(), context=context)
        except ProviderError as exc:
            outcome = _handle_error(exc, step=step, token=token, order=order)
            if outcome == "fallback":
                continue
            return outcome
        except Exception as exc:
            log.exception("build step %s: unexpected error from provider %s", step_id, step.provider)
            return _handle_error(TransientError(str(exc)[:500]), step=step, token=token, order=order)
        result = _commit_page(
            step_id=step_id, token=token, order_id=order.pk, records=page.records, next_cursor=page.next_cursor
        )
        if result["done"]:
            return _finish(step_id, token, order.pk)
        if time.monotonic() - started > run_budget_seconds():
            # Hand over to a fresh job so no single job outlives RQ's timeout.
            with transaction.atomic():
                if _release(step_id, token, status=St.PENDING):
                    enqueue_on_commit(jobs.run_step, step_id, queue="providers")
            return "continued"


# --- sweeper ---------------------------------------------------------------------------------


def stalled_steps(*, now=None, pending_grace: int | None = None):
    """Steps that should be running but may have no live job: a running step whose lease
    expired (worker killed), a pending step nobody claimed (enqueue lost after commit), a
    waiting step already due (scheduled job lost)."""
    now = now or timezone.now()
    grace = timedelta(
        seconds=pending_grace if pending_grace is not None else getattr(settings, "SWEEP_PENDING_GRACE", 30)
    )
    return PipelineStep.objects.filter(
        Q(status=St.RUNNING, lease_until__lt=now)
        | Q(status=St.PENDING, lease_until__isnull=True, updated_at__lt=now - grace)
        | Q(status=St.WAITING, not_before__lte=now - grace)
        | Q(status=St.WAITING, not_before__isnull=True, updated_at__lt=now - grace)
    ).order_by("id")


def sweep(*, pending_grace: int | None = None) -> int:
    """Re-enqueues every stalled step; safe to run anywhere, any number of times (the claim
    lets only one run work). Returns how many were enqueued."""
    count = 0
    for step_id in stalled_steps(pending_grace=pending_grace).values_list("id", flat=True)[:500]:
        try:
            enqueue_now(jobs.run_step, step_id, queue="providers")
            count += 1
        except Exception:
            log.exception("sweeper could not enqueue step %s", step_id)
    if count:
        log.info("sweeper re-enqueued %s stalled step(s)", count)
    return count
