"""B5: the client's order detail page (10,000 leads) and order list (1,000 orders).

In-process with Django's test Client (the whole middleware stack, a real session) and
``CaptureQueriesContext``: the number of SQL queries per page must be at most 20 and the
same for a small data set (10 leads, 10 orders) as for the large one, i.e. independent of
size (no N+1). The p50 of the large page's response time is reported.
"""

from __future__ import annotations

import time

from bench import common

STATUSES = ("queued", "building", "list_qa", "delivered", "closed", "cancelled", "failed", "paused")


def _measure(client, url: str, *, repeats: int, must_contain: str) -> tuple[int, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    common.check(response.status_code == 200, f"{url} answered {response.status_code}")
    common.check(must_contain in response.content.decode(), f"{url} does not show {must_contain!r}")
    queries = len(ctx.captured_queries)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        common.check(response.status_code == 200, f"{url} answered {response.status_code}")
    return queries, common.percentile(times, 50)


def _orders(user, count: int) -> None:
    from orders.models import Order, OrderTransition, RulesVersion
    from wallet.models import PricingVersion

    pricing = PricingVersion.objects.get(active=True)
    rules = RulesVersion.objects.get(active=True)
    objs = [
        Order(
            user=user,
            type="mql" if i % 3 == 0 else "list",
            status=STATUSES[i % len(STATUSES)],
            criteria={"countries": ["US"], "titles": ["Head of Growth"]},
            target_count=100 + i,
            pricing_version=pricing,
            rules_version=rules,
            unit_price=5 if i % 3 == 0 else 1,
            idempotency_key=f"b5-{user.pk}-{i}",
            found_count=i,
        )
        for i in range(count)
    ]
    Order.objects.bulk_create(objs, batch_size=1000)
    ids = list(Order.objects.filter(user=user).values_list("id", flat=True))
    OrderTransition.objects.bulk_create(
        [OrderTransition(order_id=pk, from_status="", to_status="queued", actor=user, reason="placed") for pk in ids],
        batch_size=1000,
    )


def _detail_order(user, leads: int, key: str):
    from orders.models import OrderTransition

    order = common.make_order(
        user, status="delivered", target=leads, key=key, accepted_count=leads, delivered_count=leads, found_count=leads
    )
    chain = [("", "queued"), ("queued", "building"), ("building", "list_qa"), ("list_qa", "delivered")]
    OrderTransition.objects.bulk_create(
        [OrderTransition(order=order, from_status=a, to_status=b, actor=None, reason="bench") for a, b in chain]
    )
    common.load_leads(order.pk, leads, accepted=True, delivered=True)
    return order


def run(quick: bool) -> list[dict]:
    from django.test import Client
    from django.urls import reverse

    from orders.models import Lead, Order

    big_leads = 2_000 if quick else 10_000
    big_orders = 200 if quick else 1_000
    repeats = 10 if quick else 30

    small_user = common.make_client("pages-small@bench.example")
    big_user = common.make_client("pages-big@bench.example")
    small_detail = _detail_order(small_user, 10, "b5-detail-small")
    big_detail = _detail_order(big_user, big_leads, "b5-detail-big")
    _orders(small_user, 10)
    _orders(big_user, big_orders)
    common.vacuum_analyze("orders_lead", "orders_order", "orders_ordertransition")

    rows = []
    for label, user, order in (("small", small_user, small_detail), ("big", big_user, big_detail)):
        client = Client()
        client.force_login(user)
        first = Lead.objects.filter(order=order).order_by("id").values_list("email", flat=True).first()
        detail = _measure(client, reverse("orders:detail", args=[order.pk]), repeats=repeats, must_contain=first)
        latest = Order.objects.filter(user=user).order_by("-created_at", "-id").first()
        listing = _measure(client, reverse("orders:list"), repeats=repeats, must_contain=f"#{latest.pk}")
        rows.append((label, detail, listing))
    (_, d_small, l_small), (_, d_big, l_big) = rows

    out = []
    for bid, what, small, big in (
        ("B5.detail", f"order detail page, {big_leads:,} delivered leads (test Client, in-process)", d_small, d_big),
        ("B5.list", f"order list page, {big_orders:,} orders (test Client, in-process)", l_small, l_big),
    ):
        met = big[0] <= 20 and big[0] == small[0]
        out.append(
            common.result(
                bid,
                what,
                figure=big[0],
                unit=f"queries (p50 {big[1] * 1000:,.1f} ms)",
                baseline=small[0],
                baseline_unit="queries at 10",
                ratio=None,
                target="≤ 20, same as at 10",
                met=met,
                details={
                    "queries_large": big[0],
                    "queries_small": small[0],
                    "p50_ms_large": round(big[1] * 1000, 2),
                    "p50_ms_small": round(small[1] * 1000, 2),
                },
            )
        )
    return out
