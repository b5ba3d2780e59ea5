"""Runs last in tests/wallet (file order): the ledger left by the wallet tests is consistent.

Non-transactional tests roll back, so this sees what the transactional tests committed
(and the seeded platform accounts); the command is the same one CI runs."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ledger_check_is_clean_after_the_wallet_tests(capsys):
    call_command("ledger_check")
    out = capsys.readouterr().out
    assert "8 invariants" in out and "all invariants hold" in out
