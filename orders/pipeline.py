"""The list-building pipeline: a restartable ``build`` step per order, then (when Hunter is
configured) a restartable ``verify`` step checking the built leads' emails before QA#1.

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

- Search stubs (a RocketReach profile without a usable email) wait in the step's state as
  lookups: each is issued once (the provider remembers it) and polled by rescheduling.

Provider errors never make a worker sleep: rate limits and retries reschedule the job
(``schedule_on_commit``); an open breaker pauses the order until the sweeper finds the
provider healthy again (or the fallback provider takes over when its switch is on). The
retry budget (``PROVIDER_MAX_ATTEMPTS``) counts consecutive failures while the provider is
considered healthy; once its breaker opens the order pauses, however long the outage lasts.
A fallback that cannot serve the criteria, has spent its quota or runs dry hands the step
back to its primary provider (paused while that is still down); it never ends the build.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
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
    QuotaExhausted,
    RateLimited,
    TransientError,
    Unsupported,
    backoff_delay,
    get_provider,
)
from solosales.core import flags
from solosales.core.errors import IllegalTransition
from solosales.core.jobs import enqueue_now, enqueue_on_commit, schedule_on_commit

log = logging.getLogger(__name__)

S = OrderStatus
St = PipelineStep.Status
ACTIVE_STEP_STATUSES = (St.PENDING, St.RUNNING, St.WAITING)
VERIFIER = "hunter"  # verifies built leads' emails when configured (HUNTER_API_KEY)
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


def lookup_poll_seconds() -> float:
    # How long a profile lookup is left alone before checkStatus is asked again.
    return float(getattr(settings, "PROVIDER_LOOKUP_POLL_SECONDS", 10))


def lookup_max_polls() -> int:
    # checkStatus polls per profile before the lookup is given up (the lead is rejected).
    return int(getattr(settings, "PROVIDER_LOOKUP_MAX_POLLS", 12))


def lookup_batch() -> int:
    # Lookups issued or polled per pass, and at most this many waiting at once per step.
    return int(getattr(settings, "PROVIDER_LOOKUP_BATCH", 25))


def verify_page_size() -> int:
    # Emails verified per checkpoint (one verification is one call: Hunter allows ~10/s).
    return int(getattr(settings, "PIPELINE_VERIFY_PAGE_SIZE", 25))


def verify_recheck_seconds() -> float:
    # Hunter answered 202 ("still verifying"): ask again after this long.
    return float(getattr(settings, "PROVIDER_VERIFY_RECHECK_SECONDS", 30))


def verify_max_checks() -> int:
    # 202 answers per email before it is left with the status the build step found.
    return int(getattr(settings, "PROVIDER_VERIFY_MAX_CHECKS", 5))


def verification_wanted() -> bool:
    """Built leads are verified when the verifier (Hunter) is configured: its API key is set.
    Without it (the sandbox demo) the build goes straight to QA#1."""
    try:
        provider = get_provider(VERIFIER)
    except KeyError:
        return False
    return type(provider).is_configured() and provider.can_verify_email


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


def _lock(step_id: int, token: str, order_id: int) -> tuple[PipelineStep, Order]:
    """The step and its building order, locked; ClaimLost unless the step is still ours."""
    step = PipelineStep.objects.select_for_update().get(pk=step_id)
    if step.job_id != token or step.status != St.RUNNING:
        raise ClaimLost()
    order = Order.objects.select_for_update().select_related("rules_version").get(pk=order_id)
    if order.status != S.BUILDING:
        raise ClaimLost()
    return step, order


def _rules(order: Order) -> tuple[list[str], list[str]]:
    rules = order.rules_version
    required = rules.required_fields_mql if order.type == OrderType.MQL else rules.required_fields_list
    return list(required), list(rules.accepted_email_statuses)


def _store_records(*, step: PipelineStep, order: Order, state: dict, records, page_cursor: str, can_lookup: bool):
    """Inserts one batch of records as leads (inside the caller's transaction, rows locked)
    and updates ``state``'s counters; returns the counts to add to the order.

    A record that ``needs_lookup`` (a search stub of a provider with lookups) becomes a
    waiting lookup in ``state["lookups"]`` instead of a lead (at most ``lookup_batch()`` wait
    at once); waiting lookups of the current provider count towards the target, so no more
    of them are bought than can be used."""
    required, accepted_statuses = _rules(order)
    criteria = Criteria.from_dict(order.criteria)
    valid_so_far = int(state.get("valid", 0))
    lookups = dict(state.get("lookups") or {})
    reserved = sum(1 for entry in lookups.values() if entry.get("provider") == step.provider)
    need = max(0, order.target_count - valid_so_far - reserved)

    prepared = []
    for record in records:
        values = normalise_record(record, provider=step.provider)
        key = dedupe_key(values)
        if key:
            stub = can_lookup and bool(getattr(record, "needs_lookup", False)) and bool(values["provider_id"])
            prepared.append((key, values, stub))
    keys = {k for k, _v, _s in prepared}
    emails = {v["email"] for _k, v, _s in prepared if v["email"]}
    existing = set(Lead.objects.filter(order_id=order.pk, dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    suppressed = set(SuppressedAddress.objects.filter(email__in=emails).values_list("email", flat=True))

    counts = Counter()
    seen = set(existing)
    leads = []
    taken = 0
    for key, values, stub in prepared:
        if taken >= need:
            break  # target reached (or reserved for lookups under way): the rest is not needed
        if key in seen or (stub and values["provider_id"] in lookups):
            counts["duplicate"] += 1
            continue
        seen.add(key)
        if stub:
            if reserved + counts["lookup"] >= lookup_batch():
                continue  # enough lookups under way; later pages bring more people
            kept = {k: v for k, v in values.items() if k != "raw"}
            lookups[values["provider_id"]] = {"provider": step.provider, "polls": 0, "due": 0, "values": kept}
            counts["lookup"] += 1
            taken += 1
            continue
        if values["email"] in suppressed:
            counts["suppressed"] += 1
            continue
        reason = validate_lead(values, required=required, accepted_statuses=accepted_statuses, criteria=criteria)
        if not reason:
            taken += 1
        counts["invalid" if reason else "valid"] += 1
        leads.append(
            Lead(
                order_id=order.pk,
                dedupe_key=key,
                status=Lead.Status.INVALID if reason else Lead.Status.VALID,
                invalid_reason=reason[:500],
                page_cursor=(page_cursor or "")[:200],
                **values,
            )
        )
    counts["skipped_no_id"] = len(records) - len(prepared)
    Lead.objects.bulk_create(leads, ignore_conflicts=True, batch_size=500)
    state["valid"] = valid_so_far + counts["valid"]
    state["invalid"] = int(state.get("invalid", 0)) + counts["invalid"] + counts["skipped_no_id"]
    state["duplicate"] = int(state.get("duplicate", 0)) + counts["duplicate"]
    state["suppressed"] = int(state.get("suppressed", 0)) + counts["suppressed"]
    state["lookups"] = lookups
    return counts


def _add_counts(order_id: int, counts) -> None:
    order_add_counts(
        order_id=order_id,
        found=counts["valid"],
        invalid=counts["invalid"] + counts["skipped_no_id"],
        duplicate=counts["duplicate"],
        suppressed=counts["suppressed"],
    )


def _commit_page(
    *, step_id: int, token: str, order_id: int, records, next_cursor: str | None, can_lookup: bool = False
) -> dict:
    """Stores one page's leads and the new cursor in one transaction; returns the counts.
    ``done``: the search is over (target reached or the provider has nothing more) and no
    lookup is waiting."""
    with transaction.atomic():
        step, order = _lock(step_id, token, order_id)
        state = dict(step.state or {})
        counts = _store_records(
            step=step, order=order, state=state, records=records, page_cursor=step.cursor, can_lookup=can_lookup
        )
        if next_cursor is None:
            state["exhausted"] = sorted({*state.get("exhausted", []), step.provider})
        done = (state["valid"] >= order.target_count or next_cursor is None) and not state["lookups"]
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
        _add_counts(order_id, counts)
    keys = ("valid", "invalid", "duplicate", "suppressed", "skipped_no_id", "lookup")
    return {"done": done, **{k: counts[k] for k in keys}}


# --- lookups of search stubs ---------------------------------------------------------------

LOOKUP_GAVE_UP = "email lookup did not complete"


def _poll_lookups(run: _Run, provider) -> None:
    """Issues (first time) or polls (afterwards) the due lookups of this provider, then commits
    what came back. The provider remembers every lookup it issued, so a repeated pass polls
    instead of buying the profile again."""
    step = run.step
    now = time.time()
    due = [
        pid
        for pid, entry in (step.state or {}).get("lookups", {}).items()
        if entry.get("provider") == step.provider and float(entry.get("due", 0)) <= now
    ][: lookup_batch()]
    results = {}
    error = None
    for pid in due:
        context = CallContext(order_id=run.order.pk, step=step.name, attempt=step.attempt + 1)
        try:
            results[pid] = provider.lookup(pid, context=context)
        except ProviderError as exc:
            error = exc
            break
    if results:
        run.resume_if_paused()
        _commit_lookups(run, results)
    if error is not None:
        raise error


def _commit_lookups(run: _Run, results: dict) -> None:
    with transaction.atomic():
        step, order = _lock(run.step_id, run.token, run.order.pk)
        state = dict(step.state or {})
        lookups = dict(state.get("lookups") or {})
        complete, gave_up = [], []
        now = time.time()
        for pid, record in results.items():
            entry = lookups.get(pid)
            if entry is None:
                continue
            if record is not None:
                lookups.pop(pid)
                record.needs_lookup = False
                complete.append(record)
            elif int(entry.get("polls", 0)) + 1 > lookup_max_polls():
                lookups.pop(pid)
                gave_up.append(entry)
            else:
                lookups[pid] = {**entry, "polls": int(entry.get("polls", 0)) + 1, "due": now + lookup_poll_seconds()}
        state["lookups"] = lookups
        counts = _store_records(
            step=step, order=order, state=state, records=complete, page_cursor="lookup", can_lookup=False
        )
        rejected = [
            Lead(
                order_id=order.pk,
                dedupe_key=dedupe_key(entry["values"]),
                status=Lead.Status.INVALID,
                invalid_reason=LOOKUP_GAVE_UP,
                page_cursor="lookup",
                **entry["values"],
            )
            for entry in gave_up
        ]
        Lead.objects.bulk_create(rejected, ignore_conflicts=True)
        counts["invalid"] += len(rejected)
        state["invalid"] = int(state.get("invalid", 0)) + len(rejected)
        state["lookups_given_up"] = int(state.get("lookups_given_up", 0)) + len(rejected)
        now_dt = timezone.now()
        PipelineStep.objects.filter(pk=step.pk).update(
            state=state,
            attempt=0,
            last_error="",
            lease_until=now_dt + timedelta(seconds=lease_seconds()),
            updated_at=now_dt,
        )
        _add_counts(order.pk, counts)


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


# --- finishing -------------------------------------------------------------------------------


def _finish(run: _Run) -> str:
    """The step is over. A build step hands over to email verification when it is wanted;
    otherwise (and after verification) the order goes to list_qa with the automated checks
    and the sample stored on the build step for the reviewer; with the QA#1 switch off an
    automatic decision follows."""
    run.resume_if_paused()
    with transaction.atomic():
        step = PipelineStep.objects.select_for_update().get(pk=run.step_id)
        if step.job_id != run.token:
            raise ClaimLost()
        order = Order.objects.select_related("rules_version").get(pk=run.order.pk)
        if order.status != S.BUILDING:
            raise ClaimLost()
        done = {"status": St.DONE, "lease_until": None, "not_before": None, "updated_at": timezone.now()}
        if step.name == PipelineStep.Name.BUILD and verification_wanted():
            PipelineStep.objects.filter(pk=step.pk).update(**done)
            verify, _created = PipelineStep.objects.get_or_create(
                order=order, name=PipelineStep.Name.VERIFY, defaults={"provider": VERIFIER}
            )
            if verify.status != St.DONE:
                enqueue_on_commit(jobs.run_step, verify.pk, queue="providers")
            return "verifying"
        checks = automated_checks(order)
        if step.name == PipelineStep.Name.VERIFY:
            state = step.state or {}
            checks["summary"]["verification"] = {
                k: state.get(k, 0) for k in ("verified", "invalidated", "unverified", "stopped")
            }
            PipelineStep.objects.filter(pk=step.pk).update(**done)
            build = PipelineStep.objects.select_for_update().get(order=order, name=PipelineStep.Name.BUILD)
        else:
            build = step
        state = dict(build.state or {})
        state["qa_checks"] = checks
        state["qa_sample"] = _pick_sample(order, order.rules_version.qa_sample_size)
        PipelineStep.objects.filter(pk=build.pk).update(state=state, **(done if build.pk == step.pk else {}))
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


def _primary(step: PipelineStep) -> str:
    """The provider the step started on (the one a fallback stands in for)."""
    used = (step.state or {}).get("providers_used")
    return used[0] if used else step.provider


def _fallback_name(step: PipelineStep) -> str | None:
    if not flags.is_on(flags.PROVIDER_FALLBACK):
        return None
    state = step.state or {}
    spent = {*state.get("unusable", []), *state.get("exhausted", [])}
    try:
        fallback = get_provider(step.provider).fallback_name
        if not fallback or fallback == step.provider or fallback in spent:
            return None
        fallback_cls = type(get_provider(fallback))
    except KeyError:
        return None
    return fallback if fallback_cls.is_configured() else None


def _switch_provider(step_id: int, token: str, order_id: int, new: str, reason: str, *, spent: str = "") -> bool:
    """Moves the step to provider ``new`` (each provider keeps its own cursor). ``spent``
    ("unusable" or "exhausted") records why the provider left is not to be used again."""
    with transaction.atomic():
        locked = PipelineStep.objects.select_for_update().get(pk=step_id)
        if locked.job_id != token:
            return False
        state = dict(locked.state or {})
        cursors = dict(state.get("cursors", {}))
        cursors[locked.provider] = locked.cursor
        state["cursors"] = cursors
        state.setdefault("providers_used", [locked.provider])
        state["providers_used"] = [*state["providers_used"], new]
        if spent:
            state[spent] = sorted({*state.get(spent, []), locked.provider})
        PipelineStep.objects.filter(pk=step_id).update(
            provider=new, cursor=cursors.get(new, ""), attempt=0, state=state, last_error=reason[:2000]
        )
        Order.objects.filter(pk=order_id).update(provider=new)
    return True


def _pause(step_id: int, token: str, order_id: int, reason: str) -> None:
    """The provider is down (its breaker is open): the order is paused and the step waits for
    the breaker's trial. The retry budget starts afresh: it is for failures while the provider
    is healthy, not for how long an outage lasts."""
    delay = breaker_retry_seconds()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == S.BUILDING:
            order_transition(
                order=order,
                name="pause",
                reason=_("The data provider is unavailable; building resumes automatically."),
            )
        _reschedule(step_id, token, delay=delay, error=reason, attempt=0)


def _provider_healthy(name: str) -> bool:
    try:
        from providers.breakers import breaker_state

        return breaker_state(name) != "open"
    except Exception:  # no breaker for this provider (sandbox) or Redis hiccup: try the call
        log.debug("breaker state of %s unknown", name, exc_info=True)
        return True


def _back_to_primary(run: _Run, step: PipelineStep, reason: str, *, spent: str) -> str:
    """The fallback cannot (or can no longer) serve: the step returns to its primary provider,
    and the order waits paused while the primary is still down."""
    primary = _primary(step)
    reason = f"{reason}; {primary} resumes when it is available again"[:2000]
    if not _switch_provider(step.pk, run.token, run.order.pk, primary, reason, spent=spent):
        return "claim_lost"
    if _provider_healthy(primary):
        return "switched"
    _pause(step.pk, run.token, run.order.pk, reason)
    return "paused"


def _handle_error(exc: Exception, *, run: _Run) -> str:
    step = PipelineStep.objects.get(pk=run.step_id)
    if step.job_id != run.token:
        return "claim_lost"
    token, order = run.token, run.order
    attempt = step.attempt + 1
    reason = f"{step.provider}: {getattr(exc, 'reason', exc)}"[:2000]
    if isinstance(exc, RateLimited):
        _reschedule(step.pk, token, delay=exc.retry_after, error=reason)
        return "rate_limited"
    on_fallback = step.name == PipelineStep.Name.BUILD and step.provider != _primary(step)
    if isinstance(exc, QuotaExhausted | Unsupported) and on_fallback:
        return _back_to_primary(run, step, reason, spent="unusable")
    # An outage: the breaker is open, or this failure tripped it (or failed its trial call).
    if isinstance(exc, CircuitOpen) or (isinstance(exc, TransientError) and not _provider_healthy(step.provider)):
        fallback = _fallback_name(step) if step.name == PipelineStep.Name.BUILD else None
        if fallback:
            if _switch_provider(step.pk, token, order.pk, fallback, reason):
                return "fallback"
            return "claim_lost"
        _pause(step.pk, token, order.pk, reason)
        return "paused"
    if isinstance(exc, PermanentError | QuotaExhausted | Unsupported):
        _release(step.pk, token, status=St.FAILED, last_error=reason, attempt=attempt)
        order_fail(
            order=order,
            reason=_("Data provider refused the request: %(reason)s") % {"reason": reason[:400]},
        )
        return "failed"
    # TransientError while the provider is considered healthy, an unknown ProviderError, or
    # an unexpected bug in a page: retry a few times with backoff, then fail the order (hold
    # released) instead of looping forever.
    if attempt >= max_attempts():
        _release(step.pk, token, status=St.FAILED, last_error=reason, attempt=attempt)
        order_fail(
            order=order,
            reason=_("Data provider failed %(n)s times in a row: %(reason)s") % {"n": attempt, "reason": reason[:400]},
        )
        return "failed"
    _reschedule(step.pk, token, delay=backoff_delay(attempt), error=reason, attempt=attempt)
    return "retry"


# --- the steps -----------------------------------------------------------------------------


@dataclass
class _Run:
    """One claimed run of a step: the claim token, the order as last seen, the step as last read."""

    step_id: int
    token: str
    order: Order
    step: PipelineStep

    def refresh(self) -> PipelineStep:
        self.step = PipelineStep.objects.get(pk=self.step_id)
        if self.step.job_id != self.token:
            raise ClaimLost()
        return self.step

    def resume_if_paused(self) -> None:
        """A paused order resumes only once a call went through (not merely because the
        breaker lets a trial call pass), so a failing trial leaves the timeline alone."""
        if self.order.status != S.PAUSED:
            return
        try:
            self.order = order_transition(
                order=self.order, name="resume", reason=_("The data provider is available again.")
            )
        except IllegalTransition:
            raise ClaimLost() from None


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
    if step.name not in (PipelineStep.Name.BUILD, PipelineStep.Name.VERIFY):
        _release(step_id, token, status=St.FAILED, last_error=f"unknown step {step.name}")
        return "unknown_step"
    if order.status not in (S.QUEUED, S.BUILDING, S.PAUSED):
        _release(step_id, token, status=St.DONE if order.status != S.CANCELLED else St.FAILED)
        return "order_not_building"
    if order.status == S.PAUSED and not _provider_healthy(step.provider):
        _reschedule(step_id, token, delay=breaker_retry_seconds(), error=step.last_error)
        return "still_paused"
    if order.status == S.QUEUED:
        order = order_transition(order=order, name="start", fields={"provider": step.provider})
    run = _Run(step_id=step_id, token=token, order=order, step=step)
    if step.name == PipelineStep.Name.VERIFY:
        from orders import verification  # it builds on this module's claim, commit and error handling

        return verification.run_verify(run)
    return _run_build(run)


def _hand_over(run: _Run) -> str:
    # Hand over to a fresh job so no single job outlives RQ's timeout.
    with transaction.atomic():
        if _release(run.step_id, run.token, status=St.PENDING):
            enqueue_on_commit(jobs.run_step, run.step_id, queue="providers")
    return "continued"


def _run_build(run: _Run) -> str:
    criteria = Criteria.from_dict(run.order.criteria)
    started = time.monotonic()
    while True:
        step = run.refresh()
        try:
            provider = get_provider(step.provider)
        except KeyError:
            return _handle_error(PermanentError(f"unknown provider {step.provider!r}"), run=run)
        try:
            action = _build_once(run, provider, criteria)
        except ProviderError as exc:
            outcome = _handle_error(exc, run=run)
            if outcome in ("fallback", "switched"):
                continue
            return outcome
        except ClaimLost:
            raise
        except Exception as exc:
            log.exception("build step %s: unexpected error from provider %s", run.step_id, step.provider)
            return _handle_error(TransientError(str(exc)[:500]), run=run)
        if action == "finished":
            return _finish(run)
        if action == "back_to_primary":
            outcome = _back_to_primary(
                run, run.refresh(), f"{step.provider}: no more results for these criteria", spent="exhausted"
            )
            if outcome == "switched":
                continue
            return outcome
        if action == "wait_lookups":
            lookups = (run.refresh().state or {}).get("lookups", {})
            due = min((float(e.get("due", 0)) for e in lookups.values()), default=0.0)
            _reschedule(run.step_id, run.token, delay=due - time.time(), error=step.last_error)
            return "waiting_for_lookups"
        if time.monotonic() - started > run_budget_seconds():
            return _hand_over(run)


def _build_once(run: _Run, provider, criteria: Criteria) -> str:
    """One move of the build step: poll the lookups that are due, then fetch and commit one
    search page, or say what is next ("finished", "wait_lookups", "back_to_primary")."""
    step = run.step
    if provider.can_lookup and any(
        e.get("provider") == step.provider for e in (step.state or {}).get("lookups", {}).values()
    ):
        _poll_lookups(run, provider)
        step = run.refresh()
    state = step.state or {}
    valid = int(state.get("valid", 0))
    target = run.order.target_count
    waiting = sum(1 for e in state.get("lookups", {}).values() if e.get("provider") == step.provider)
    searched_out = step.provider in state.get("exhausted", [])
    if valid >= target:
        return "finished"
    if searched_out or waiting >= lookup_batch() or valid + waiting >= target:
        if waiting:
            return "wait_lookups"
        if step.provider != _primary(step):
            return "back_to_primary"  # the fallback ran dry; the primary may still have more
        return "finished"
    context = CallContext(order_id=run.order.pk, step=step.name, attempt=step.attempt + 1)
    page = provider.search(criteria, cursor=step.cursor or None, page_size=page_size(), context=context)
    run.resume_if_paused()
    # Lookups that keep not completing stop being bought: further stubs are taken as they are
    # (and rejected for their missing email), so a provider's slow lookups cannot drain credits.
    buy_lookups = provider.can_lookup and int(state.get("lookups_given_up", 0)) < lookup_batch()
    _commit_page(
        step_id=run.step_id,
        token=run.token,
        order_id=run.order.pk,
        records=page.records,
        next_cursor=page.next_cursor,
        can_lookup=buy_lookups,
    )
    return "page"


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
