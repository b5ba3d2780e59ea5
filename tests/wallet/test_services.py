import pytest
from django.db import transaction

from solosales.core.errors import (
    ApplicationError,
    IdempotencyConflict,
    IllegalTransition,
    InsufficientCredits,
    ValidationFailed,
)
from tests.factories import make_client, make_staff
from wallet import services
from wallet.ledger_check import run_checks
from wallet.models import Account, Hold, PricingVersion, TopUp, Transfer

pytestmark = pytest.mark.django_db


def balances(user):
    available, held = services.client_accounts(user)
    available.refresh_from_db()
    held.refresh_from_db()
    return available.balance, held.balance


def assert_ledger_clean():
    report = run_checks()
    assert report.violations == []


# --- top-up credit -----------------------------------------------------------------------


def test_topup_credit_moves_credits_from_clearing_once(client_user, fund):
    topup = fund(client_user, 500)
    assert balances(client_user) == (500, 0)
    again = services.topup_credit(topup=topup)
    assert again.kind == Transfer.Kind.TOPUP and again.amount == 500
    assert Transfer.objects.filter(topup=topup, kind="topup").count() == 1
    assert balances(client_user) == (500, 0)
    assert services.platform_account("stripe_clearing").balance == -500
    assert_ledger_clean()


def test_topup_credit_refuses_any_other_key(client_user, fund):
    topup = fund(client_user, 100)
    with pytest.raises(IdempotencyConflict):
        services.topup_credit(topup=topup, key="another-key")
    assert balances(client_user) == (100, 0)


# --- holds -------------------------------------------------------------------------------


def test_hold_place_moves_available_to_held(client_user, fund):
    fund(client_user, 100)
    hold = services.hold_place(user=client_user, amount=60, key="order:1:hold", order_id=1, memo="order 1")
    assert hold.status == Hold.Status.OPEN and hold.amount == 60
    assert balances(client_user) == (40, 60)
    transfer = hold.transfers.get()
    assert (transfer.kind, transfer.amount, transfer.order_id) == ("hold", 60, 1)
    assert_ledger_clean()


def test_hold_larger_than_available_is_refused_with_the_shortfall(client_user, fund):
    fund(client_user, 100)
    before = Transfer.objects.count()
    with pytest.raises(InsufficientCredits) as exc:
        services.hold_place(user=client_user, amount=130, key="order:2:hold")
    assert exc.value.extra == {"shortfall": 30, "available": 100, "required": 130}
    assert Transfer.objects.count() == before
    assert Hold.objects.count() == 0
    assert balances(client_user) == (100, 0)


@pytest.mark.parametrize("amount", [0, -5, 2.5, "10", True])
def test_hold_refuses_amounts_that_are_not_positive_whole_numbers(client_user, fund, amount):
    fund(client_user, 100)
    with pytest.raises(ApplicationError):
        services.hold_place(user=client_user, amount=amount, key=f"bad:{amount!r}")
    assert Hold.objects.count() == 0


def test_hold_replay_returns_the_same_hold_and_different_params_conflict(client_user, fund):
    fund(client_user, 100)
    first = services.hold_place(user=client_user, amount=40, key="order:3:hold", order_id=3)
    assert services.hold_place(user=client_user, amount=40, key="order:3:hold", order_id=3).pk == first.pk
    with pytest.raises(IdempotencyConflict):
        services.hold_place(user=client_user, amount=41, key="order:3:hold", order_id=3)
    assert balances(client_user) == (60, 40)


def test_hold_capture_charges_part_and_releases_the_rest(client_user, fund):
    fund(client_user, 100)
    hold = services.hold_place(user=client_user, amount=80, key="order:4:hold", order_id=4)
    hold = services.hold_capture(hold=hold, amount=50, key="order:4:qa1")
    assert (hold.status, hold.captured, hold.released) == ("resolved", 50, 30)
    assert balances(client_user) == (50, 0)
    assert services.platform_account("revenue").balance == 50
    assert services.captured_for_order(4) == 50
    assert_ledger_clean()


def test_hold_capture_is_exactly_once(client_user, fund):
    fund(client_user, 100)
    hold = services.hold_place(user=client_user, amount=80, key="order:5:hold", order_id=5)
    services.hold_capture(hold=hold, amount=80, key="order:5:qa1")
    assert services.hold_capture(hold=hold, amount=80, key="order:5:qa1").captured == 80  # replay
    with pytest.raises(IdempotencyConflict):
        services.hold_capture(hold=hold, amount=10, key="order:5:qa1")
    with pytest.raises(IllegalTransition):
        services.hold_release(hold=hold, key="order:5:cancel")
    assert balances(client_user) == (20, 0)


def test_hold_capture_cannot_exceed_the_hold(client_user, fund):
    fund(client_user, 100)
    hold = services.hold_place(user=client_user, amount=30, key="order:6:hold", order_id=6)
    with pytest.raises(ApplicationError):
        services.hold_capture(hold=hold, amount=31, key="order:6:qa1")
    hold.refresh_from_db()
    assert hold.status == "open"


def test_hold_release_returns_everything(client_user, fund):
    fund(client_user, 100)
    hold = services.hold_place(user=client_user, amount=30, key="order:7:hold", order_id=7)
    hold = services.hold_release(hold=hold, key="order:7:cancel")
    assert (hold.captured, hold.released) == (0, 30)
    assert balances(client_user) == (100, 0)
    assert_ledger_clean()


def test_services_join_a_callers_transaction_when_asked(client_user, fund):
    fund(client_user, 100)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.hold_place(user=client_user, amount=10, key="k:durable")
    with transaction.atomic():
        hold = services.hold_place(user=client_user, amount=10, key="k:joined", in_transaction=True)
    assert hold.pk and balances(client_user) == (90, 10)


# --- dispute refunds ----------------------------------------------------------------------


def test_dispute_refund_returns_captured_credits_up_to_the_capture(client_user, fund):
    fund(client_user, 100)
    hold = services.hold_place(user=client_user, amount=50, key="order:8:hold", order_id=8)
    services.hold_capture(hold=hold, amount=40, key="order:8:qa1")
    refund = services.dispute_refund(user=client_user, amount=15, order_id=8, dispute_id=1, key="dispute:1")
    assert refund.kind == "dispute_refund"
    assert balances(client_user) == (75, 0)
    assert services.dispute_refund(user=client_user, amount=15, order_id=8, dispute_id=1, key="dispute:1") == refund
    with pytest.raises(IdempotencyConflict):
        services.dispute_refund(user=client_user, amount=16, order_id=8, dispute_id=1, key="dispute:1")
    with pytest.raises(ApplicationError) as exc:
        services.dispute_refund(user=client_user, amount=26, order_id=8, dispute_id=2, key="dispute:2")
    assert exc.value.extra == {"refundable": 25}
    assert services.refunded_for_order(8) == 15
    assert_ledger_clean()


def test_dispute_refund_only_returns_what_this_client_was_charged(client_user, other_client, fund):
    fund(client_user, 100)
    hold = services.hold_place(user=client_user, amount=50, key="order:9:hold", order_id=9)
    services.hold_capture(hold=hold, amount=50, key="order:9:qa1")
    with pytest.raises(ApplicationError):
        services.dispute_refund(user=other_client, amount=10, order_id=9, dispute_id=3, key="dispute:3")
    assert balances(other_client) == (0, 0)


# --- card refunds, chargebacks -----------------------------------------------------------


def test_card_refund_never_goes_negative_and_reports_the_shortfall(client_user, fund):
    topup = fund(client_user, 100)
    services.hold_place(user=client_user, amount=70, key="order:10:hold", order_id=10)
    result = services.card_refund(topup=topup, credits=100, key="refund:1")
    assert (result.recovered, result.shortfall) == (30, 70)
    assert result.transfer.kind == "card_refund"
    assert balances(client_user) == (0, 70)
    replay = services.card_refund(topup=topup, credits=100, key="refund:1")
    assert (replay.transfer, replay.recovered) == (result.transfer, 30)
    with pytest.raises(IdempotencyConflict):
        services.card_refund(topup=topup, credits=99, key="refund:1")
    assert_ledger_clean()


def test_chargeback_and_its_reversal(client_user, fund):
    topup = fund(client_user, 100)
    result = services.card_refund(topup=topup, credits=100, key="cb:1", kind=Transfer.Kind.CHARGEBACK)
    assert result.transfer.kind == "chargeback" and balances(client_user) == (0, 0)
    back = services.chargeback_reverse(topup=topup, credits=100, key="cb:1:won")
    assert back.kind == "chargeback_reversal" and balances(client_user) == (100, 0)
    with pytest.raises(ApplicationError):
        services.chargeback_reverse(topup=topup, credits=0, key="cb:1:zero")
    assert_ledger_clean()


# --- adjustments -------------------------------------------------------------------------


def test_adjustment_in_both_directions_with_a_reason(client_user, fund):
    staff = make_staff()
    fund(client_user, 10)
    up = services.adjustment_post(
        user=client_user, amount=25, reason_code="goodwill", actor=staff, key="adj:1", memo="sorry"
    )
    assert (up.kind, up.debit_account.kind, up.credit_account.kind) == ("adjustment", "revenue", "available")
    down = services.adjustment_post(
        user=client_user, amount=-5, reason_code="correction", actor=staff, key="adj:2", memo="typo"
    )
    assert down.debit_account.kind == "available" and down.amount == 5
    assert balances(client_user) == (30, 0)
    with pytest.raises(InsufficientCredits):
        services.adjustment_post(
            user=client_user, amount=-31, reason_code="clawback", actor=staff, key="adj:3", memo="too much"
        )
    with pytest.raises(ApplicationError):
        services.adjustment_post(user=client_user, amount=5, reason_code="whim", actor=staff, key="adj:4", memo="x")
    with pytest.raises(ApplicationError):
        services.adjustment_post(user=client_user, amount=5, reason_code="goodwill", actor=staff, key="adj:5", memo=" ")
    assert_ledger_clean()


# --- pricing and top-up start -------------------------------------------------------------


def test_pricing_active_and_mark_used():
    version = services.pricing_active()
    assert version.version == 1 and version.active
    services.pricing_mark_used(version=version)
    assert PricingVersion.objects.get(pk=version.pk).used


def test_pricing_activate_switches_the_single_active_version():
    v2 = PricingVersion.objects.create(version=2, credit_price_minor=80)
    services.pricing_activate(version=v2)
    assert services.pricing_active().pk == v2.pk
    assert PricingVersion.objects.filter(active=True).count() == 1


def test_topup_start_locally_creates_a_pending_topup_at_the_active_price(client_user):
    topup = services.topup_start(user=client_user, credits=500)
    assert (topup.status, topup.credits, topup.credit_price_minor, topup.amount_minor) == ("pending", 500, 100, 50000)
    assert topup.currency == "cny"
    assert topup.checkout_url == f"/wallet/test-checkout/{topup.pk}/"
    assert topup.stripe_session_id.startswith("cs_local_")
    assert PricingVersion.objects.get(active=True).used
    assert balances(client_user) == (0, 0)  # nothing credited before the webhook


@pytest.mark.parametrize("credits", [49, 100001, 0, -1, 12.5, "500", True, None])
def test_topup_start_refuses_amounts_out_of_bounds_or_not_whole(client_user, credits):
    with pytest.raises(ValidationFailed):
        services.topup_start(user=client_user, credits=credits)
    assert TopUp.objects.count() == 0


def test_topup_start_refused_when_the_switch_is_off(client_user):
    from waffle.models import Switch

    Switch.objects.filter(name="stripe_topups").update(active=False)
    with pytest.raises(services.TopUpsDisabled) as exc:
        services.topup_start(user=client_user, credits=100)
    assert "switched off" in str(exc.value.message)
    assert TopUp.objects.count() == 0


def test_client_accounts_are_created_once():
    user = make_client()
    first = services.client_accounts(user)
    assert services.client_accounts(user) == first
    assert Account.objects.filter(owner=user).count() == 2


def test_the_currency_of_new_pricing_versions_and_of_top_ups_follows_credits_currency(settings, client_user):
    """CREDITS_CURRENCY (cny by default) is the currency a new pricing version, and so its
    top-ups, are priced in."""
    from wallet.models import PricingVersion

    assert services.pricing_active().currency == "cny"
    settings.CREDITS_CURRENCY = "EUR"
    version = PricingVersion.objects.create(version=99)
    assert version.currency == "eur"
    services.pricing_activate(version=version)
    topup = services.topup_start(user=client_user, credits=100)
    assert topup.currency == "eur" and topup.amount_minor == 100 * version.credit_price_minor


def test_a_capture_key_reused_on_another_hold_is_a_conflict_not_a_crash(client_user, fund):
    from solosales.core.errors import IdempotencyConflict

    fund(client_user, 100)
    first = services.hold_place(user=client_user, amount=20, key="order:31:hold", order_id=31)
    second = services.hold_place(user=client_user, amount=30, key="order:32:hold", order_id=32)
    services.hold_capture(hold=first, amount=5, key="shared-settle-key")
    with pytest.raises(IdempotencyConflict):
        services.hold_capture(hold=second, amount=7, key="shared-settle-key")
    second.refresh_from_db()
    assert second.status == second.Status.OPEN and second.captured == 0
    assert services.client_accounts(client_user)[1].balance == 30
