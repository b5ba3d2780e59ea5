"""The ledger's invariants (DESIGN.md section 4) as SQL aggregates.

Rows are never looped over in Python. wallet_transfer is read in two full passes: one
grouped by (debit, credit) account pair, which proves the per-row parts of invariants 2 and 8
and feeds invariant 3, and one grouped by hold (invariant 5). Everything else reads small
tables or indexed subsets; key uniqueness (invariant 8) is proven from PostgreSQL's catalog
when a valid unique index enforces it. Detail queries naming offending ids run only when a
violation was counted. Portable SQL (PostgreSQL and SQLite), except the trigger check and the
catalog proof, which fall back (note / scan) elsewhere.
"""

from dataclasses import dataclass, field

from django.db import DataError, connection, transaction

TERMINAL_ORDER_STATUSES = ("delivered", "closed", "cancelled", "failed")
SAMPLE = 5  # offending ids shown per violation


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pairs: list[tuple] | None = None  # the (debit, credit) pair scan, shared by checks 2, 3, 8

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


def _pair_totals(report: Report) -> list[tuple]:
    """One scan of wallet_transfer grouped by (debit, credit) account pair, shared by checks 2, 3, 8.

    Per pair: the amount moved, the smallest amount, and how many rows lack an idempotency key
    or parameters hash. A few thousand groups, so the hash aggregate stays small; cached on
    the report so the table is scanned once per run.
    """
    if report.pairs is None:
        report.pairs = _rows(
            """
            SELECT debit_account_id, credit_account_id, SUM(amount), MIN(amount),
                   SUM(CASE WHEN idempotency_key IS NULL OR idempotency_key = ''
                             OR params_hash IS NULL OR params_hash = '' THEN 1 ELSE 0 END)
            FROM wallet_transfer GROUP BY debit_account_id, credit_account_id
            """
        )
    return report.pairs


def check_2(report: Report):
    """Balances sum to zero (one row per account), and every transfer moves a positive amount
    between two different accounts: proven from the pair scan (a pair with debit = credit,
    or whose smallest amount is ≤ 0, or with a NULL account/amount); offending ids are then
    looked up, which only happens when there is a violation."""
    (total,) = _rows("SELECT COALESCE(SUM(balance), 0) FROM wallet_account")[0]
    if total != 0:
        report.violations.append(f"invariant 2: account balances sum to {total}, not 0")
    bad = any(
        debit is None or credit is None or debit == credit or smallest is None or smallest <= 0
        for debit, credit, _total, smallest, _unkeyed in _pair_totals(report)
    )
    if bad:
        rows = _rows(
            """
            SELECT id FROM wallet_transfer
            WHERE amount IS NULL OR amount <= 0 OR debit_account_id IS NULL OR credit_account_id IS NULL
               OR debit_account_id = credit_account_id
            ORDER BY id LIMIT 100
            """
        )
        report.violations.append(
            f"invariant 2: transfers that do not move a positive amount between two accounts: {_ids(rows)}"
        )


def check_3(report: Report):
    """Each stored balance equals credits minus debits: the pair totals are netted per account
    (in Python: a few thousand pairs, not the transfers) and compared with wallet_account."""
    net: dict[int, int] = {}
    for debit, credit, total, _smallest, _unkeyed in _pair_totals(report):
        net[debit] = net.get(debit, 0) - int(total or 0)
        net[credit] = net.get(credit, 0) + int(total or 0)
    rows = [
        (account_id, balance, net.get(account_id, 0))
        for account_id, balance in _rows("SELECT id, balance FROM wallet_account ORDER BY id")
        if balance != net.get(account_id, 0)
    ]
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


_HOLD_SUMS = """
    SELECT h.id FROM wallet_hold h
    LEFT JOIN (
        SELECT hold_id,
               SUM(CASE WHEN kind = 'hold' THEN {amount} ELSE 0 END) AS placed,
               SUM(CASE WHEN kind = 'capture' THEN {amount} ELSE 0 END) AS captured,
               SUM(CASE WHEN kind = 'release' THEN {amount} ELSE 0 END) AS released
        FROM wallet_transfer WHERE hold_id IS NOT NULL GROUP BY hold_id
    ) t ON t.hold_id = h.id
    WHERE COALESCE(t.placed, 0) <> h.amount
       OR COALESCE(t.captured, 0) <> h.captured
       OR COALESCE(t.released, 0) <> h.released
       OR (h.status = 'resolved' AND h.captured + h.released <> h.amount)
       OR (h.status = 'open' AND (h.captured <> 0 OR h.released <> 0))
    ORDER BY h.id LIMIT 100
"""


def _hold_mismatches() -> list[tuple]:
    """Holds whose row disagrees with the sums of their transfers, in one grouped scan.

    On PostgreSQL, SUM over bigint accumulates in 128 bits and returns numeric, which costs
    about twice as much per row as SUM over integer (a 64-bit by-value accumulator, exact for
    fewer than 2**32 rows). Amounts are therefore summed as integer; the cast raises when a
    transfer exceeds 2**31 - 1 credits, and then the exact bigint query runs instead.
    """
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                return _rows(_HOLD_SUMS.format(amount="amount::integer"))
        except DataError:
            pass
    return _rows(_HOLD_SUMS.format(amount="amount"))


def check_5(report: Report):
    """Each hold's row equals the sums of its hold / capture / release transfers and resolves
    whole (one grouped scan, see _hold_mismatches); the held account equals the client's open
    holds; no open hold sits on an order in a terminal state (small, indexed tables)."""
    rows = _hold_mismatches()
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


def _unique_key_index_proven() -> bool:
    """True when PostgreSQL's catalog shows a valid, non-partial unique index on exactly
    wallet_transfer(idempotency_key): then no two rows can share a key (NULLs aside, and the
    column is checked NOT NULL by the key scan), so the GROUP BY scan is redundant."""
    if connection.vendor != "postgresql":
        return False
    rows = _rows(
        """
        SELECT 1 FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = 'wallet_transfer'::regclass
          AND i.indisunique AND i.indisvalid AND i.indisready AND i.indislive
          AND i.indpred IS NULL AND i.indexprs IS NULL
          AND i.indnkeyatts = 1 AND a.attname = 'idempotency_key'
        """
    )
    return bool(rows)


def check_8(report: Report):
    """Keys are unique: proven by the unique index when the catalog shows it (else a GROUP BY
    scan); every transfer has a key and a parameters hash: counted in the pair scan, ids looked
    up only on a violation. Replays with other parameters are refused by the service."""
    if not _unique_key_index_proven():
        rows = _rows(
            """
            SELECT idempotency_key FROM wallet_transfer
            GROUP BY idempotency_key HAVING COUNT(*) > 1 ORDER BY idempotency_key LIMIT 100
            """
        )
        if rows:
            report.violations.append(f"invariant 8: idempotency keys used more than once: {_ids(rows)}")
    if any(unkeyed for *_pair, unkeyed in _pair_totals(report)):
        rows = _rows(
            """
            SELECT id FROM wallet_transfer
            WHERE idempotency_key IS NULL OR idempotency_key = '' OR params_hash IS NULL OR params_hash = ''
            ORDER BY id LIMIT 100
            """
        )
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
