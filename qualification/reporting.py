"""Reads for the qualification report (client page, CSV, printable page, API) and the
QA#2 review: leads with their score breakdown and events, and the score distribution.

Contact details (name, company, email) are shown only for delivered leads: an MQL client
pays for qualified leads only, so the report must not hand out the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from orders.models import Lead, Order, OrderType
from qualification import scoring
from qualification.models import EmailEvent, EmailMessage, EventName

REASON_LABELS = {
    "qualified": _("Qualified"),
    "below_threshold": _("Score below the threshold"),
    "no_high_intent": _("No high-intent event (click or interest confirmation)"),
    "unsubscribed": _("Unsubscribed"),
    "complained": _("Reported the email as spam"),
    "bounced_hard": _("Email address bounced"),
    "suppressed": _("Address on the suppression list"),
}
# Events shown on a lead's timeline (refused webhook deliveries are ops matters).
TIMELINE_OUTCOMES = (
    EmailEvent.Outcome.ACCEPTED,
    EmailEvent.Outcome.DUPLICATE,
    EmailEvent.Outcome.AFTER_WINDOW,
    EmailEvent.Outcome.RECORDED,
)


def rule_label(name: str) -> str:
    try:
        return str(EventName(name).label)
    except ValueError:
        return name


def reason_label(code: str) -> str:
    return str(REASON_LABELS.get(code, code))


def report_order_for(*, user, pk) -> Order | None:
    """The user's own MQL order, or None (callers answer 404)."""
    return Order.objects.select_related("rules_version", "user").filter(pk=pk, user=user, type=OrderType.MQL).first()


def report_leads(order: Order) -> QuerySet:
    """The leads in the qualification: those accepted at QA#1."""
    return Lead.objects.filter(order=order, accepted=True).order_by("-qualified", "-score", "id")


def events_for(lead_ids: Iterable[int]) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = defaultdict(list)
    rows = (
        EmailEvent.objects.filter(lead_id__in=list(lead_ids), outcome__in=TIMELINE_OUTCOMES)
        .select_related("message")
        .order_by("occurred_at", "id")
    )
    for event in rows:
        grouped[event.lead_id].append(
            {
                "event": event.event or event.event_raw,
                "label": rule_label(event.event) if event.event else event.event_raw,
                "occurred_at": event.occurred_at,
                "received_at": event.received_at,
                "outcome": event.outcome,
                "outcome_label": event.get_outcome_display(),
                "step": event.message.step if event.message_id else "",
                "counted": event.outcome == EmailEvent.Outcome.ACCEPTED,
            }
        )
    return grouped


def _rules_by_order(order_ids: set[int]) -> dict[int, scoring.Rules]:
    """The scoring rules of each order (one query), to expand stored breakdowns with."""
    orders = Order.objects.filter(pk__in=order_ids).select_related("rules_version")
    return {order.pk: scoring.Rules.from_version(order.rules_version) for order in orders}


def lead_rows(leads: Iterable[Lead], *, reveal: bool = False) -> list[dict]:
    """Display/API rows for a page of leads (one query for all their events). Contact
    details only for delivered leads, unless ``reveal`` (ops in admin)."""
    leads = list(leads)
    events = events_for(lead.pk for lead in leads)
    rules = _rules_by_order({lead.order_id for lead in leads})
    rows = []
    for lead in leads:
        breakdown = scoring.expand(lead.score_breakdown, rules[lead.order_id])
        visible = reveal or lead.delivered
        rows.append(
            {
                "id": lead.pk,
                "full_name": lead.full_name if visible else None,
                "company": lead.company if visible else None,
                "email": lead.email if visible else None,
                "title": lead.title,
                "country": lead.country,
                "score": lead.score if lead.score is not None else 0,
                "qualified": lead.qualified,
                "delivered": lead.delivered,
                "breakdown": [{**row, "label": rule_label(row.get("rule", ""))} for row in breakdown.get("rows", [])],
                "reasons": list(breakdown.get("reasons", [])),
                "reason_labels": [reason_label(c) for c in breakdown.get("reasons", [])],
                "events": events.get(lead.pk, []),
            }
        )
    return rows


def summary(order: Order) -> dict:
    leads = Lead.objects.filter(order=order, accepted=True)
    messages = EmailMessage.objects.filter(order=order)
    rules = order.rules_version
    return {
        "leads": leads.count(),
        "qualified": leads.filter(qualified=True).count(),
        "decided": order.status not in ("nurturing",) and leads.filter(qualified__isnull=False).exists(),
        "emails_sent": messages.filter(status=EmailMessage.Status.SENT).count(),
        "emails_total": messages.count(),
        "threshold": rules.threshold,
        "high_intent": [rule_label(n) for n in rules.high_intent_events or []],
        "rules": [
            {
                "rule": name,
                "label": rule_label(name),
                "weight": weight,
                "cap": (rules.event_caps or {}).get(name),
            }
            for name, weight in sorted((rules.event_weights or {}).items(), key=lambda kv: -int(kv[1]))
        ],
        "rules_version": rules.version,
    }


def distribution(order: Order, *, bins: int = 10) -> dict:
    """Score histogram for the SVG chart: equal-width bins from 0 to a round maximum, with
    the threshold's x position. Geometry is computed here so the template only draws."""
    scores = [s or 0 for s in Lead.objects.filter(order=order, accepted=True).values_list("score", flat=True)]
    threshold = order.rules_version.threshold
    top = max([threshold * 2, *scores, 10])
    width = max(1, -(-top // bins))  # ceil
    width = -(-width // 5) * 5  # round up to a multiple of 5
    counts = [0] * bins
    for score in scores:
        counts[min(bins - 1, max(0, score) // width)] += 1
    chart_w, chart_h, left, bottom, top_pad = 640, 240, 40, 30, 16
    plot_w, plot_h = chart_w - left - 10, chart_h - bottom - top_pad
    peak = max(counts) or 1
    bar_w = plot_w / bins
    bars = []
    for i, count in enumerate(counts):
        h = round(plot_h * count / peak, 1)
        bars.append(
            {
                "x": round(left + i * bar_w + 2, 1),
                "y": round(top_pad + plot_h - h, 1),
                "w": round(bar_w - 4, 1),
                "h": h,
                "count": count,
                "low": i * width,
                "high": (i + 1) * width - 1,
                "label_x": round(left + i * bar_w + bar_w / 2, 1),
                "qualified_side": i * width >= threshold,
            }
        )
    threshold_x = round(left + plot_w * min(threshold, bins * width) / (bins * width), 1)
    return {
        "bars": bars,
        "width": chart_w,
        "height": chart_h,
        "axis_y": top_pad + plot_h,
        "left": left,
        "right": chart_w - 10,
        "top": top_pad,
        "peak": peak,
        "threshold": threshold,
        "threshold_x": threshold_x,
        "total": len(scores),
    }


CSV_HEADER = (
    "lead_id",
    "full_name",
    "company",
    "email",
    "title",
    "country",
    "score",
    "qualified",
    "reasons",
    "breakdown",
    "events",
)


def csv_rows(order: Order, *, chunk: int = 1000):
    """Rows for the downloadable report, streamed a chunk of leads at a time."""
    ids = list(report_leads(order).values_list("id", flat=True))
    for start in range(0, len(ids), chunk):
        leads = Lead.objects.filter(pk__in=ids[start : start + chunk]).order_by("-qualified", "-score", "id")
        for row in lead_rows(leads):
            yield (
                row["id"],
                row["full_name"],
                row["company"],
                row["email"],
                row["title"],
                row["country"],
                row["score"],
                row["qualified"],
                "; ".join(row["reasons"]),
                "; ".join(f"{b['rule']} {b['counted']}x{b['weight']}={b['points']}" for b in row["breakdown"]),
                "; ".join(
                    f"{e['occurred_at']:%Y-%m-%d %H:%M:%S} {e['event']} ({e['outcome']})"
                    for e in row["events"]
                    if e["occurred_at"]
                ),
            )
