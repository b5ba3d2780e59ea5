"""Lead scoring: a pure function of a lead's stored events and the order's rules version.

``score_lead`` reads nothing and writes nothing, so a decision can be recomputed at any
time and shown rule by rule. ``rescore_order`` feeds it every lead of an order from one
query and writes the results back in bulk.

What a lead stores (``Lead.score_breakdown``) is the score's input, not its output: the
accepted events counted by name, whether the address was suppressed, and the rules version
(``stored_form``). The breakdown shown rule by rule is derived from it with the order's
rules (``expand``), so it is always what ``score_counts`` says of those counts, and the
stored value stays small (about 100 bytes instead of 700: a bulk rescore writes a few MB of
WAL instead of tens). A value stored in full by an earlier version is shown as it is.
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
from django.db.models import Count, Exists, OuterRef
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


# --- what a lead stores -------------------------------------------------------------------


def stored_form(counts: dict[str, int], rules: Rules, *, suppressed: bool) -> dict[str, Any]:
    """``Lead.score_breakdown``: the inputs of the score under ``rules``."""
    return {
        "rules_version": rules.version,
        "counts": {str(k): int(v) for k, v in sorted(counts.items()) if v},
        "suppressed": bool(suppressed),
    }


def expand(stored: dict[str, Any] | None, rules) -> dict[str, Any]:
    """The full breakdown (``Result.as_json``) of a stored value, derived with ``rules`` (the
    lead's order's rules version); {} when nothing was stored yet. A value stored in full
    (it has "rows") is returned unchanged."""
    if not stored:
        return {}
    if "counts" not in stored:
        return stored
    rules = _as_rules(rules)
    result = score_counts(dict(stored["counts"]), rules, suppressed=bool(stored.get("suppressed")))
    return result.as_json(rules)


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


def _suppressed_address():
    """Whether a lead's address (trimmed, lower-cased by the database) is on the global
    suppression list, as an ``Exists`` to annotate leads with."""
    from orders.models import SuppressedAddress

    return Exists(SuppressedAddress.objects.filter(email=Lower(Trim(OuterRef("email")))))


def rescore_order(
    order, *, set_qualified: bool = True, write: bool = True, in_database: bool | None = None
) -> RescoreSummary:
    """Recomputes every scored lead of ``order`` from its stored events and writes score,
    stored inputs (and, unless ``set_qualified`` is False, the qualified flag) in bulk. With
    ``write=False`` nothing is written and ``mismatches`` counts leads whose stored score or
    decision differs from the recomputed one.

    Idempotent and deterministic: the same events and rules give the same rows and checksum.
    Leads with the same counts share one ``score_counts`` call. On PostgreSQL the database
    counts, groups and writes (``_rescore_in_database``: only the distinct inputs travel to
    Python and back); elsewhere the same is done row by row here. Both paths store the same
    values (tests/qualification/test_rescore_paths.py); ``in_database=False`` forces the
    portable path.
    """
    rules = Rules.from_version(order.rules_version)
    if connection.vendor == "postgresql" and in_database is not False:
        return _rescore_in_database(order, rules, set_qualified=set_qualified, write=write)
    from orders.models import Lead

    counts = _counts_by_lead(order.pk)
    leads = list(
        scored_leads(order)
        .annotate(is_suppressed=_suppressed_address())
        .order_by("id")
        .values_list("id", "is_suppressed", "score", "qualified", "score_breakdown")
    )
    rows = []
    changed: tuple[list, list, list, list] = ([], [], [], [])
    mismatches = 0
    memo: dict[tuple, tuple[Result, dict]] = {}
    for lead_id, is_suppressed, old_score, old_qualified, old_stored in leads:
        lead_counts = counts.get(lead_id, {})
        memo_key = (tuple(sorted(lead_counts.items())), bool(is_suppressed))
        if memo_key not in memo:
            memo[memo_key] = (
                score_counts(lead_counts, rules, suppressed=bool(is_suppressed)),
                stored_form(lead_counts, rules, suppressed=bool(is_suppressed)),
            )
        result, stored = memo[memo_key]
        rows.append((lead_id, result.score, result.qualified))
        mismatches += (old_score, old_qualified) != (result.score, result.qualified)
        stale = old_score != result.score or old_stored != stored
        if stale or (set_qualified and old_qualified != result.qualified):
            for column, value in zip(changed, (lead_id, result.score, result.qualified, stored), strict=True):
                column.append(value)
    if write and changed[0]:
        objs = [
            Lead(pk=lead_id, score=score, qualified=flag, score_breakdown=stored)
            for lead_id, score, flag, stored in zip(*changed, strict=True)
        ]
        fields = ["score", "score_breakdown"] + (["qualified"] if set_qualified else [])
        with transaction.atomic():
            Lead.objects.bulk_update(objs, fields, batch_size=500)
    return RescoreSummary(
        leads=len(rows),
        qualified=sum(1 for _id, _score, flag in rows if flag),
        checksum=checksum(rows),
        written=write,
        mismatches=mismatches,
    )


# The inputs of every scored lead of one order, computed by the database: accepted events
# counted per name (as _counts_by_lead), the suppression flag (as _suppressed_address), and
# the stored score and decision to compare with.
_INPUTS_SQL = """
    CREATE TEMPORARY TABLE {table} ON COMMIT DROP AS
    SELECT l.id AS lead_id, COALESCE(e.counts, '{{}}'::jsonb) AS counts,
           EXISTS (SELECT 1 FROM {suppressed} s WHERE s.email = lower(btrim(l.email))) AS suppressed,
           l.score AS old_score, l.qualified AS old_qualified
    FROM {leads} l
    LEFT JOIN (
        SELECT lead_id, jsonb_object_agg(event, n) AS counts FROM (
            SELECT lead_id, event, count(*) AS n FROM {events}
            WHERE order_id = %s AND outcome = %s AND lead_id IS NOT NULL AND event <> ''
            GROUP BY lead_id, event
        ) per_event GROUP BY lead_id
    ) e ON e.lead_id = l.id
    WHERE l.order_id = %s AND l.accepted
"""
_RESULTS = (
    "jsonb_to_recordset(%s::jsonb)"
    " AS r(counts jsonb, suppressed boolean, score integer, qualified boolean, stored jsonb)"
)


def _rescore_in_database(order, rules: Rules, *, set_qualified: bool, write: bool) -> RescoreSummary:
    """rescore_order on PostgreSQL: one temporary table of inputs, the distinct inputs scored
    here, then one UPDATE joining the results back (only rows that change are written) and
    one read of (lead, score, qualified) for the summary and checksum."""
    from orders.models import Lead, SuppressedAddress
    from qualification.models import EmailEvent

    qn = connection.ops.quote_name
    table = "rescore_inputs"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            _INPUTS_SQL.format(
                table=table,
                suppressed=qn(SuppressedAddress._meta.db_table),
                leads=qn(Lead._meta.db_table),
                events=qn(EmailEvent._meta.db_table),
            ),
            [order.pk, EmailEvent.Outcome.ACCEPTED, order.pk],
        )
        cursor.execute(f"SELECT counts::text, suppressed FROM {table} GROUP BY counts, suppressed")  # noqa: S608
        results = []
        for counts_text, suppressed in cursor.fetchall():
            counts = json.loads(counts_text)
            result = score_counts(counts, rules, suppressed=suppressed)
            results.append(
                {
                    "counts": counts,
                    "suppressed": suppressed,
                    "score": result.score,
                    "qualified": result.qualified,
                    "stored": stored_form(counts, rules, suppressed=suppressed),
                }
            )
        results_json = json.dumps(results, separators=(",", ":"))
        join = f"{table} i JOIN {_RESULTS} ON r.counts = i.counts AND r.suppressed = i.suppressed"
        if write and results:
            qualified_set = ", qualified = r.qualified" if set_qualified else ""
            changed = "l.score IS DISTINCT FROM r.score OR l.score_breakdown IS DISTINCT FROM r.stored"
            changed += " OR l.qualified IS DISTINCT FROM r.qualified" if set_qualified else ""
            cursor.execute(
                f"UPDATE {qn(Lead._meta.db_table)} AS l SET score = r.score, score_breakdown = r.stored{qualified_set}"  # noqa: S608
                f" FROM {join} WHERE l.id = i.lead_id AND ({changed})",
                [results_json],
            )
        cursor.execute(
            f"SELECT i.lead_id, r.score, r.qualified,"  # noqa: S608
            f" (i.old_score IS DISTINCT FROM r.score OR i.old_qualified IS DISTINCT FROM r.qualified)"
            f" FROM {join} ORDER BY i.lead_id",
            [results_json],
        )
        read = cursor.fetchall()
    rows = [(lead_id, score, qualified) for lead_id, score, qualified, _differs in read]
    return RescoreSummary(
        leads=len(rows),
        qualified=sum(1 for _id, _score, flag in rows if flag),
        checksum=checksum(rows),
        written=write,
        mismatches=sum(1 for *_row, differs in read if differs),
    )


def rescore_lead(lead, *, set_qualified: bool = False) -> Result:
    """Live update of one lead while its order is nurturing (score and stored inputs only)."""
    from orders.models import Lead, SuppressedAddress
    from qualification.models import EmailEvent

    rules = Rules.from_version(lead.order.rules_version)
    events = list(
        EmailEvent.objects.filter(lead=lead, outcome=EmailEvent.Outcome.ACCEPTED)
        .exclude(event="")
        .values_list("event", "occurred_at")
    )
    suppressed = SuppressedAddress.objects.filter(email=(lead.email or "").strip().lower()).exists()
    counts: dict[str, int] = defaultdict(int)
    for name, _occurred in events:
        counts[str(name)] += 1
    result = score_counts(counts, rules, suppressed=suppressed)
    changes = {"score": result.score, "score_breakdown": stored_form(counts, rules, suppressed=suppressed)}
    if set_qualified:
        changes["qualified"] = result.qualified
    # Only while the order nurtures: once the window is over, the decision's own rescore
    # (nurture_finish) is what stands, and a late event must not rewrite it.
    Lead.objects.filter(pk=lead.pk, order__status="nurturing").update(**changes)
    return result
