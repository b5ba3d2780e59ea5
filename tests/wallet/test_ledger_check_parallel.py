"""ledger_check outside a transaction on PostgreSQL: the two passes run in chunks on their own
connections, all in one exported snapshot. Transactional tests (the rows are committed, so
the other connections see them)."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import make_client
from wallet import ledger_check, services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def committed_ledger(fund):
    users = [make_client(email=f"lc{i}@example.com") for i in range(3)]
    for i, user in enumerate(users):
        fund(user, 500)
        for j in range(4):
            hold = services.hold_place(user=user, amount=40 + j, key=f"order:{i}{j}:hold", order_id=i * 10 + j)
            if j < 3:
                services.hold_capture(hold=hold, amount=10 + j, key=f"order:{i}{j}:qa1")
    return users


@pytest.fixture
def chunk_calls(monkeypatch):
    """Records the chunks run through an imported snapshot (the parallel path)."""
    calls = []
    real = ledger_check._chunk_in_snapshot

    def recording(snapshot, holds, pairs):
        calls.append((holds, pairs, threading.get_ident() != main))
        return real(snapshot, holds, pairs)

    main = threading.get_ident()
    monkeypatch.setattr(ledger_check, "_chunk_in_snapshot", recording)
    return calls


def _sql(*statements):
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def test_a_clean_ledger_is_checked_in_parallel_chunks(committed_ledger, chunk_calls, capsys):
    call_command("ledger_check")
    out = capsys.readouterr().out
    from wallet.models import Transfer

    assert f"ledger_check: {Transfer.objects.count()} transfers, 8 invariants" in out
    assert "all invariants hold" in out
    assert len(chunk_calls) == ledger_check.WORKERS
    assert all(other_thread for *_chunk, other_thread in chunk_calls)
    from wallet.models import Hold

    # The hold chunks cover every hold id; the last block chunk is open-ended.
    ids = sorted(i for (lo, hi), _pairs, _t in chunk_calls for i in range(lo, hi + 1))
    assert set(Hold.objects.values_list("id", flat=True)) <= set(ids) and len(ids) == len(set(ids))
    assert [pairs[2] for _holds, pairs, _t in chunk_calls].count(None) == 1


def test_the_chunks_find_what_the_serial_check_finds(committed_ledger, chunk_calls, capsys):
    from wallet.models import Hold

    last_hold = Hold.objects.order_by("-id").first()  # in the last chunk
    first_hold = Hold.objects.order_by("id").first()  # in the first
    # No constraint is touched (schema changes outlive a transactional test); the trigger is
    # switched off for the UPDATE only.
    _sql(
        "ALTER TABLE wallet_transfer DISABLE TRIGGER USER",
        f"UPDATE wallet_transfer SET amount = amount + 1 WHERE hold_id IN ({first_hold.pk}, {last_hold.pk})"
        " AND kind = 'hold'",
        "ALTER TABLE wallet_transfer ENABLE TRIGGER USER",
    )
    with pytest.raises(SystemExit):
        call_command("ledger_check")
    parallel = capsys.readouterr().err
    assert (
        f"invariant 5: holds not resolved exactly once (captured + released ≠ held): {first_hold.pk}, {last_hold.pk}"
        in parallel
    )
    assert "invariant 3: stored balance differs" in parallel
    assert chunk_calls
    serial = ledger_check.run_checks(parallel=False)
    assert sorted(serial.violations) == sorted(
        line.strip().removeprefix("VIOLATION ") for line in parallel.splitlines() if "VIOLATION" in line
    )


def test_a_transfer_committed_during_the_check_is_not_half_seen(committed_ledger, monkeypatch, fund):
    """A top-up committed after the snapshot was taken, between the passes and the balance
    reads, is invisible to every query of the check: no false violation."""
    real_start = ledger_check._start_passes
    user = committed_ledger[0]

    def start_then_commit_a_topup(report, pool, snapshot):
        real_start(report, pool, snapshot)
        for future in report._pending:
            future.result()  # the passes are done …
        thread = threading.Thread(target=lambda: (fund(user, 77), connection.close()))
        thread.start()  # … and a top-up commits before the balances are read
        thread.join()

    monkeypatch.setattr(ledger_check, "_start_passes", start_then_commit_a_topup)
    report = ledger_check.run_checks()
    assert report.ok, report.violations
    from wallet.models import Transfer

    assert report.transfers == Transfer.objects.count() - 1  # the top-up came after the snapshot
    monkeypatch.undo()
    assert ledger_check.run_checks().ok


def test_rows_added_after_the_block_count_was_read_are_still_covered(committed_ledger, monkeypatch, fund):
    """A top-up committed after the table size was read, before the snapshot: the open-ended
    last chunk reads it (new blocks or not), so the totals still add up."""
    real = ledger_check._block_chunks

    def chunks_of_a_smaller_table(n):
        return [("blocks", 0, None)] if n == 1 else [("blocks", 0, 1), ("blocks", 1, None)]

    monkeypatch.setattr(ledger_check, "_block_chunks", chunks_of_a_smaller_table)
    for _ in range(30):
        fund(committed_ledger[1], 5)
    report = ledger_check.run_checks()
    from wallet.models import Transfer

    assert report.ok, report.violations
    assert report.transfers == Transfer.objects.count()
    monkeypatch.setattr(ledger_check, "_block_chunks", real)
    assert ledger_check.run_checks().transfers == report.transfers
