"""The ledger's invariants (DESIGN.md section 4) as SQL aggregates.

Rows are never looped over in Python. wallet_transfer is read in two full passes: one
grouped by (debit, credit) account pair, which feeds invariant 3 (and 2 and 8 where the
catalog cannot prove them), and one grouped by hold, an index-only scan of
``wallet_transfer_hold_sums`` (invariant 5). Everything else reads small tables or indexed
subsets. Where PostgreSQL's catalog shows a validated constraint that enforces a per-row
rule (positive amounts, two distinct accounts, a key and parameters hash on every row, unique
keys), the rule is proven from it instead of scanned for; without the constraint the scan
runs. Detail queries naming offending ids run only when a violation was counted.

All queries see one snapshot: on PostgreSQL the check runs in a REPEATABLE READ, READ ONLY
transaction, so a transfer committed meanwhile cannot make two queries disagree. The two
passes are split by id range into chunks that run at once on their own connections, each
importing that snapshot (``pg_export_snapshot`` / ``SET TRANSACTION SNAPSHOT``, as
``pg_dump --jobs`` does), while this connection runs the small checks. Inside an open
transaction (a test, a caller's atomic block) or on SQLite everything runs on this
connection, one query after another, with the same results.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import DataError, connection, transaction

TERMINAL_ORDER_STATUSES = ("delivered", "closed", "cancelled", "failed")
SAMPLE = 5  # offending ids shown per violation
# Chunks per pass and connections used at once (2 on this 2-core machine, up to 4).
WORKERS = max(2, min(4, os.cpu_count() or 2))

# Validated CHECK constraints that prove a per-row rule, as pg_get_constraintdef prints them.
PROOF_POSITIVE = "CHECK ((amount > 0))"
PROOF_DISTINCT = "CHECK ((NOT (debit_account_id = credit_account_id)))"
PROOF_KEYED = "CHECK (((NOT ((idempotency_key)::text = ''::text)) AND (NOT ((params_hash)::text = ''::text))))"


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    transfers: int = 0
    # The two passes, (debit, credit, total, smallest, rows) per pair and offending hold ids,
    # computed before the checks (in parallel where possible) and read by them.
    pairs: list[tuple] = field(default_factory=list)
    bad_holds: list[tuple] = field(default_factory=list)
    _pending: list[Future] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.violations

    def wait(self) -> None:
        """Collects the chunks of the two passes once they are done (no-op when collected)."""
        pending, self._pending = self._pending, []
        for future in pending:
            bad_holds, pairs = future.result()
            self.bad_holds = sorted(self.bad_holds + bad_holds)
            self.pairs = _merge_pairs(self.pairs + pairs)


def _rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _ids(rows) -> str:
    shown = ", ".join(str(r[0]) for r in rows[:SAMPLE])
    return shown + (f" (+{len(rows) - SAMPLE} more)" if len(rows) > SAMPLE else "")


# --- catalog proofs (PostgreSQL) ----------------------------------------------------------


def _check_constraint_proven(definition: str) -> bool:
    """True when wallet_transfer has a validated CHECK constraint with exactly ``definition``
    (whatever its name): PostgreSQL then refuses every row that breaks it."""
    if connection.vendor != "postgresql":
        return False
    rows = _rows(
        """
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'wallet_transfer'::regclass AND contype = 'c' AND convalidated
          AND pg_get_constraintdef(oid) = %s
        """,
        [definition],
    )
    return bool(rows)


def _unique_key_index_proven() -> bool:
    """True when PostgreSQL's catalog shows a valid, non-partial unique index on exactly
    wallet_transfer(idempotency_key): then no two rows can share a key (the column is NOT
    NULL), so the GROUP BY scan is redundant."""
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


# --- the two passes -------------------------------------------------------------------------

_PAIRS = """
    SELECT debit_account_id, credit_account_id, SUM({amount}), MIN({amount}), COUNT(*)
    FROM wallet_transfer WHERE {where}
    GROUP BY debit_account_id, credit_account_id
"""

_HOLD_SUMS = """
    SELECT h.id FROM wallet_hold h
    LEFT JOIN (
        SELECT hold_id,
               SUM(CASE WHEN kind = 'hold' THEN {amount} ELSE 0 END) AS placed,
               SUM(CASE WHEN kind = 'capture' THEN {amount} ELSE 0 END) AS captured,
               SUM(CASE WHEN kind = 'release' THEN {amount} ELSE 0 END) AS released
        FROM wallet_transfer WHERE hold_id IS NOT NULL AND hold_id BETWEEN %s AND %s GROUP BY hold_id
    ) t ON t.hold_id = h.id
    WHERE h.id BETWEEN %s AND %s AND (
          COALESCE(t.placed, 0) <> h.amount
       OR COALESCE(t.captured, 0) <> h.captured
       OR COALESCE(t.released, 0) <> h.released
       OR (h.status = 'resolved' AND h.captured + h.released <> h.amount)
       OR (h.status = 'open' AND (h.captured <> 0 OR h.released <> 0)))
    ORDER BY h.id LIMIT 100
"""


def _pair_chunk(chunk: tuple | None = None) -> list[tuple]:
    """Per (debit, credit) pair: total, smallest amount, rows, of the transfers in ``chunk``:
    ``("blocks", first, end)``, heap blocks first ≤ b < end (end None: to the end of the
    table), read by a TID range scan, i.e. a sequential read of those blocks; None: all.
    Summed as integer where every amount fits (see _sum_as_integer)."""
    if chunk is None:
        return _sum_as_integer(_PAIRS.replace("{where}", "TRUE"), [])
    _kind, first, end = chunk
    where = "ctid >= %s::tid" + (" AND ctid < %s::tid" if end is not None else "")
    params = [f"({first},0)"] + ([f"({end},0)"] if end is not None else [])
    return _sum_as_integer(_PAIRS.replace("{where}", where), params)


def _sum_as_integer(sql: str, params: list) -> list[tuple]:
    """``sql`` with its ``{amount}`` summed as integer, else (or elsewhere) as stored.

    On PostgreSQL, SUM over bigint accumulates in 128 bits and returns numeric, which costs
    about twice as much per row as SUM over integer (a 64-bit by-value accumulator, exact for
    fewer than 2**32 rows). The cast raises when a transfer exceeds 2**31 - 1 credits, and
    then the exact bigint query runs instead."""
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                return _rows(sql.format(amount="amount::integer"), params)
        except DataError:
            pass
    return _rows(sql.format(amount="amount"), params)


def _merge_pairs(rows: list[tuple]) -> list[tuple]:
    merged: dict[tuple, list] = {}
    for debit, credit, total, smallest, count in rows:
        if (debit, credit) not in merged:
            merged[(debit, credit)] = [int(total or 0), smallest, int(count)]
            continue
        entry = merged[(debit, credit)]
        entry[0] += int(total or 0)
        entry[1] = smallest if entry[1] is None or (smallest is not None and smallest < entry[1]) else entry[1]
        entry[2] += int(count)
    return [(debit, credit, *entry) for (debit, credit), entry in merged.items()]


def _hold_mismatches(lo: int | None = None, hi: int | None = None) -> list[tuple]:
    """Holds with lo ≤ id ≤ hi whose row disagrees with the sums of their transfers (summed
    as integer where every amount fits, see _sum_as_integer)."""
    if lo is None or hi is None:
        lo, hi = _id_range("wallet_hold")
    return _sum_as_integer(_HOLD_SUMS, [lo, hi, lo, hi])


def _id_range(table: str) -> tuple[int, int]:
    lo, hi = _rows(f"SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM {table}")[0]  # noqa: S608 (constant)
    return int(lo), int(hi)


def _chunks(lo: int, hi: int, n: int) -> list[tuple[int, int]]:
    """``n`` contiguous id ranges covering lo..hi (fewer when the range is small)."""
    size = max(1, (hi - lo + n) // n)
    return [(start, min(hi, start + size - 1)) for start in range(lo, hi + 1, size)] or [(lo, hi)]


def _block_chunks(n: int) -> list[tuple]:
    """``n`` ranges of wallet_transfer's heap blocks; the last is open-ended, so a row in a
    block added after the size was read is still covered (and the snapshot decides whether
    it is seen)."""
    (blocks,) = _rows("SELECT pg_relation_size('wallet_transfer') / current_setting('block_size')::bigint")[0]
    size = max(1, -(-int(blocks) // n))
    starts = list(range(0, max(int(blocks), 1), size))
    return [("blocks", start, starts[i + 1] if i + 1 < len(starts) else None) for i, start in enumerate(starts)]


_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+-[0-9]+$")


def _chunk_in_snapshot(snapshot: str, holds: tuple[int, int], pairs: tuple) -> tuple[list, list]:
    """One worker's share of both passes, on its own connection, in a transaction that sees
    ``snapshot``: (offending hold ids, pair totals)."""
    if not _SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            # The chunks already use the cores; parallel workers of their own would only compete.
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute("SET LOCAL jit = off")  # compiling costs more than these scans save
            return _hold_mismatches(*holds), _pair_chunk(pairs)
    finally:
        connection.close()


def _start_passes(report: Report, pool: ThreadPoolExecutor | None, snapshot: str | None) -> None:
    """Starts the two passes in ``pool``, one chunk of each per worker, or without a pool
    runs them here."""
    holds_range = _id_range("wallet_hold")
    if pool is None:
        report.bad_holds = _hold_mismatches(*holds_range)
        report.pairs = _merge_pairs(_pair_chunk(None))
        return
    hold_chunks = _chunks(*holds_range, WORKERS)
    pair_chunks = _block_chunks(WORKERS)
    for i in range(max(len(hold_chunks), len(pair_chunks))):
        holds = hold_chunks[i] if i < len(hold_chunks) else (1, 0)  # (1, 0): no hold
        pairs = pair_chunks[i] if i < len(pair_chunks) else ("blocks", 0, 0)  # no block
        report._pending.append(pool.submit(_chunk_in_snapshot, snapshot, holds, pairs))


# --- the invariants -----------------------------------------------------------------------


def check_1(report: Report):
    rows = _rows(
        "SELECT id, balance FROM wallet_account WHERE owner_id IS NOT NULL AND balance < 0 ORDER BY id LIMIT 100"
    )
    if rows:
        report.violations.append(f"invariant 1: client accounts with a negative balance: {_ids(rows)}")


def check_2(report: Report):
    """Balances sum to zero (one row per account), and every transfer moves a positive amount
    between two different accounts: proven by the validated CHECK constraints, else from the
    pair scan (a pair with debit = credit, or whose smallest amount is ≤ 0); offending ids
    are then looked up, which only happens when there is a violation."""
    (total,) = _rows("SELECT COALESCE(SUM(balance), 0) FROM wallet_account")[0]
    if total != 0:
        report.violations.append(f"invariant 2: account balances sum to {total}, not 0")
    if _check_constraint_proven(PROOF_POSITIVE) and _check_constraint_proven(PROOF_DISTINCT):
        return
    report.wait()
    bad = any(
        debit is None or credit is None or debit == credit or smallest is None or smallest <= 0
        for debit, credit, _total, smallest, _count in report.pairs
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
    report.wait()
    net: dict[int, int] = {}
    for debit, credit, total, _smallest, _count in report.pairs:
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


def check_5(report: Report):
    """Each hold's row equals the sums of its hold / capture / release transfers and resolves
    whole (the grouped pass, see _hold_mismatches); the held account equals the client's open
    holds; no open hold sits on an order in a terminal state (small, indexed tables)."""
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
    _check_terminal_orders(report)
    report.wait()
    if report.bad_holds:
        report.violations.append(
            f"invariant 5: holds not resolved exactly once (captured + released ≠ held): {_ids(report.bad_holds)}"
        )


def _check_terminal_orders(report: Report) -> None:
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
    """Keys are unique: proven by the unique index when the catalog shows it (else a GROUP BY
    scan); every transfer has a key and a parameters hash: proven by the validated CHECK
    constraint (else a scan). Replays with other parameters are refused by the service."""
    if not _unique_key_index_proven():
        rows = _rows(
            """
            SELECT idempotency_key FROM wallet_transfer
            GROUP BY idempotency_key HAVING COUNT(*) > 1 ORDER BY idempotency_key LIMIT 100
            """
        )
        if rows:
            report.violations.append(f"invariant 8: idempotency keys used more than once: {_ids(rows)}")
    if not _check_constraint_proven(PROOF_KEYED):
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


def _run(report: Report, pool: ThreadPoolExecutor | None, snapshot: str | None) -> Report:
    _start_passes(report, pool, snapshot)
    # The checks that wait for a pass go last, so the small ones run while the passes do.
    for number, title, check in sorted(CHECKS, key=lambda c: c[0] in ("2", "3", "5")):
        check(report)
        report.checked.append(f"{number}. {title}")
    report.checked.sort(key=lambda line: int(line.split(".")[0]))
    report.wait()
    report.transfers = sum(count for *_pair, count in report.pairs)
    return report


def run_checks(*, parallel: bool = True) -> Report:
    """Runs every check in one snapshot; the two passes in parallel chunks when this
    connection is PostgreSQL outside a transaction (see the module docstring)."""
    report = Report()
    if not parallel or connection.vendor != "postgresql" or connection.in_atomic_block:
        return _run(report, None, None)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ledger-check") as pool:
            try:
                return _run(report, pool, snapshot)
            finally:
                for future in report._pending:  # an error: no chunk outlives the snapshot
                    future.cancel()
