"""B7: ``manage.py rescore ORDER`` of an MQL order with 50,000 leads and 500,000 events.

The order waits in ``mql_qa`` (so rescoring writes scores, breakdowns and qualified
flags). Leads (the sandbox provider's people, accepted at QA#1) and ten accepted email
events per lead are loaded with COPY. Leads follow four engagement patterns whose outcome
under the default rules (v1) is known, so the result can be checked: opens only (15, not
qualified), clicks (60, qualified), interest confirmed (55, qualified), clicks then an
unsubscribe (45, disqualified).
Figure: the best of three rescores, each from the loaded state. Baseline: one SQL aggregate
over the events (count per lead and event, best of 3).
"""

from __future__ import annotations

import io
from datetime import timedelta

from bench import common

# pattern -> (events, expected score, expected qualified)
PATTERNS = (
    (["deliver"] + ["open"] * 9, 15, False),
    (["deliver"] + ["open"] * 3 + ["click"] * 6, 60, True),
    (["deliver"] + ["open"] * 8 + ["interest_confirmed"], 55, True),
    (["deliver", "click", "click", "unsubscribe"] + ["open"] * 6, 45, False),
)
MAPPED = {
    "deliver": "delivered",
    "open": "opened",
    "click": "clicked",
    "unsubscribe": "unsubscribed",
    "interest_confirmed": "interest_confirmed",
}


def run(quick: bool) -> list[dict]:
    from django.core.management import call_command
    from django.db.models import Count
    from django.utils import timezone

    from orders.models import Lead
    from qualification.models import EmailEvent

    leads_n = 5_000 if quick else 50_000
    user = common.make_client("scorer@bench.example")
    order = common.make_order(user, status="mql_qa", target=leads_n, order_type="mql", key="b7", accepted_count=leads_n)
    common.load_leads(order.pk, leads_n, accepted=True, qa_sampled=False)
    lead_ids = list(Lead.objects.filter(order=order).order_by("id").values_list("id", flat=True))
    common.check(len(lead_ids) == leads_n, "leads not loaded")
    now = timezone.now()
    start = now - timedelta(days=5)

    def events():
        for i, lead_id in enumerate(lead_ids):
            names = PATTERNS[i % len(PATTERNS)][0]
            for j, raw in enumerate(names):
                at = start + timedelta(minutes=j * 7 + i % 60)
                yield (
                    f"b7-{lead_id}-{j}",
                    "sendcloud",
                    raw,
                    MAPPED[raw],
                    f"m{lead_id}$lead@example.com",
                    order.pk,
                    at,
                    {"event": raw},
                    "accepted",
                    f"{lead_id}:{MAPPED[raw]}:{j}",
                    at,
                    lead_id,
                )

    loaded = common.copy_model(
        EmailEvent,
        [
            "unique_key",
            "source",
            "event_raw",
            "event",
            "email_id",
            "order_id",
            "occurred_at",
            "payload",
            "outcome",
            "dedupe_key",
            "processed_at",
            "lead",
        ],
        events(),
    )
    expected_events = sum(len(PATTERNS[i % len(PATTERNS)][0]) for i in range(leads_n))
    common.check(loaded == expected_events, f"{loaded} events loaded, expected {expected_events}")
    common.vacuum_analyze("orders_lead", "qualification_emailevent")

    aggregate = (
        "SELECT lead_id, event, count(*) FROM qualification_emailevent "
        "WHERE order_id = %s AND outcome = 'accepted' AND lead_id IS NOT NULL AND event <> '' GROUP BY lead_id, event"
    )
    base_seconds, rows = common.best_of(lambda: common.sql(aggregate, [order.pk]), 3)
    common.check(sum(r[2] for r in rows) == expected_events, "the aggregate does not count every event")

    # The figure is the best of three full rescores, each from the state the leads were
    # loaded in (scores, stored inputs and flags put back, then VACUUM ANALYZE), as the
    # baseline is the best of three: a single run measured this machine's noise as much as
    # the command (the same code gave 0.9 s and 1.6 s in two runs of the suite).
    initial = common.sql(
        "SELECT DISTINCT score, score_breakdown::text, qualified FROM orders_lead WHERE order_id = %s", [order.pk]
    )
    common.check(len(initial) == 1, f"leads loaded in {len(initial)} score states, expected one")

    def rescore_from_loaded_state() -> tuple[float, str]:
        common.sql(
            "UPDATE orders_lead SET score = %s, score_breakdown = %s::jsonb, qualified = %s WHERE order_id = %s",
            [*initial[0], order.pk],
        )
        common.vacuum_analyze("orders_lead")
        out = io.StringIO()
        with common.Timer() as timer:
            call_command("rescore", str(order.pk), stdout=out)
        return timer.seconds, out.getvalue()

    runs = [rescore_from_loaded_state() for _ in range(3)]
    seconds = min(r[0] for r in runs)
    texts = {r[1] for r in runs}
    common.check(len(texts) == 1, f"the three rescores reported differently: {sorted(texts)}")
    text = runs[-1][1]
    expected_qualified = sum(1 for i in range(leads_n) if PATTERNS[i % len(PATTERNS)][2])
    common.check(f"leads={leads_n} qualified={expected_qualified}" in text, f"rescore said: {text[:300]}")
    got = {
        (r["score"], r["qualified"]): r["n"]
        for r in Lead.objects.filter(order=order).values("score", "qualified").annotate(n=Count("id")).order_by()
    }
    want = {}
    for i in range(leads_n):
        _names, score, qualified = PATTERNS[i % len(PATTERNS)]
        want[(score, qualified)] = want.get((score, qualified), 0) + 1
    common.check(got == want, f"stored (score, qualified) counts {got}, expected {want}")

    ratio = seconds / base_seconds
    return [
        common.result(
            "B7",
            f"rescore of an MQL order, {leads_n:,} leads, {loaded:,} email events",
            figure=round(seconds, 3),
            unit="s",
            baseline=round(base_seconds, 3),
            baseline_unit="s (one SQL aggregate)",
            ratio=round(ratio, 3),
            target="≤ 10",
            met=ratio <= 10,
            details={
                "leads": leads_n,
                "events": loaded,
                "qualified": expected_qualified,
                "checksum": text.split("checksum=")[-1].strip()[:64],
                "runs_s": [round(r[0], 3) for r in runs],
            },
        )
    ]
