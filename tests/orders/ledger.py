"""Ledger invariants the order tests assert after each money movement."""

from django.core.management import call_command
from django.db.models import Sum

from orders.models import TERMINAL_STATUSES, Order
from wallet.models import Account, Hold, Transfer


def assert_ledger_clean():
    assert (Account.objects.aggregate(s=Sum("balance"))["s"] or 0) == 0
    for account in Account.objects.all():
        credits = Transfer.objects.filter(credit_account=account).aggregate(s=Sum("amount"))["s"] or 0
        debits = Transfer.objects.filter(debit_account=account).aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == credits - debits, account
        if account.owner_id is not None:
            assert account.balance >= 0
    for hold in Hold.objects.filter(status=Hold.Status.RESOLVED):
        assert hold.captured + hold.released == hold.amount
    for order in Order.objects.filter(status__in=TERMINAL_STATUSES).select_related("hold"):
        assert order.hold is None or order.hold.status == Hold.Status.RESOLVED, order
    call_command("ledger_check")
