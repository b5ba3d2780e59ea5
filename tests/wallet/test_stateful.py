"""Random sequences of ledger operations against a shadow model; invariants after every step."""

import itertools
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from solosales.core.errors import ApplicationError, InsufficientCredits
from tests.factories import make_client, make_staff
from wallet import services
from wallet.ledger_check import run_checks
from wallet.models import Hold

pytestmark = pytest.mark.django_db

_orders = itertools.count(1_000_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.user = make_client()
        self.staff = make_staff(groups=("finance",))
        self.prefix = uuid.uuid4().hex[:10]
        self.keys = itertools.count()
        self.available = 0
        self.held = 0
        self.topups = []  # [topup, credits still refundable by card]
        self.open_holds = []  # [hold]
        self.captured = {}  # order id -> [captured, refunded]

    def key(self, label):
        return f"{self.prefix}:{label}:{next(self.keys)}"

    @rule(credits=st.integers(1, 500))
    def top_up(self, credits):
        topup = services.topup_seed_paid(user=self.user, credits=credits, session_id=self.key("cs"))
        self.topups.append([topup, credits])
        self.available += credits

    @rule(amount=st.integers(1, 400))
    def hold(self, amount):
        order_id = next(_orders)
        try:
            hold = services.hold_place(user=self.user, amount=amount, key=self.key("hold"), order_id=order_id)
        except InsufficientCredits as exc:
            assert amount > self.available
            assert exc.extra["shortfall"] == amount - self.available
            return
        assert amount <= self.available
        self.open_holds.append(hold)
        self.available -= amount
        self.held += amount

    @precondition(lambda self: self.open_holds)
    @rule(data=st.data())
    def capture(self, data):
        hold = self.open_holds.pop(data.draw(st.integers(0, len(self.open_holds) - 1)))
        amount = data.draw(st.integers(0, hold.amount))
        key = self.key("capture")
        services.hold_capture(hold=hold, amount=amount, key=key)
        assert services.hold_capture(hold=hold, amount=amount, key=key).captured == amount  # replay
        self.held -= hold.amount
        self.available += hold.amount - amount
        if amount:
            self.captured[hold.order_id] = [amount, 0]

    @precondition(lambda self: self.open_holds)
    @rule(data=st.data())
    def release(self, data):
        hold = self.open_holds.pop(data.draw(st.integers(0, len(self.open_holds) - 1)))
        services.hold_release(hold=hold, key=self.key("release"))
        self.held -= hold.amount
        self.available += hold.amount

    @precondition(lambda self: any(c > r for c, r in self.captured.values()))
    @rule(data=st.data())
    def dispute_refund(self, data):
        order_id = data.draw(st.sampled_from(sorted(o for o, (c, r) in self.captured.items() if c > r)))
        captured, refunded = self.captured[order_id]
        amount = data.draw(st.integers(1, captured - refunded + 3))
        try:
            services.dispute_refund(
                user=self.user, amount=amount, order_id=order_id, dispute_id=order_id, key=self.key("dispute")
            )
        except ApplicationError:
            assert amount > captured - refunded
            return
        self.captured[order_id][1] += amount
        self.available += amount

    @precondition(lambda self: any(r > 0 for _, r in self.topups))
    @rule(data=st.data())
    def card_refund(self, data):
        entry = data.draw(st.sampled_from([t for t in self.topups if t[1] > 0]))
        credits = data.draw(st.integers(1, entry[1]))
        result = services.card_refund(topup=entry[0], credits=credits, key=self.key("card"))
        assert result.recovered == min(credits, self.available)
        assert result.shortfall == credits - result.recovered
        entry[1] -= credits
        self.available -= result.recovered

    @rule(amount=st.integers(-200, 200).filter(bool))
    def adjustment(self, amount):
        try:
            services.adjustment_post(
                user=self.user,
                amount=amount,
                reason_code="correction",
                actor=self.staff,
                key=self.key("adj"),
                memo="stateful test",
            )
        except InsufficientCredits:
            assert -amount > self.available
            return
        self.available += amount

    @invariant()
    def balances_match_the_shadow(self):
        available, held = services.client_accounts(self.user)
        assert (available.balance, held.balance) == (self.available, self.held)
        assert Hold.objects.filter(user=self.user, status="open").count() == len(self.open_holds)

    @invariant()
    def ledger_invariants_hold(self):
        assert run_checks().violations == []


def test_random_ledger_sequences_keep_every_invariant():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
