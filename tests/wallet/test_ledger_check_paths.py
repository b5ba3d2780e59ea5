"""The fast paths of ledger_check (pair scan, catalog proof, integer sums) and their fallbacks
still name offending ids."""

import pytest
from django.core.management import call_command
from django.db import connection

from wallet import ledger_check, services
from wallet.models import Hold, Transfer

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def ledger(client_user, fund):
    fund(client_user, 300)
    hold = services.hold_place(user=client_user, amount=100, key="order:7:hold", order_id=7)
    services.hold_capture(hold=hold, amount=60, key="order:7:qa1")
    return client_user


def _sql(*statements):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE wallet_transfer DISABLE TRIGGER USER")
        for statement in statements:
            cursor.execute(statement)


def _violations(capsys):
    with pytest.raises(SystemExit) as exc:
        call_command("ledger_check")
    assert exc.value.code == 1
    return capsys.readouterr().err


def _copy_transfer(key_sql, extra_set=""):
    """Insert a copy of the latest transfer (raw SQL, inside the test transaction)."""
    cols = [
        f.column
        for f in Transfer._meta.concrete_fields
        if f.column not in ("id", "idempotency_key") and f.column not in extra_set
    ]
    _sql(
        f"INSERT INTO wallet_transfer ({', '.join(cols)}, idempotency_key) "
        f"SELECT {', '.join(cols)}, {key_sql} FROM wallet_transfer ORDER BY id DESC LIMIT 1"
    )


def test_the_unique_index_proves_key_uniqueness(ledger):
    assert ledger_check._unique_key_index_proven()


def test_without_the_unique_index_a_duplicate_key_is_found_by_the_scan(ledger, capsys):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname FROM pg_constraint c
            WHERE c.conrelid = 'wallet_transfer'::regclass AND c.contype = 'u'
              AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                    WHERE attrelid = 'wallet_transfer'::regclass AND attname = 'idempotency_key')]
            """
        )
        (name,) = cursor.fetchone()
    _sql(f'ALTER TABLE wallet_transfer DROP CONSTRAINT "{name}"')
    assert not ledger_check._unique_key_index_proven()
    key = Transfer.objects.order_by("-id").values_list("idempotency_key", flat=True).first()
    _copy_transfer("idempotency_key")
    err = _violations(capsys)
    assert f"invariant 8: idempotency keys used more than once: {key}" in err


def test_the_check_constraints_prove_the_per_row_rules(ledger):
    for proof in (ledger_check.PROOF_POSITIVE, ledger_check.PROOF_DISTINCT, ledger_check.PROOF_KEYED):
        assert ledger_check._check_constraint_proven(proof), proof


def test_a_constraint_that_is_not_validated_proves_nothing(ledger):
    _sql(
        "ALTER TABLE wallet_transfer DROP CONSTRAINT wallet_transfer_keyed",
        "ALTER TABLE wallet_transfer ADD CONSTRAINT wallet_transfer_keyed"
        " CHECK (NOT (idempotency_key = '') AND NOT (params_hash = '')) NOT VALID",
    )
    assert not ledger_check._check_constraint_proven(ledger_check.PROOF_KEYED)


def test_a_transfer_without_key_or_hash_is_named(ledger, capsys):
    _sql(
        "ALTER TABLE wallet_transfer DROP CONSTRAINT wallet_transfer_keyed",
        "UPDATE wallet_transfer SET params_hash = '' WHERE id = (SELECT max(id) FROM wallet_transfer)",
    )
    assert not ledger_check._check_constraint_proven(ledger_check.PROOF_KEYED)
    last = Transfer.objects.order_by("-id").values_list("id", flat=True).first()
    err = _violations(capsys)
    assert f"invariant 8: transfers without an idempotency key or parameters: {last}" in err


def test_a_self_transfer_and_a_non_positive_amount_are_named(ledger, capsys):
    _sql(
        "ALTER TABLE wallet_transfer DROP CONSTRAINT wallet_transfer_distinct_accounts",
        "ALTER TABLE wallet_transfer DROP CONSTRAINT wallet_transfer_amount_positive",
    )
    first, second = Transfer.objects.order_by("id").values_list("id", flat=True)[:2]
    _sql(
        f"UPDATE wallet_transfer SET credit_account_id = debit_account_id WHERE id = {first}",
        f"UPDATE wallet_transfer SET amount = 0 WHERE id = {second}",
    )
    err = _violations(capsys)
    assert f"invariant 2: transfers that do not move a positive amount between two accounts: {first}, {second}" in err


def test_a_hold_transfer_beyond_32_bits_falls_back_to_exact_sums(ledger):
    hold = Hold.objects.get(order_id=7)
    _sql(f"UPDATE wallet_transfer SET amount = 3000000000 WHERE hold_id = {hold.pk} AND kind = 'hold'")
    assert ledger_check._hold_mismatches() == [(hold.pk,)]
