"""Concurrent placements: real threads against PostgreSQL, each with its own connection."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from orders.models import Order, RulesVersion
from orders.services import rules_version_activate, rules_version_create_from
from solosales.core.errors import InsufficientCredits
from tests.factories import make_client
from tests.orders.conftest import BODY, fund, place
from wallet import services as wallet
from wallet.models import PricingVersion

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(n, target):
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results[i] = target(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("pricing_used", [True, False])
def test_concurrent_first_placements_on_unused_versions_do_not_deadlock(pricing_used, capsys):
    """Every placement races for the still-unused versions while 8 of them also share one
    wallet. Each one is placed or refused for credits; none fails with a deadlock."""
    # Fresh, never used versions where needed (a used version cannot be made unused again:
    # wallet 0006, orders 0004).
    rules = RulesVersion.objects.get(active=True)
    if rules.used:
        rules_version_activate(version=rules_version_create_from(source=rules))
    shared = make_client(email="shared@example.com")
    others = [make_client(email=f"c{i}@example.com") for i in range(8)]
    unit_cost = BODY["target_count"] * wallet.pricing_active().list_lead_price
    fund(shared, unit_cost * 6)  # 6 of the 8 sharing clients' orders fit
    for user in others:
        fund(user, unit_cost)
    current = wallet.pricing_active()
    if pricing_used:
        wallet.pricing_mark_used(version=current)
    elif current.used:
        copied = ("list_lead_price", "mql_lead_price", "credit_price_minor", "currency", "min_order_size")
        copied += ("max_order_size", "min_topup_credits", "max_topup_credits")
        fresh = PricingVersion.objects.create(version=current.version + 1, **{f: getattr(current, f) for f in copied})
        wallet.pricing_activate(version=fresh)
    assert PricingVersion.objects.get(active=True).used is pricing_used
    assert not RulesVersion.objects.get(active=True).used
    users = [shared] * 8 + others
    results = run_threads(len(users), lambda i: place(users[i], key=f"race-{i}"))
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientCredits)]
    assert not errors, errors
    placed = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, InsufficientCredits)]
    assert (len(placed), len(refused)) == (14, 2)
    assert RulesVersion.objects.get(active=True).used and PricingVersion.objects.get(active=True).used
    available, held = wallet.client_accounts(shared)
    assert (available.balance, held.balance) == (0, unit_cost * 6)
    call_command("ledger_check")
    assert "all invariants hold" in capsys.readouterr().out
