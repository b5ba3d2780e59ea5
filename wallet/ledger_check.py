"""The ledger's invariants (DESIGN.md section 4) as SQL aggregates.

One query per check, each a single scan with GROUP BY, so the check stays fast on millions
of transfers; rows are never looped over in Python. Portable SQL (PostgreSQL and SQLite),
except the trigger check, which is PostgreSQL-only.
"""

from dataclasses import dataclass, field

from django.db import connection

TERMINAL_ORDER_STATUSES = ("delivered", "closed", "cancelled", "failed")
SAMPLE = 5  # offending ids shown per violation


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _ids(rows) -> str:
    shown = ", ".join(str(r[0]) for r in rows[:SAMPLE])
    return shown + (f" (+{len(rows) - SAMPLE} more)" if len(rows) > SAMPLE else "")


def check_1(report: Report):
    rows = _rows(
        "SELECT id, balance FROM wallet_account WHERE owner_id IS NOT NULL AND balance < 0 ORDER BY id LIMIT 100"
    )
    if rows:
        report.violations.append(f"invariant 1: client accounts with a negative balance: {_ids(rows)}")


def check_2(report: Report):
    (total,) = _rows("SELECT COALESCE(SUM(balance), 0) FROM wallet_account")[0]
    if total != 0:
        report.violations.append(f"invariant 2: account balances sum to {total}, not 0")
    rows = _rows(
        "SELECT id FROM wallet_transfer WHERE amount <= 0 OR debit_account_id = credit_account_id ORDER BY id LIMIT 100"
    )
    if rows:
        report.violations.append(
            f"invariant 2: transfers that do not move a positive amount between two accounts: {_ids(rows)}"
        )


def check_3(report: Report):
    rows = _rows(
        """
        WITH moves AS (
            SELECT credit_account_id AS account_id, SUM(amount) AS delta FROM wallet_transfer GROUP BY credit_account_id
            UNION ALL
            SELECT debit_account_id, -SUM(amount) FROM wallet_transfer GROUP BY debit_account_id
        ), net AS (SELECT account_id, SUM(delta) AS net FROM moves GROUP BY account_id)
        SELECT a.id, a.balance, COALESCE(n.net, 0)
        FROM wallet_account a LEFT JOIN net n ON n.account_id = a.id
        WHERE a.balance <> COALESCE(n.net, 0)
        ORDER BY a.id LIMIT 100
        """
    )
    if rows:
        detail = ", ".join(f"{r[0]} (stored {r[1]}, transfers {r[2]})" for r in rows[:SAMPLE])
        report.violations.append(f"invariant 3: stored balance differs from credits minus debits: {detail}")


def check_4(report: Report):
    if connection.vendor != "postgresql":
        report.notes.append("invariant 4: append-only trigger not checked (needs PostgreSQL)")
        return
    rows = _rows(
        """
        SELECT t.tgname, t.tgenabled, t.tgtype FROM pg_trigger t
        WHERE t.tgrelid = 'wallet_transfer'::regclass AND NOT t.tgisinternal
          AND t.tgfoid = 'wallet_transfer_append_only'::regproc
        """
    )
    # tgtype bits: 8 DELETE, 16 UPDATE, 32 TRUNCATE
    covered = 0
    for _name, enabled, tgtype in rows:
        if enabled != "D":
            covered |= tgtype & (8 | 16 | 32)
    missing = [op for bit, op in ((16, "UPDATE"), (8, "DELETE"), (32, "TRUNCATE")) if not covered & bit]
    if missing:
        report.violations.append(f"invariant 4: transfers are not protected against {', '.join(missing)}")


def check_5(report: Report):
    rows = _rows(
        """
        SELECT h.id FROM wallet_hold h
        LEFT JOIN (
            SELECT hold_id,
                   SUM(CASE WHEN kind = 'hold' THEN amount ELSE 0 END) AS placed,
                   SUM(CASE WHEN kind = 'capture' THEN amount ELSE 0 END) AS captured,
                   SUM(CASE WHEN kind = 'release' THEN amount ELSE 0 END) AS released
            FROM wallet_transfer WHERE hold_id IS NOT NULL GROUP BY hold_id
        ) t ON t.hold_id = h.id
        WHERE COALESCE(t.placed, 0) <> h.amount
           OR COALESCE(t.captured, 0) <> h.captured
           OR COALESCE(t.released, 0) <> h.released
           OR (h.status = 'resolved' AND h.captured + h.released <> h.amount)
           OR (h.status = 'open' AND (h.captured <> 0 OR h.released <> 0))
        ORDER BY h.id LIMIT 100
        """
    )
    if rows:
        report.violations.append(
            f"invariant 5: holds not resolved exactly once (captured + released ≠ held): {_ids(rows)}"
        )
    rows = _rows(
        """
        SELECT a.id FROM wallet_account a
        LEFT JOIN (SELECT user_id, SUM(amount) AS open_total FROM wallet_hold WHERE status = 'open' GROUP BY user_id) h
          ON h.user_id = a.owner_id
        WHERE a.kind = 'held' AND a.balance <> COALESCE(h.open_total, 0)
        ORDER BY a.id LIMIT 100
        """
    )
    if rows:
        report.violations.append(
            f"invariant 5: held balance differs from the client's open holds: accounts {_ids(rows)}"
        )
    # Wallet must not import orders: the order table is read only when it exists.
    tables = connection.introspection.table_names()
    if "orders_order" not in tables:
        report.notes.append("invariant 5: no orders table yet; terminal-order holds not checked")
        return
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, "orders_order")}
    if not {"id", "status"} <= columns:
        report.notes.append("invariant 5: orders table has no status column; terminal-order holds not checked")
        return
    rows = _rows(
        """
        SELECT h.id, o.id, o.status FROM wallet_hold h JOIN orders_order o ON o.id = h.order_id
        WHERE h.status = 'open' AND o.status IN (%s, %s, %s, %s)
        ORDER BY h.id LIMIT 100
        """,
        TERMINAL_ORDER_STATUSES,
    )
    if rows:
        detail = ", ".join(f"hold {r[0]} (order {r[1]} {r[2]})" for r in rows[:SAMPLE])
        report.violations.append(f"invariant 5: open holds on orders in a terminal state: {detail}")


def check_6(report: Report):
    rows = _rows(
        """
        SELECT tp.id FROM wallet_topup tp
        LEFT JOIN (
            SELECT topup_id, COUNT(*) AS n, SUM(amount) AS credited
            FROM wallet_transfer WHERE kind = 'topup' GROUP BY topup_id
        ) t ON t.topup_id = tp.id
        WHERE COALESCE(t.n, 0) > 1
           OR (COALESCE(t.n, 0) = 1 AND (t.credited <> tp.credits OR tp.status NOT IN ('paid', 'refunded')))
           OR (COALESCE(t.n, 0) = 0 AND tp.status IN ('paid', 'refunded'))
           OR tp.amount_minor <> tp.credits * tp.credit_price_minor
        ORDER BY tp.id LIMIT 100
        """
    )
    if rows:
        report.violations.append(f"invariant 6: top-ups not credited exactly once at the locked price: {_ids(rows)}")
    rows = _rows("SELECT id FROM wallet_transfer WHERE kind = 'topup' AND topup_id IS NULL ORDER BY id LIMIT 100")
    if rows:
        report.violations.append(f"invariant 6: top-up transfers without a top-up: {_ids(rows)}")
    rows = _rows(
        """
        SELECT ref FROM (
            SELECT stripe_session_id AS ref FROM wallet_topup WHERE stripe_session_id IS NOT NULL
            UNION ALL
            SELECT payment_intent_id FROM wallet_topup WHERE payment_intent_id IS NOT NULL
        ) refs GROUP BY ref HAVING COUNT(*) > 1 LIMIT 100
        """
    )
    if rows:
        report.violations.append(f"invariant 6: Stripe payments attached to several top-ups: {_ids(rows)}")


def check_7(report: Report):
    rows = _rows(
        """
        SELECT order_id,
               SUM(CASE WHEN kind = 'dispute_refund' THEN amount ELSE 0 END),
               SUM(CASE WHEN kind = 'capture' THEN amount ELSE 0 END)
        FROM wallet_transfer
        WHERE order_id IS NOT NULL AND kind IN ('capture', 'dispute_refund')
        GROUP BY order_id
        HAVING SUM(CASE WHEN kind = 'dispute_refund' THEN amount ELSE 0 END)
             > SUM(CASE WHEN kind = 'capture' THEN amount ELSE 0 END)
        ORDER BY order_id LIMIT 100
        """
    )
    if rows:
        detail = ", ".join(f"order {r[0]} (refunded {r[1]} > captured {r[2]})" for r in rows[:SAMPLE])
        report.violations.append(f"invariant 7: dispute refunds exceed captures: {detail}")


def check_8(report: Report):
    rows = _rows(
        """
        SELECT idempotency_key FROM wallet_transfer
        GROUP BY idempotency_key HAVING COUNT(*) > 1 ORDER BY idempotency_key LIMIT 100
        """
    )
    if rows:
        report.violations.append(f"invariant 8: idempotency keys used more than once: {_ids(rows)}")
    rows = _rows(
        """
        SELECT id FROM wallet_transfer
        WHERE idempotency_key IS NULL OR idempotency_key = '' OR params_hash IS NULL OR params_hash = ''
        ORDER BY id LIMIT 100
        """
    )
    if rows:
        report.violations.append(f"invariant 8: transfers without an idempotency key or parameters: {_ids(rows)}")


CHECKS = [
    ("1", "client accounts never negative", check_1),
    ("2", "double entry: balances sum to zero", check_2),
    ("3", "stored balances equal their transfers", check_3),
    ("4", "transfers are append-only", check_4),
    ("5", "holds resolve at most once", check_5),
    ("6", "each payment credited once at the locked price", check_6),
    ("7", "dispute refunds never exceed captures", check_7),
    ("8", "idempotency keys unique", check_8),
]


def run_checks() -> Report:
    report = Report()
    for number, title, check in CHECKS:
        check(report)
        report.checked.append(f"{number}. {title}")
    return report
