"""B2: order placement (credits held) by 50 concurrent API clients over 40 wallets.

50 API tokens (clients) on 40 client accounts (wallets): 8 tokens share the first wallet,
the other 42 are spread over the remaining 39. Each client POSTs its orders to the real
``/api/v1/orders/`` (token auth, a unique Idempotency-Key each) from a separate load
process. The shared wallet is funded for only half of what its 8 clients try to place, so
they race for the last credits; every other wallet can afford all its orders.
Baseline: the same clients, bodies and headers against an authenticated no-op POST
(``/bench/noop-auth/``: the project's default DRF authentication and permission); the two
loads run alternately in three parts each (common.run_alternating).

Correct when: every answer is 201, or 400 ``insufficient_credits`` on the shared wallet
only; placed orders = 201 answers and the shared wallet placed exactly what its funds
allow; ``ledger_check`` exits 0; every client balance is ≥ 0; and the holds add up
(Σ hold amounts = Σ hold transfers = Σ held balances = credits moved out of available).
"""

from __future__ import annotations

import json

from bench import common

CLIENTS = 50
WALLETS = 40
SHARED = 8
TARGET = 10  # leads per order (the pricing minimum), 1 credit each: 10 credits an order
BODY = {"type": "list", "target_count": TARGET, "criteria": {"countries": ["US"], "seniorities": ["director"]}}


def run(quick: bool) -> list[dict]:
    from django.db.models import Sum

    from orders.models import Order
    from wallet.models import Account, Hold, TopUp, Transfer

    per_client = 2 if quick else 20
    deadline = 60 if quick else 300
    cost = TARGET * 1

    users = []
    tokens = []  # (user index, key)
    for w in range(WALLETS):
        users.append(common.make_client(f"wallet{w}@bench.example"))
    owners = [0] * SHARED + [1 + (i % (WALLETS - 1)) for i in range(CLIENTS - SHARED)]
    for c, owner in enumerate(owners):
        tokens.append((owner, common.api_token(users[owner], name=f"client {c}")))
    demand = {w: owners.count(w) * per_client * cost for w in range(WALLETS)}
    funded = {w: (demand[w] // 2 if w == 0 else demand[w] + 50) for w in range(WALLETS)}
    from wallet import services as wallet

    for w, user in enumerate(users):
        wallet.topup_seed_paid(user=user, credits=funded[w], session_id=f"cs_bench_b2_{w}")

    body = json.dumps(BODY)

    def clients(path: str, tag: str) -> list[list[dict]]:
        return [
            [
                {
                    "method": "POST",
                    "path": path,
                    "headers": {
                        "Authorization": f"Token {key}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": f"{tag}-{c}-{i}",
                    },
                    "body": body,
                }
                for i in range(per_client)
            ]
            for c, (_owner, key) in enumerate(tokens)
        ]

    with common.gunicorn("b2") as server:
        # Warm-up: every client once on the no-op and on the orders API (a GET: it places
        # nothing), so imports and each thread's database connection are done.
        warm = [
            [r[0], {**r[0], "method": "GET", "path": "/api/v1/orders/", "body": None}]
            for r in clients("/bench/noop-auth/", "warm")
        ]
        common.run_load({"base_url": server.base_url, "clients": warm}, timeout=60)
        base, load = common.run_alternating(
            server.base_url,
            clients("/bench/noop-auth/", "noop"),
            clients("/api/v1/orders/", "order"),
            deadline=deadline,
        )

    total = CLIENTS * per_client
    common.check(base["sent"] == total, f"baseline: {base['sent']} of {total} sent ({base['errors'][:3]})")
    common.check(load["sent"] == total, f"orders: {load['sent']} of {total} sent ({load['errors'][:3]})")
    base_bad = [r[0] for client in base["results"] for r in client if r[0] != 201]
    common.check(not base_bad, f"baseline: {len(base_bad)} answers were not 201 ({sorted(set(base_bad))})")

    placed = refused = 0
    for c, answers in enumerate(load["results"]):
        owner = tokens[c][0]
        for status, _latency, text in answers:
            if status == 201:
                placed += 1
                continue
            code = ""
            try:
                code = json.loads(text)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                pass
            common.check(
                status == 400 and code == "insufficient_credits" and owner == 0,
                f"client {c} (wallet {owner}) got {status} {text[:200]}",
            )
            refused += 1

    orders = Order.objects.count()
    common.check(orders == placed, f"{orders} orders stored, {placed} answered 201")
    shared_orders = Order.objects.filter(user=users[0]).count()
    common.check(
        shared_orders == funded[0] // cost,
        f"shared wallet placed {shared_orders} orders with funds for {funded[0] // cost}",
    )
    code, output = common.ledger_check()
    common.check(code == 0, f"ledger_check exited {code}: {output[-500:]}")
    negative = Account.objects.filter(owner__isnull=False, balance__lt=0).count()
    common.check(negative == 0, f"{negative} client accounts are negative")
    holds = Hold.objects.aggregate(s=Sum("amount"))["s"] or 0
    hold_transfers = Transfer.objects.filter(kind=Transfer.Kind.HOLD).aggregate(s=Sum("amount"))["s"] or 0
    held = Account.objects.filter(kind=Account.Kind.HELD).aggregate(s=Sum("balance"))["s"] or 0
    topped = TopUp.objects.aggregate(s=Sum("credits"))["s"] or 0
    available = Account.objects.filter(kind=Account.Kind.AVAILABLE).aggregate(s=Sum("balance"))["s"] or 0
    common.check(
        holds == hold_transfers == held == topped - available == placed * cost,
        f"holds {holds}, hold transfers {hold_transfers}, held {held}, moved {topped - available}, "
        f"placed × cost {placed * cost}",
    )
    unpaired = Order.objects.filter(hold__isnull=True).count()
    common.check(unpaired == 0, f"{unpaired} orders without a hold")

    figure = placed / load["elapsed_s"]
    baseline = total / base["elapsed_s"]
    ratio = figure / baseline
    lat = [r[1] for client in load["results"] for r in client]
    base_lat = [r[1] for client in base["results"] for r in client]
    p95 = common.percentile(lat, 95) * 1000
    return [
        common.result(
            "B2",
            f"order placement, {CLIENTS} API clients on {WALLETS} wallets ({SHARED} share one), {total:,} POSTs",
            figure=round(figure, 1),
            unit=f"orders/s (p95 {p95:,.0f} ms)",
            baseline=round(baseline, 1),
            baseline_unit="req/s (auth no-op)",
            ratio=round(ratio, 3),
            target="≥ 0.4",
            met=ratio >= 0.4,
            details={
                "requests": total,
                "placed": placed,
                "refused_insufficient": refused,
                "p50_ms": round(common.percentile(lat, 50) * 1000, 1),
                "p95_ms": round(p95, 1),
                "p99_ms": round(common.percentile(lat, 99) * 1000, 1),
                "baseline_p95_ms": round(common.percentile(base_lat, 95) * 1000, 1),
                "seconds": round(load["elapsed_s"], 2),
                "baseline_seconds": round(base["elapsed_s"], 2),
                "ledger_check": "exit 0",
                "overdrafts": 0,
            },
        )
    ]
