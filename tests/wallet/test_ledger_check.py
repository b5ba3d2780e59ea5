import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from wallet import services
from wallet.models import Hold, Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_ledger(client_user, other_client, fund):
    fund(client_user, 300)
    fund(other_client, 50)
    hold = services.hold_place(user=client_user, amount=100, key="order:1:hold", order_id=1)
    services.hold_capture(hold=hold, amount=60, key="order:1:qa1")
    services.dispute_refund(user=client_user, amount=10, order_id=1, dispute_id=1, key="dispute:1")
    services.hold_place(user=other_client, amount=20, key="order:2:hold", order_id=2)
    return client_user


def test_ledger_check_is_clean_on_a_busy_ledger(busy_ledger, capsys):
    call_command("ledger_check")
    out = capsys.readouterr().out
    assert "8 invariants" in out and "all invariants hold" in out


def _corrupt(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks, or ALTER TABLE refuses
        cursor.execute("ALTER TABLE wallet_transfer DISABLE TRIGGER USER")
        cursor.execute(sql, params)


def _violations(capsys):
    with pytest.raises(SystemExit) as exc:
        call_command("ledger_check")
    assert exc.value.code == 1
    return capsys.readouterr().err


@pytest.mark.postgres
def test_an_edited_transfer_is_named(busy_ledger, capsys):
    # The test's transaction rolls the ALTER TABLE back with everything else.
    _corrupt("UPDATE wallet_transfer SET amount = amount + 7 WHERE kind = 'topup' AND user_id = %s", [busy_ledger.pk])
    err = _violations(capsys)
    assert "invariant 3: stored balance differs" in err
    assert "invariant 4: transfers are not protected against UPDATE, DELETE, TRUNCATE" in err
    assert "invariant 6: top-ups not credited exactly once" in err


@pytest.mark.postgres
def test_a_deleted_capture_is_named(busy_ledger, capsys):
    _corrupt("DELETE FROM wallet_transfer WHERE kind = 'capture'")
    err = _violations(capsys)
    assert "invariant 5: holds not resolved exactly once" in err
    assert "invariant 7: dispute refunds exceed captures: order 1 (refunded 10 > captured 0)" in err
    assert "invariant 2" not in err  # balances still sum to zero; only the history is wrong


def test_broken_balances_and_open_holds_are_named(busy_ledger, capsys):
    from wallet.models import Account

    Account.objects.filter(owner=busy_ledger, kind="held").update(balance=5)
    err = _violations(capsys)
    assert "invariant 2: account balances sum to 5, not 0" in err
    assert "invariant 3" in err and "invariant 5: held balance differs" in err


def test_an_open_hold_on_a_terminal_order_is_named(busy_ledger, capsys):
    # Tests may use the higher layer; the check itself reads orders_order with raw SQL only.
    from orders.models import Order, RulesVersion

    hold = Hold.objects.get(order_id=2)
    order = Order.objects.create(
        user=hold.user,
        target_count=20,
        pricing_version=services.pricing_active(),
        rules_version=RulesVersion.objects.get(active=True),
        unit_price=1,
        hold=hold,
        idempotency_key="ledger-check-test",
    )
    Hold.objects.filter(pk=hold.pk).update(order_id=order.pk)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orders_order SET status = 'cancelled' WHERE id = %s", [order.pk])
    err = _violations(capsys)
    assert f"open holds on orders in a terminal state: hold {hold.pk} (order {order.pk} cancelled)" in err


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql", ["UPDATE wallet_transfer SET memo = 'x'", "DELETE FROM wallet_transfer", "TRUNCATE wallet_transfer CASCADE"]
)
def test_the_trigger_refuses_update_delete_and_truncate(busy_ledger, sql):
    before = Transfer.objects.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # else TRUNCATE stops at pending FK checks first
        cursor.execute(sql)
    assert Transfer.objects.count() == before


@pytest.mark.postgres
def test_the_orm_cannot_edit_or_delete_a_transfer(busy_ledger):
    transfer = Transfer.objects.first()
    transfer.amount = 1
    with pytest.raises(DatabaseError), transaction.atomic():
        transfer.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        Transfer.objects.filter(pk=transfer.pk).delete()
