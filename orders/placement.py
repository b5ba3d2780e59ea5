"""Order placement in one statement (PostgreSQL): the fast path of ``services._place``.

A placement writes nine rows — the order and its history row, the hold, the hold's transfer,
both client balances, the "placed" timeline entry and the build step — and in Python that
is eleven ORM statements inside BEGIN … COMMIT, each its own round trip and most of a
request's CPU (README "Performance", B2). Here they are one data-modifying CTE, sent as one
prepared statement outside any transaction: PostgreSQL runs it as its own transaction, so
all nine rows are written together or not at all, in one round trip.

``services._place`` is the reference: the same rows, column for column, are what it writes
(the hold through ``wallet.hold_place``), and tests/orders/test_placement_statement.py
places orders both ways and compares every column. The ledger's invariants hold here as
there: the client's two accounts are locked in primary-key order (``FOR UPDATE``, the
order every wallet service locks in), the balance is checked under that lock, the transfer
carries its key and parameters hash as ``wallet.services._post`` computes them, and the
schema's CHECK constraints and triggers apply to these rows as to any.

The statement places nothing, and says why, when the accounts do not exist yet, the
credits do not suffice, or the pricing or rules version it was given is no longer active
and used; the caller then runs the Python path, which creates accounts, locks a version
on its first use and raises the precise error. A replayed idempotency key fails the
order's unique constraint, as in the Python path (IntegrityError, then the replay lookup).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection
from simple_history.models import HistoricalRecords

from orders.models import Order, OrderStatus, OrderTransition, RulesVersion
from solosales.core.db import server_cursor
from wallet.models import Hold, PricingVersion

# The constant columns are literals (a model default changed without this statement is
# caught by the comparison test); the timestamps are the statement's now().
_PLACE_SQL = """
WITH pv AS (
    SELECT 1 FROM wallet_pricingversion
    WHERE id = %(pricing)s AND created_at = %(pricing_created)s AND active AND used
), rv AS (
    SELECT 1 FROM orders_rulesversion
    WHERE id = %(rules)s AND created_at = %(rules_created)s AND active AND used
), l AS MATERIALIZED (
    SELECT id, kind, balance FROM wallet_account
    WHERE owner_id = %(user)s AND kind IN ('available', 'held')
      AND EXISTS (SELECT 1 FROM pv) AND EXISTS (SELECT 1 FROM rv)
    ORDER BY id
    FOR UPDATE
), ok AS MATERIALIZED (
    SELECT max(id) FILTER (WHERE kind = 'available') AS available_id,
           max(id) FILTER (WHERE kind = 'held') AS held_id,
           max(balance) FILTER (WHERE kind = 'available') AS available,
           max(balance) FILTER (WHERE kind = 'held') AS held
    FROM l
    HAVING count(*) = 2 AND max(balance) FILTER (WHERE kind = 'available') >= %(amount)s
), moved AS (
    UPDATE wallet_account a
    SET balance = CASE WHEN a.id = ok.available_id THEN ok.available - %(amount)s ELSE ok.held + %(amount)s END
    FROM ok
    WHERE a.id IN (ok.available_id, ok.held_id)
    RETURNING a.id
), n AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('orders_order', 'id')) AS id, now() AS at FROM ok
), h AS (
    INSERT INTO wallet_hold
        (user_id, amount, captured, released, status, order_id, idempotency_key, resolution_key,
         created_at, resolved_at)
    SELECT %(user)s, %(amount)s, 0, 0, 'open', n.id, 'order:' || n.id || ':hold', NULL, n.at, NULL
    FROM n
    RETURNING id, order_id
), t AS (
    INSERT INTO wallet_transfer
        (kind, debit_account_id, credit_account_id, amount, debit_balance_after, credit_balance_after,
         idempotency_key, params_hash, user_id, hold_id, topup_id, order_id, dispute_id, reason_code,
         memo, actor_id, created_at)
    SELECT 'hold', ok.available_id, ok.held_id, %(amount)s, ok.available - %(amount)s, ok.held + %(amount)s,
           'order:' || h.order_id || ':hold:hold',
           encode(sha256(convert_to(
               '{"amount": ' || %(amount)s || ', "op": "hold", "order": ' || h.order_id
               || ', "user": ' || %(user)s || '}', 'UTF8')), 'hex'),
           %(user)s, h.id, NULL, h.order_id, NULL, '', 'order #' || h.order_id, NULL, n.at
    FROM ok, h, n
    RETURNING id
), o AS (
    INSERT INTO orders_order
        (id, user_id, type, status, criteria, target_count, pricing_version_id, rules_version_id,
         unit_price, hold_id, idempotency_key, provider, found_count, invalid_count, duplicate_count,
         suppressed_count, accepted_count, qualified_count, delivered_count, charged_credits,
         released_credits, status_reason, created_at, updated_at, status_changed_at, delivered_at,
         nurture_started_at, nurture_ends_at, dispute_window_ends_at, closed_at)
    SELECT n.id, %(user)s, %(type)s, 'queued', %(criteria)s::jsonb, %(target)s, %(pricing)s, %(rules)s,
           %(unit)s, h.id, %(key)s, '', 0, 0, 0, 0, 0, 0, 0, 0, 0, '', n.at, n.at, n.at, NULL,
           NULL, NULL, NULL, NULL
    FROM n, h
    RETURNING id
), hist AS (
    INSERT INTO orders_historicalorder
        (id, type, status, criteria, target_count, unit_price, idempotency_key, provider, found_count,
         invalid_count, duplicate_count, suppressed_count, accepted_count, qualified_count,
         delivered_count, charged_credits, released_credits, status_reason, created_at,
         status_changed_at, delivered_at, nurture_started_at, nurture_ends_at, dispute_window_ends_at,
         closed_at, user_id, pricing_version_id, rules_version_id, hold_id, history_date,
         history_change_reason, history_type, history_user_id)
    SELECT n.id, %(type)s, 'queued', %(criteria)s::jsonb, %(target)s, %(unit)s, %(key)s, '', 0, 0, 0, 0, 0,
           0, 0, 0, 0, '', n.at, n.at, NULL, NULL, NULL, NULL, NULL, %(user)s, %(pricing)s,
           %(rules)s, h.id, n.at, NULL, '+', %(history_user)s
    FROM n, h
    RETURNING history_id
), tr AS (
    INSERT INTO orders_ordertransition (order_id, from_status, to_status, actor_id, reason, created_at)
    SELECT n.id, '', 'queued', %(user)s, %(reason)s, n.at FROM n
    RETURNING id
), st AS (
    INSERT INTO orders_pipelinestep
        (order_id, name, status, provider, cursor, pages_done, attempt, not_before, lease_until, job_id,
         last_error, state, updated_at)
    SELECT n.id, 'build', 'pending', %(provider)s, '', 0, 0, NULL, NULL, '', '', '{}'::jsonb, n.at FROM n
    RETURNING id
)
SELECT n.id, n.at, (SELECT id FROM h), (SELECT id FROM tr), (SELECT id FROM st),
       (SELECT count(*) FROM moved), (SELECT count(*) FROM t), (SELECT count(*) FROM o),
       (SELECT count(*) FROM hist),
       EXISTS (SELECT 1 FROM pv) AND EXISTS (SELECT 1 FROM rv),
       (SELECT count(*) FROM l), (SELECT balance FROM l WHERE kind = 'available')
FROM (SELECT 1) AS one LEFT JOIN n ON true
"""


@dataclass(frozen=True)
class NotPlaced:
    """Why the statement placed nothing: ``versions`` (a version no longer active and used),
    ``accounts`` (the client has no ledger accounts yet) or ``credits`` (``available`` is
    less than the hold)."""

    why: str
    available: int | None = None


def available() -> bool:
    """The statement needs PostgreSQL (data-modifying CTEs) and no open transaction of the
    caller's (it commits on its own)."""
    return connection.vendor == "postgresql" and connection.get_autocommit() and not connection.in_atomic_block


def place(
    *,
    user,
    cleaned: dict,
    key: str,
    pricing: PricingVersion,
    rules: RulesVersion,
    unit: int,
    provider: str,
    reason: str,
) -> tuple[Order, OrderTransition, int] | NotPlaced:
    """Places the order (``cleaned`` as ``clean_order_data`` returns it) in one statement:
    ``(order, its "placed" timeline entry, the build step's id)``, the order with its
    versions and hold attached (nothing is read back); or why it placed nothing. Raises
    IntegrityError for a replayed key."""
    amount = cleaned["target_count"] * unit
    params = {
        "user": user.pk,
        "pricing": pricing.pk,
        "rules": rules.pk,
        # With the id, the creation time: the same row, not one that reused its id (a test
        # database flushed between tests).
        "pricing_created": pricing.created_at,
        "rules_created": rules.created_at,
        "amount": amount,
        "type": cleaned["type"],
        "criteria": json.dumps(cleaned["criteria"]),
        "target": cleaned["target_count"],
        "unit": unit,
        "key": key,
        "reason": reason,
        "provider": provider,
        "history_user": _history_user_id(),
    }
    with server_cursor(connection) as cursor:
        cursor.execute(_PLACE_SQL, params, prepare=True)
        row = cursor.fetchone()
    order_id, at, hold_id, transition_id, step_id, moved, transfers, orders, history = row[:9]
    versions_ok, accounts, balance = row[9:]
    if order_id is None:
        if not versions_ok:
            return NotPlaced("versions")
        if accounts != 2:
            return NotPlaced("accounts")
        return NotPlaced("credits", available=balance)
    if (moved, transfers, orders, history) != (2, 1, 1, 1) or None in (hold_id, transition_id, step_id):
        # Cannot happen while the statement is as above; if it ever did, the transaction
        # has committed already, so say it loudly rather than answer as if placed.
        raise AssertionError(f"placement statement wrote an incomplete order #{order_id}: {row}")
    order, placed = _loaded(
        user=user,
        cleaned=cleaned,
        key=key,
        pricing=pricing,
        rules=rules,
        unit=unit,
        amount=amount,
        at=at,
        ids=(order_id, hold_id, transition_id),
        reason=reason,
    )
    return order, placed, step_id


def _history_user_id() -> int | None:
    """The history row's user, as simple_history would record it: the signed-in user of
    the request being served (HistoryRequestMiddleware), else none."""
    user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def _loaded(*, user, cleaned, key, pricing, rules, unit, amount, at, ids, reason) -> tuple[Order, OrderTransition]:
    """The written rows as model instances, without reading them back."""
    order_id, hold_id, transition_id = ids
    hold = Hold(
        id=hold_id,
        user=user,
        amount=amount,
        order_id=order_id,
        idempotency_key=f"order:{order_id}:hold",
        created_at=at,
    )
    order = Order(
        id=order_id,
        user=user,
        type=cleaned["type"],
        criteria=cleaned["criteria"],
        target_count=cleaned["target_count"],
        pricing_version=pricing,
        rules_version=rules,
        unit_price=unit,
        hold=hold,
        idempotency_key=key,
        created_at=at,
        updated_at=at,
        status_changed_at=at,
    )
    placed = OrderTransition(
        id=transition_id,
        order=order,
        from_status="",
        to_status=OrderStatus.QUEUED,
        actor=user,
        reason=reason,
        created_at=at,
    )
    for obj in (hold, order, placed):
        obj._state.adding = False
        obj._state.db = connection.alias
    return order, placed
