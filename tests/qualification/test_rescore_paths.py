"""rescore_order's two paths — in the database (PostgreSQL) and row by row (SQLite, and
forced with ``in_database=False``) — store the same scores, decisions and inputs, and report
the same summary, on random engagement."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Lead, SuppressedAddress
from qualification.models import EmailEvent
from qualification.scoring import Rules, expand, rescore_order, score_counts
from tests.qualification.helpers import make_mql_order

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

EVENTS = ["delivered", "opened", "clicked", "interest_confirmed", "bounced_soft", "unsubscribed", "complained",
          "bounced_hard", "replied_unknown"]  # fmt: skip


def _engage(order, seed: int):
    """Random accepted events per lead (some leads none), some refused or other-order events
    that must not count, and suppressed addresses written in other cases and with spaces."""
    rng = random.Random(seed)
    leads = list(order.leads.filter(accepted=True).order_by("id"))
    t0 = timezone.now() - timedelta(days=3)
    rows = []
    for lead in leads:
        for i in range(rng.choice([0, 0, 1, 3, 6, 12])):
            name = rng.choice(EVENTS[:4] * 4 + EVENTS[4:])
            outcome = EmailEvent.Outcome.ACCEPTED if rng.random() > 0.1 else EmailEvent.Outcome.DUPLICATE
            rows.append(
                EmailEvent(
                    unique_key=f"paths-{seed}-{lead.pk}-{i}",
                    source=EmailEvent.Source.SENDCLOUD,
                    event_raw=name,
                    event=name if rng.random() > 0.05 else "",
                    lead=lead,
                    order_id=order.pk,
                    occurred_at=t0 + timedelta(minutes=i),
                    outcome=outcome,
                )
            )
    EmailEvent.objects.bulk_create(rows)
    for lead in rng.sample(leads, k=max(1, len(leads) // 6)):
        SuppressedAddress.objects.get_or_create(email=lead.email.lower(), defaults={"reason": "manual"})
        Lead.objects.filter(pk=lead.pk).update(email=f"  {lead.email.upper()} ")
    Lead.objects.filter(pk=leads[-1].pk).update(accepted=False)  # not scored by either path


def _stored(order):
    return list(order.leads.order_by("id").values_list("id", "score", "qualified", "score_breakdown"))


def _reset(order):
    order.leads.update(score=None, qualified=None, score_breakdown={})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("set_qualified", [True, False])
def test_both_paths_write_the_same(seed, set_qualified):
    order = make_mql_order(leads=40, target=40)
    _engage(order, seed)
    python = rescore_order(order, set_qualified=set_qualified, in_database=False)
    python_rows = _stored(order)
    _reset(order)
    database = rescore_order(order, set_qualified=set_qualified)
    assert _stored(order) == python_rows
    assert database == python
    # Every stored value expands to what score_counts says of its counts.
    rules = Rules.from_version(order.rules_version)
    for _id, score, qualified, stored in python_rows:
        if not stored:
            continue  # the lead that was not accepted
        result = score_counts(stored["counts"], rules, suppressed=stored["suppressed"])
        assert (score, expand(stored, rules)["score"]) == (result.score, result.score)
        if set_qualified:
            assert qualified == result.qualified
    assert any(s and s["suppressed"] for *_r, s in python_rows)
    # A second run writes nothing and reports the same.
    again = rescore_order(order, set_qualified=set_qualified)
    assert (again.leads, again.qualified, again.checksum, again.mismatches) == (
        database.leads,
        database.qualified,
        database.checksum,
        0 if set_qualified else database.mismatches,  # without decisions written, they still differ
    )
    assert _stored(order) == python_rows


def test_both_paths_count_the_same_mismatches_without_writing():
    order = make_mql_order(leads=30, target=30)
    _engage(order, 7)
    rescore_order(order)
    leads = list(order.leads.filter(accepted=True).order_by("id")[:5])
    for lead in leads[:3]:
        Lead.objects.filter(pk=lead.pk).update(score=(lead.score or 0) + 1)
    Lead.objects.filter(pk=leads[3].pk).update(qualified=not leads[3].qualified)
    before = _stored(order)
    python = rescore_order(order, write=False, in_database=False)
    database = rescore_order(order, write=False)
    assert python == database and database.mismatches == 4 and not database.written
    assert _stored(order) == before
