"""B6: ``manage.py ledger_check`` over 1,000,000 transfers.

A consistent ledger is generated and loaded with COPY (the append-only trigger only refuses
UPDATE, DELETE and TRUNCATE; the data goes with the scratch database): 2,000 clients, each
with one paid top-up, 166 resolved holds (hold, capture, release) and one open hold, i.e.
500 transfers per client; stored balances, hold rows and platform accounts are computed to
match. ``ledger_check`` then runs in this process (best of 2) and must exit 0.
Baseline: ``SELECT count(*), sum(amount) FROM wallet_transfer`` (best of 3).
"""

from __future__ import annotations

import random

from bench import common

HOLDS_PER_CLIENT = 167  # 166 resolved (3 transfers each) + 1 open (1) + the top-up = 500


def _client_plan(seed: int):
    """Deterministic hold amounts and captures of one client: [(amount, captured)]; the last is open."""
    rng = random.Random(seed)
    plan = []
    for _ in range(HOLDS_PER_CLIENT):
        amount = rng.randint(20, 400)
        plan.append((amount, rng.randint(1, amount - 1)))
    return plan


def run(quick: bool) -> list[dict]:
    from django.contrib.auth import get_user_model

    from wallet.models import Account, Hold, PricingVersion, TopUp, Transfer

    clients = 100 if quick else 2000
    User = get_user_model()
    pricing = PricingVersion.objects.get(active=True)
    price = pricing.credit_price_minor
    clearing = Account.objects.get(owner=None, kind=Account.Kind.STRIPE_CLEARING)
    revenue = Account.objects.get(owner=None, kind=Account.Kind.REVENUE)

    common.copy_model(User, ["email", "password"], ((f"ledger{i}@bench.example", "!") for i in range(clients)))
    user_ids = list(User.objects.filter(email__endswith="@bench.example").order_by("id").values_list("id", flat=True))
    common.check(len(user_ids) == clients, "users not loaded")

    # Pass 1: balances, top-ups, holds (ids assigned here, so transfers can point at them).
    next_account = (Account.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    accounts, topups, holds = [], [], []
    hold_id = 0
    total_topup = total_captured = 0
    ids = {}
    for n, uid in enumerate(user_ids):
        plan = _client_plan(n)
        captured = sum(c for _a, c in plan[:-1])
        open_amount = plan[-1][0]
        credits = captured + open_amount + 1000
        available_id, held_id = next_account, next_account + 1
        next_account += 2
        ids[uid] = (available_id, held_id, n + 1)
        accounts.append((available_id, uid, "available", credits - captured - open_amount))
        accounts.append((held_id, uid, "held", open_amount))
        topups.append(
            (n + 1, uid, pricing.pk, credits, price, credits * price, pricing.currency, "paid", f"cs_bench_ledger_{n}")
        )
        for j, (amount, cap) in enumerate(plan):
            hold_id += 1
            is_open = j == len(plan) - 1
            holds.append(
                (
                    hold_id,
                    uid,
                    amount,
                    0 if is_open else cap,
                    0 if is_open else amount - cap,
                    "open" if is_open else "resolved",
                    f"b6:{n}:{j}",
                    None if is_open else f"b6:{n}:{j}:settle",
                )
            )
        total_topup += credits
        total_captured += captured
    common.copy_model(Account, ["id", "owner", "kind", "balance"], accounts)
    common.copy_model(
        TopUp,
        [
            "id",
            "user",
            "pricing_version",
            "credits",
            "credit_price_minor",
            "amount_minor",
            "currency",
            "status",
            "stripe_session_id",
        ],
        topups,
    )
    common.copy_model(
        Hold, ["id", "user", "amount", "captured", "released", "status", "idempotency_key", "resolution_key"], holds
    )
    Account.objects.filter(pk=clearing.pk).update(balance=clearing.balance - total_topup)
    Account.objects.filter(pk=revenue.pk).update(balance=revenue.balance + total_captured)

    # Pass 2: the transfers, streamed, with running balances.
    def transfers():
        hid = 0
        clearing_balance, revenue_balance = clearing.balance, revenue.balance
        for n, uid in enumerate(user_ids):
            available_id, held_id, topup_id = ids[uid]
            plan = _client_plan(n)
            credits = topups[n][3]
            available, held = credits, 0
            clearing_balance -= credits
            yield (
                "topup",
                clearing.pk,
                available_id,
                credits,
                clearing_balance,
                available,
                f"topup:{topup_id}",
                "b6",
                uid,
                None,
                topup_id,
            )
            for j, (amount, cap) in enumerate(plan):
                hid += 1
                available -= amount
                held += amount
                yield ("hold", available_id, held_id, amount, available, held, f"b6:{n}:{j}:hold", "b6", uid, hid, None)
                if j == len(plan) - 1:
                    break
                held -= cap
                revenue_balance += cap
                yield (
                    "capture",
                    held_id,
                    revenue.pk,
                    cap,
                    held,
                    revenue_balance,
                    f"b6:{n}:{j}:settle:capture",
                    "b6",
                    uid,
                    hid,
                    None,
                )
                held -= amount - cap
                available += amount - cap
                yield (
                    "release",
                    held_id,
                    available_id,
                    amount - cap,
                    held,
                    available,
                    f"b6:{n}:{j}:settle:release",
                    "b6",
                    uid,
                    hid,
                    None,
                )

    loaded = common.copy_model(
        Transfer,
        [
            "kind",
            "debit_account",
            "credit_account",
            "amount",
            "debit_balance_after",
            "credit_balance_after",
            "idempotency_key",
            "params_hash",
            "user",
            "hold",
            "topup",
        ],
        transfers(),
    )
    for table in ("accounts_user", "wallet_account", "wallet_topup", "wallet_hold", "wallet_transfer"):
        common.sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    common.vacuum_analyze("wallet_transfer", "wallet_hold", "wallet_account", "wallet_topup")
    expected = clients * (1 + 3 * (HOLDS_PER_CLIENT - 1) + 1)
    common.check(loaded == expected, f"{loaded} transfers loaded, expected {expected}")

    def baseline():
        return common.sql("SELECT count(*), sum(amount) FROM wallet_transfer")[0]

    base_seconds, (count, _total) = common.best_of(baseline, 3)
    common.check(count == expected, f"count(*) = {count}, expected {expected}")

    outputs = []

    def check_once():
        code, out = common.ledger_check()
        outputs.append(out)
        return code

    seconds, code = common.best_of(check_once, 1 if quick else 2)
    common.check(code == 0, f"ledger_check exited {code}: {outputs[-1][-800:]}")
    common.check("all invariants hold" in outputs[-1], f"ledger_check said: {outputs[-1][-400:]}")

    ratio = seconds / base_seconds
    return [
        common.result(
            "B6",
            f"ledger_check over {count:,} transfers ({clients:,} clients, {len(holds):,} holds)",
            figure=round(seconds, 3),
            unit="s (exit 0)",
            baseline=round(base_seconds, 3),
            baseline_unit="s (count, sum)",
            ratio=round(ratio, 3),
            target="≤ 10",
            met=ratio <= 10,
            details={"transfers": count, "holds": len(holds), "clients": clients},
        )
    ]
