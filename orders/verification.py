"""The ``verify`` step: after a build, when Hunter is configured (HUNTER_API_KEY), the valid
leads' emails are verified before QA#1 (orders.pipeline hands over to it in ``_finish``).

Restartable like the build step, on the same claim, checkpoint and error handling
(orders.pipeline): the cursor is the last lead id verified, answers are committed a batch at
a time with it, a 202 ("still verifying") is asked again later by rescheduling, and every
call is audited by the provider. The result feeds ``Lead.email_status``; a lead whose status
the rules version no longer accepts is rejected with a reason.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from orders.models import EmailStatus, Lead, PipelineStep
from orders.pipeline import (
    ClaimLost,
    _finish,
    _hand_over,
    _handle_error,
    _lock,
    _reschedule,
    _rules,
    _Run,
    lease_seconds,
    run_budget_seconds,
    verify_max_checks,
    verify_page_size,
    verify_recheck_seconds,
)
from orders.services import order_add_counts
from providers.base import CallContext, PermanentError, ProviderError, QuotaExhausted, TransientError, get_provider

log = logging.getLogger(__name__)


def run_verify(run: _Run) -> str:
    """Verifies the valid leads' emails in lead-id order; ``cursor`` is the last lead id done.

    A 202 ("still verifying") leaves the lead in ``state["pending"]`` to be asked again after
    ``verify_recheck_seconds`` (the step is rescheduled; the worker never sleeps). A lead whose
    verified status the rules no longer accept is rejected with a reason. A spent usage quota
    ends the verification (the remaining leads keep the status the build found) instead of
    retrying: waiting will not bring the quota back within an order's lifetime."""
    started = time.monotonic()
    while True:
        step = run.refresh()
        try:
            provider = get_provider(step.provider)
        except KeyError:
            return _handle_error(PermanentError(f"unknown provider {step.provider!r}"), run=run)
        state = step.state or {}
        if state.get("stopped"):
            return _finish(run)
        size = max(1, verify_page_size())
        fresh = list(
            Lead.objects.filter(order_id=run.order.pk, status=Lead.Status.VALID, id__gt=int(step.cursor or 0))
            .exclude(email="")
            .order_by("id")
            .values_list("id", "email")[:size]
        )
        pending = state.get("pending") or {}
        if fresh:
            work = [(lead_id, email, False) for lead_id, email in fresh]
        elif pending:
            wait = float(state.get("recheck_after", 0)) - time.time()
            if wait > 0:
                _reschedule(run.step_id, run.token, delay=wait, error=step.last_error)
                return "waiting_for_verification"
            ids = sorted(int(k) for k in pending)[:size]
            emails = dict(Lead.objects.filter(pk__in=ids, status=Lead.Status.VALID).values_list("id", "email"))
            work = [(lead_id, emails.get(lead_id, ""), True) for lead_id in ids]
        else:
            return _finish(run)
        results, error = [], None
        try:
            for lead_id, email, recheck in work:
                if not email:  # rejected meanwhile: nothing to ask
                    results.append((lead_id, "", recheck))
                    continue
                context = CallContext(order_id=run.order.pk, step=step.name, attempt=step.attempt + 1)
                results.append((lead_id, provider.verify_email(email, context=context), recheck))
        except ProviderError as exc:
            error = exc
        except Exception as exc:
            log.exception("verify step %s: unexpected error from provider %s", run.step_id, step.provider)
            error = TransientError(str(exc)[:500])
        if results:
            run.resume_if_paused()
            _commit_verifications(run, results)
        if isinstance(error, QuotaExhausted):
            _stop_verification(run, f"{step.provider}: {error.reason}")
            return _finish(run)
        if error is not None:
            return _handle_error(error, run=run)
        if time.monotonic() - started > run_budget_seconds():
            return _hand_over(run)


def _commit_verifications(run: _Run, results: list) -> None:
    """Stores one batch of verification answers with the new cursor, in one transaction."""
    with transaction.atomic():
        step, order = _lock(run.step_id, run.token, run.order.pk)
        required, accepted = _rules(order)
        state = dict(step.state or {})
        pending = dict(state.get("pending") or {})
        cursor = int(step.cursor or 0)
        by_status: dict[str, list[int]] = {}
        waiting = False
        for lead_id, status, recheck in results:
            if not recheck:
                cursor = max(cursor, lead_id)
            key = str(lead_id)
            if status == "":
                pending.pop(key, None)
            elif status is None:
                checks = int(pending.get(key, 0)) + 1
                if checks >= verify_max_checks():
                    pending.pop(key, None)
                    state["unverified"] = int(state.get("unverified", 0)) + 1
                else:
                    pending[key] = checks
                    waiting = True
            else:
                pending.pop(key, None)
                status = status if status in EmailStatus.values else EmailStatus.UNKNOWN
                by_status.setdefault(status, []).append(lead_id)
                state["verified"] = int(state.get("verified", 0)) + 1
        rejected = 0
        for status, ids in by_status.items():
            Lead.objects.filter(pk__in=ids, order_id=order.pk).update(email_status=status)
            if "email" in required and status not in accepted:
                rejected += Lead.objects.filter(pk__in=ids, order_id=order.pk, status=Lead.Status.VALID).update(
                    status=Lead.Status.INVALID, invalid_reason=f"email status {status} (verification)"
                )
        state["invalidated"] = int(state.get("invalidated", 0)) + rejected
        state["pending"] = pending
        if waiting:
            state["recheck_after"] = time.time() + verify_recheck_seconds()
        now = timezone.now()
        PipelineStep.objects.filter(pk=step.pk).update(
            cursor=str(cursor),
            pages_done=step.pages_done + 1,
            attempt=0,
            state=state,
            last_error="",
            lease_until=now + timedelta(seconds=lease_seconds()),
            updated_at=now,
        )
        if rejected:
            order_add_counts(order_id=order.pk, found=-rejected, invalid=rejected)


def _stop_verification(run: _Run, reason: str) -> None:
    with transaction.atomic():
        step = PipelineStep.objects.select_for_update().get(pk=run.step_id)
        if step.job_id != run.token:
            raise ClaimLost()
        state = dict(step.state or {})
        state["stopped"] = reason[:500]
        left = Lead.objects.filter(order_id=run.order.pk, status=Lead.Status.VALID, id__gt=int(step.cursor or 0))
        left_count = left.exclude(email="").count() + len(state.get("pending") or {})
        state["unverified"] = int(state.get("unverified", 0)) + left_count
        state["pending"] = {}
        PipelineStep.objects.filter(pk=step.pk).update(state=state, last_error=reason[:2000], attempt=0)
