"""Races on real PostgreSQL: threads with their own connections."""

import threading

import pytest
from django.db import connection

from disputes.models import Dispute, DisputeItem
from disputes.services import LeadAlreadyDisputed, dispute_decide, dispute_open
from solosales.core.errors import ApplicationError
from tests.disputes.helpers import available_balance, delivered_leads, delivered_order, ledger_sums_to_zero, refunds_for
from tests.factories import make_client, make_staff

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("committed_db")]


def _race(funcs):
    barrier = threading.Barrier(len(funcs))
    results: list = [None] * len(funcs)

    def run(i, func):
        try:
            barrier.wait()
            results[i] = func()
        except Exception as exc:  # collected and asserted by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(funcs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_opens_on_the_same_lead_one_wins():
    client = make_client()
    order = delivered_order(client, leads=3)
    leads = delivered_leads(order)

    def open_with(other):
        return lambda: dispute_open(
            user=client,
            order=order,
            items=[{"lead": leads[0].pk, "reason": "invalid_email"}, {"lead": other.pk, "reason": "duplicate"}],
            statement="race",
        )

    results = _race([open_with(leads[1]), open_with(leads[2]), open_with(leads[1])])
    winners = [r for r in results if isinstance(r, Dispute)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(e, LeadAlreadyDisputed) for e in losers), losers
    assert DisputeItem.objects.filter(lead=leads[0], active=True).count() == 1
    assert Dispute.objects.count() == 1


def test_concurrent_double_arbitration_refunds_once():
    client = make_client()
    order = delivered_order(client, leads=3, unit_price=5)
    leads = delivered_leads(order)
    dispute = dispute_open(
        user=client,
        order=order,
        items=[{"lead": lead.pk, "reason": "invalid_email"} for lead in leads[:2]],
        statement="race",
    )
    a, b = make_staff(groups=("ops_arbitration",)), make_staff(groups=("ops_arbitration",))
    before = available_balance(client)
    decisions = {leads[0].pk: "accepted", leads[1].pk: "accepted"}

    def decide(actor):
        return lambda: dispute_decide(dispute=dispute, actor=actor, decisions=decisions, notes="both bad")

    results = _race([decide(a), decide(b), decide(a), decide(b)])
    ok = [r for r in results if isinstance(r, Dispute)]
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(ok) == 1, results
    assert all(isinstance(e, ApplicationError) for e in failed), failed
    assert len(refunds_for(order)) == 1
    assert available_balance(client) == before + 10
    assert ledger_sums_to_zero()
