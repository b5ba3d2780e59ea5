"""Lead scoring: a pure function of a lead's stored events and the order's rules version.

``score_lead`` reads nothing and writes nothing, so a decision can be recomputed at any
time and shown rule by rule. ``rescore_order`` feeds it every lead of an order from one
query and writes the results back in bulk.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Lower, Trim

# The order of the breakdown rows (events outside it follow, sorted by name).
SCORED_ORDER = ("delivered", "opened", "clicked", "interest_confirmed", "bounced_soft")
# These never add points: they disqualify, and go to the suppression list.
DISQUALIFYING = ("unsubscribed", "complained", "bounced_hard")

# Reason codes (labels in qualification.reporting.REASON_LABELS).
R_QUALIFIED = "qualified"
R_BELOW_THRESHOLD = "below_threshold"
R_NO_HIGH_INTENT = "no_high_intent"
R_UNSUBSCRIBED = "unsubscribed"
R_COMPLAINED = "complained"
R_BOUNCED_HARD = "bounced_hard"
R_SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Rules:
    """The scoring part of a RulesVersion, as plain data."""

    weights: dict[str, int]
    caps: dict[str, int]
    threshold: int
    high_intent: tuple[str, ...]
    version: int | None = None

    @classmethod
    def from_version(cls, rv) -> Rules:
        return cls(
            weights={str(k): int(v) for k, v in (rv.event_weights or {}).items()},
            caps={str(k): int(v) for k, v in (rv.event_caps or {}).items()},
            threshold=int(rv.threshold),
            high_intent=tuple(rv.high_intent_events or ()),
            version=rv.version,
        )


@dataclass
class Result:
    score: int
    qualified: bool
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def as_json(self, rules: Rules) -> dict[str, Any]:
        """What is stored on ``Lead.score_breakdown`` and shown in the report."""
        return {
            "rules_version": rules.version,
            "threshold": rules.threshold,
            "score": self.score,
            "qualified": self.qualified,
            "rows": self.breakdown,
            "reasons": self.reasons,
        }


def _as_rules(rules) -> Rules:
    return rules if isinstance(rules, Rules) else Rules.from_version(rules)


def score_lead(events: Iterable[tuple[str, datetime | None]], rules, *, suppressed: bool = False) -> Result:
    """Score one lead.

    ``events`` are the lead's accepted events ``(name, occurred_at)`` in any order (the
    result does not depend on it). Each weighted event counts up to its cap (no cap = all
    count). Qualified = score ≥ threshold, at least one high-intent event, no unsubscribe,
    spam complaint or hard bounce, and the address not suppressed.
    """
    counts: dict[str, int] = defaultdict(int)
    for name, _occurred in events:
        counts[str(name)] += 1
    return score_counts(counts, rules, suppressed=suppressed)


def score_counts(counts: dict[str, int], rules, *, suppressed: bool = False) -> Result:
    """``score_lead`` from per-event counts (what the bulk rescore reads with GROUP BY)."""
    rules = _as_rules(rules)
    names = [n for n in SCORED_ORDER if n in rules.weights or counts.get(n)]
    names += sorted(n for n in set(rules.weights) | set(counts) if n not in names and n not in DISQUALIFYING)
    breakdown = []
    score = 0
    for name in names:
        count = counts.get(name, 0)
        weight = rules.weights.get(name, 0)
        cap = rules.caps.get(name)
        counted = count if cap is None else min(count, cap)
        points = counted * weight
        score += points
        breakdown.append(
            {"rule": name, "count": count, "counted": counted, "weight": weight, "points": points, "cap": cap}
        )

    reasons = []
    if score < rules.threshold:
        reasons.append(R_BELOW_THRESHOLD)
    if not any(counts.get(n) for n in rules.high_intent):
        reasons.append(R_NO_HIGH_INTENT)
    for name in DISQUALIFYING:
        if counts.get(name):
            reasons.append(name)
    if suppressed:
        reasons.append(R_SUPPRESSED)
    qualified = not reasons
    return Result(score=score, qualified=qualified, breakdown=breakdown, reasons=reasons or [R_QUALIFIED])


# --- bulk -------------------------------------------------------------------------------


@dataclass
class RescoreSummary:
    leads: int
    qualified: int
    checksum: str
    written: bool = True
    mismatches: int = 0


def checksum(rows: Sequence[tuple[int, int, bool]]) -> str:
    """sha256 over ``lead_id:score:qualified`` lines in lead order (stable across runs)."""
    digest = hashlib.sha256()
    for lead_id, score, qualified in sorted(rows):
        digest.update(f"{lead_id}:{score}:{int(bool(qualified))}\n".encode())
    return digest.hexdigest()


def _counts_by_lead(order_id: int) -> dict[int, dict[str, int]]:
    """Accepted events per lead and name, counted by the database in one query."""
    from qualification.models import EmailEvent

    grouped: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        EmailEvent.objects.filter(order_id=order_id, outcome=EmailEvent.Outcome.ACCEPTED, lead__isnull=False)
        .exclude(event="")
        .order_by()
        .values_list("lead_id", "event")
        .annotate(n=Count("id"))
    )
    for lead_id, name, n in rows:
        grouped[lead_id][name] = n
    return grouped


def scored_leads(order):
    """The leads scored for an order: those accepted at QA#1."""
    return order.leads.filter(accepted=True)


def rescore_order(order, *, set_qualified: bool = True, write: bool = True) -> RescoreSummary:
    """Recomputes every scored lead of ``order`` from its stored events and writes score,
    breakdown (and, unless ``set_qualified`` is False, the qualified flag) in bulk. With
    ``write=False`` nothing is written and ``mismatches`` counts leads whose stored score or
    decision differs from the recomputed one.

    Idempotent and deterministic: the same events and rules give the same rows and checksum.
    """
    from orders.models import Lead, SuppressedAddress

    rules = Rules.from_version(order.rules_version)
    counts = _counts_by_lead(order.pk)
    leads = list(scored_leads(order).order_by("id").values_list("id", "email", "score", "qualified", "score_breakdown"))
    suppressed = set(
        SuppressedAddress.objects.filter(
            email__in=scored_leads(order).annotate(address=Lower(Trim("email"))).values("address")
        ).values_list("email", flat=True)
    )
    rows = []
    changed: tuple[list, list, list, list] = ([], [], [], [])
    mismatches = 0
    # Many leads share the same counts: score each distinct (counts, suppressed) once.
    memo: dict[tuple, tuple[Result, dict]] = {}
    for lead_id, email, old_score, old_qualified, old_breakdown in leads:
        lead_counts = counts.get(lead_id, {})
        is_suppressed = (email or "").strip().lower() in suppressed
        memo_key = (tuple(sorted(lead_counts.items())), is_suppressed)
        if memo_key not in memo:
            result = score_counts(lead_counts, rules, suppressed=is_suppressed)
            memo[memo_key] = (result, result.as_json(rules))
        result, breakdown = memo[memo_key]
        rows.append((lead_id, result.score, result.qualified))
        mismatches += (old_score, old_qualified) != (result.score, result.qualified)
        stale = old_score != result.score or old_breakdown != breakdown
        if stale or (set_qualified and old_qualified != result.qualified):
            for column, value in zip(changed, (lead_id, result.score, result.qualified, breakdown), strict=True):
                column.append(value)
    if write:
        with transaction.atomic():
            _write(Lead, *changed, set_qualified=set_qualified)
    return RescoreSummary(
        leads=len(rows),
        qualified=sum(1 for _id, _score, flag in rows if flag),
        checksum=checksum(rows),
        written=write,
        mismatches=mismatches,
    )


def _write(Lead, ids, scores, flags, breakdowns, *, set_qualified: bool) -> None:
    if not ids:
        return
    if connection.vendor == "postgresql":
        # One JSON document per batch, unpacked by PostgreSQL: far cheaper than adapting
        # tens of thousands of parameters or Django's CASE WHEN bulk_update.
        table = Lead._meta.db_table
        qualified_sql = ", qualified = v.qualified" if set_qualified else ""
        sql = (
            f"UPDATE {table} AS l SET score = v.score, score_breakdown = v.breakdown{qualified_sql} "  # noqa: S608
            "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, score integer, qualified boolean, breakdown jsonb) "
            "WHERE l.id = v.id"
        )
        step = 10000
        with connection.cursor() as cursor:
            for start in range(0, len(ids), step):
                end = start + step
                batch = [
                    {"id": i, "score": s, "qualified": q, "breakdown": b}
                    for i, s, q, b in zip(
                        ids[start:end], scores[start:end], flags[start:end], breakdowns[start:end], strict=True
                    )
                ]
                cursor.execute(sql, [json.dumps(batch, separators=(",", ":"))])
        return
    objs = [
        Lead(pk=lead_id, score=score, qualified=flag, score_breakdown=breakdown)
        for lead_id, score, flag, breakdown in zip(ids, scores, flags, breakdowns, strict=True)
    ]
    fields = ["score", "score_breakdown"] + (["qualified"] if set_qualified else [])
    Lead.objects.bulk_update(objs, fields, batch_size=500)


def rescore_lead(lead, *, set_qualified: bool = False) -> Result:
    """Live update of one lead while its order is nurturing (score and breakdown only)."""
    from orders.models import Lead, SuppressedAddress
    from qualification.models import EmailEvent

    rules = Rules.from_version(lead.order.rules_version)
    events = list(
        EmailEvent.objects.filter(lead=lead, outcome=EmailEvent.Outcome.ACCEPTED)
        .exclude(event="")
        .values_list("event", "occurred_at")
    )
    suppressed = SuppressedAddress.objects.filter(email=(lead.email or "").strip().lower()).exists()
    result = score_lead(events, rules, suppressed=suppressed)
    changes = {"score": result.score, "score_breakdown": result.as_json(rules)}
    if set_qualified:
        changes["qualified"] = result.qualified
    Lead.objects.filter(pk=lead.pk).update(**changes)
    return result
