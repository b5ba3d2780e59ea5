"""The seeded fault simulation (disputes/management/commands/simulate.py), a short fixed-seed
run: top-ups with duplicated and out-of-order Stripe webhooks, orders placed over the API,
QA passes and fails, cancels, SendCloud event storms, provider 429/5xx/timeouts, lost
enqueues and real rqworkers SIGKILLed mid-job, checked against the shadow model after every
step and with ledger_check at the end. ``make simulate SEED=… STEPS=…`` runs longer ones."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_a_fixed_seed_simulation_matches_the_shadow_model():
    out = StringIO()
    call_command("simulate", seed=20261203, steps=120, stdout=out)
    text = out.getvalue()
    print(text)
    assert "120 steps OK" in text and "ledger_check clean" in text
    assert "sigkill" in text  # real workers were killed on the way


@pytest.mark.django_db(transaction=True)
def test_a_broken_invariant_fails_and_names_the_seed(monkeypatch):
    """The shadow model really catches a bug: a hold that silently captures one credit too
    many is reported with the seed that replays it."""
    from wallet import services

    real = services.hold_capture

    def greedy(*, hold, amount, key, actor=None, in_transaction=False):
        return real(hold=hold, amount=min(amount + 1, hold.amount), key=key, actor=actor, in_transaction=in_transaction)

    monkeypatch.setattr("orders.services.wallet.hold_capture", greedy)
    with pytest.raises(CommandError) as info:
        call_command("simulate", seed=7, steps=80, no_kill=True, stdout=StringIO())
    message = str(info.value)
    assert "seed 7 FAILED" in message and "--seed 7 --steps 80" in message
