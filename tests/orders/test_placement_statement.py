"""The one-statement placement (orders/placement.py) against its reference, the Python path.

Transactional tests on PostgreSQL: the statement runs only outside a transaction (it commits
on its own). Each test starts with no versions remembered, so its first placement goes
through the Python path and the next ones through the statement; a spy on
``placement.place`` says which path placed what."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from rest_framework.test import APIClient

from orders import placement
from orders import services as order_services
from orders.models import Order, OrderTransition, PipelineStep
from orders.selectors_client import orders_for_client_with_timeline
from orders.serializers import OrderSerializer
from orders.services import order_place, order_place_result
from solosales.accounts.services import api_token_create
from solosales.core.errors import IdempotencyConflict, InsufficientCredits, ValidationFailed
from tests.factories import make_client
from tests.orders.conftest import BODY, balances, fund
from tests.orders.ledger import assert_ledger_clean
from wallet import services as wallet
from wallet.models import Account, Hold, PricingVersion, Transfer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def statement_calls(monkeypatch):
    """No versions remembered; every call of the statement and its answer, recorded."""
    order_services._last_versions.clear()
    calls = []
    real = placement.place

    def spy(**kwargs):
        result = real(**kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(placement, "place", spy)
    yield calls
    order_services._last_versions.clear()


def cost(body=BODY) -> int:
    return body["target_count"] * wallet.pricing_active().list_lead_price


def rows(model, exclude, **filters) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in exclude} for row in model.objects.filter(**filters).values()]


def test_the_statement_writes_what_the_python_path_writes(statement_calls):
    user = make_client()
    fund(user, 1000)
    first = order_place(user=user, data=BODY, idempotency_key="python")
    assert statement_calls == []  # no versions seen yet: the Python path
    second = order_place(user=user, data=BODY, idempotency_key="statement")
    assert len(statement_calls) == 1 and not isinstance(statement_calls[0], placement.NotPlaced)
    assert second.pk != first.pk

    stamps = {"id", "created_at", "updated_at", "status_changed_at", "idempotency_key", "hold_id", "order_id"}
    # The order row, column for column.
    assert rows(Order, stamps, pk=first.pk) == rows(Order, stamps, pk=second.pk)
    assert Order.objects.get(pk=second.pk).hold_id == Hold.objects.get(order_id=second.pk).pk
    # Its history row: the same, but it names the hold (the Python path sets the hold after
    # the history row is written, by an UPDATE that writes no history).
    history = Order.history.model
    hist_stamps = stamps | {"history_id", "history_date"}
    assert rows(history, hist_stamps, id=first.pk) == rows(history, hist_stamps, id=second.pk)
    assert history.objects.get(id=first.pk).hold_id is None
    assert history.objects.get(id=second.pk).hold_id == second.hold.pk
    # The hold and its transfer.
    assert rows(Hold, stamps, order_id=first.pk) == rows(Hold, stamps, order_id=second.pk)
    assert Hold.objects.get(order_id=second.pk).idempotency_key == f"order:{second.pk}:hold"
    transfer_stamps = stamps | {"params_hash", "memo", "debit_balance_after", "credit_balance_after"}
    assert rows(Transfer, transfer_stamps | {"hold_id"}, order_id=first.pk) == rows(
        Transfer, transfer_stamps | {"hold_id"}, order_id=second.pk
    )
    t1, t2 = Transfer.objects.get(order_id=first.pk), Transfer.objects.get(order_id=second.pk)
    assert t2.idempotency_key == f"order:{second.pk}:hold:hold" and t2.memo == f"order #{second.pk}"
    assert t2.params_hash == wallet._params_hash({"op": "hold", "user": user.pk, "amount": cost(), "order": second.pk})
    assert t1.params_hash == wallet._params_hash({"op": "hold", "user": user.pk, "amount": cost(), "order": first.pk})
    assert (t2.debit_balance_after, t2.credit_balance_after) == (1000 - 2 * cost(), 2 * cost())
    assert t2.hold_id == second.hold.pk
    # The timeline entry and the build step.
    assert rows(OrderTransition, stamps, order_id=first.pk) == rows(OrderTransition, stamps, order_id=second.pk)
    assert rows(PipelineStep, stamps, order_id=first.pk) == rows(PipelineStep, stamps, order_id=second.pk)
    assert balances(user) == (1000 - 2 * cost(), 2 * cost())
    assert_ledger_clean()

    # The order handed back, without reading it, is the order as stored.
    stored = orders_for_client_with_timeline(user=user).get(pk=second.pk)
    assert OrderSerializer(second).data == OrderSerializer(stored).data


def test_the_build_job_is_enqueued_for_a_statement_placement(statement_calls, run_jobs):
    import django_rq

    user = make_client()
    fund(user, 1000)
    order_place(user=user, data=BODY, idempotency_key="python")
    queue = django_rq.get_queue("providers")
    before = queue.count
    order = order_place(user=user, data=BODY, idempotency_key="statement")
    assert len(statement_calls) == 1
    assert queue.count == before + 1
    step = PipelineStep.objects.get(order=order, name=PipelineStep.Name.BUILD)
    job = queue.jobs[-1]
    assert job.func_name == "orders.jobs.run_step" and job.args == (step.pk,)


def test_credits_that_do_not_suffice_are_refused_by_the_statement_writing_nothing(statement_calls):
    user = make_client()
    fund(user, cost() + 5)
    order_place(user=user, data=BODY, idempotency_key="python")

    def counts():
        return [model.objects.count() for model in (Order, Hold, Transfer, PipelineStep)]

    before = counts()
    with pytest.raises(InsufficientCredits) as refused:
        order_place(user=user, data=BODY, idempotency_key="statement")
    assert statement_calls == [placement.NotPlaced("credits", available=5)]
    assert refused.value.extra == {"shortfall": cost() - 5, "available": 5, "required": cost()}
    assert str(refused.value) == str(wallet.insufficient_credits(available=5, required=cost()))
    assert counts() == before
    assert balances(user) == (5, cost())
    assert_ledger_clean()


def test_a_client_without_accounts_is_left_to_the_python_path(statement_calls):
    funded = make_client()
    fund(funded, 1000)
    order_place(user=funded, data=BODY, idempotency_key="warm")
    newcomer = make_client(email="new@example.com")
    assert not Account.objects.filter(owner=newcomer).exists()
    with pytest.raises(InsufficientCredits) as refused:
        order_place(user=newcomer, data=BODY, idempotency_key="first")
    assert statement_calls == [placement.NotPlaced("accounts")]
    assert refused.value.extra["available"] == 0
    # The Python path created the accounts to refuse the hold, inside the placement's own
    # transaction: refused, nothing is left behind.
    assert not Account.objects.filter(owner=newcomer).exists()
    assert not Order.objects.filter(user=newcomer).exists()


def test_replays_through_the_statement_answer_the_first_order(statement_calls):
    user = make_client()
    fund(user, 1000)
    first = order_place(user=user, data=BODY, idempotency_key="k1")  # Python path
    second = order_place(user=user, data=BODY, idempotency_key="k2")  # the statement
    for key, order in (("k1", first), ("k2", second)):
        replayed, created = order_place_result(user=user, data=BODY, idempotency_key=key)
        assert (replayed.pk, created) == (order.pk, False)
        with pytest.raises(IdempotencyConflict):
            order_place(user=user, data={**BODY, "target_count": 60}, idempotency_key=key)
    assert Order.objects.filter(user=user).count() == 2
    assert Hold.objects.count() == 2 and balances(user) == (1000 - 2 * cost(), 2 * cost())
    assert_ledger_clean()


def test_a_newly_activated_pricing_version_is_used_at_once(statement_calls):
    user = make_client()
    fund(user, 5000)
    old = wallet.pricing_active()
    order_place(user=user, data=BODY, idempotency_key="old")
    new = PricingVersion.objects.create(
        version=old.version + 1,
        list_lead_price=old.list_lead_price * 3,
        mql_lead_price=old.mql_lead_price,
        credit_price_minor=old.credit_price_minor,
        currency=old.currency,
        min_order_size=old.min_order_size,
        max_order_size=old.max_order_size,
    )
    wallet.pricing_activate(version=new)
    placed = order_place(user=user, data=BODY, idempotency_key="new")
    assert statement_calls == [placement.NotPlaced("versions")]  # then the Python path
    assert (placed.pricing_version_id, placed.unit_price) == (new.pk, new.list_lead_price)
    again = order_place(user=user, data=BODY, idempotency_key="again")
    assert len(statement_calls) == 2 and not isinstance(statement_calls[1], placement.NotPlaced)
    assert (again.pricing_version_id, again.unit_price) == (new.pk, new.list_lead_price)
    assert Order.objects.get(pk=again.pk).unit_price == new.list_lead_price
    assert PricingVersion.objects.get(pk=new.pk).used is True
    assert_ledger_clean()


def test_a_body_invalid_against_the_remembered_pricing_is_judged_by_the_python_path(statement_calls):
    user = make_client()
    fund(user, 1000)
    order_place(user=user, data=BODY, idempotency_key="warm")
    with pytest.raises(ValidationFailed):
        order_place(user=user, data={**BODY, "target_count": 0}, idempotency_key="bad")
    assert statement_calls == []
    assert Order.objects.count() == 1


def test_inside_a_callers_transaction_the_python_path_places(statement_calls):
    user = make_client()
    fund(user, 1000)
    order_place(user=user, data=BODY, idempotency_key="warm")
    with transaction.atomic():
        order = order_place(user=user, data=BODY, idempotency_key="inner", in_transaction=True)
    assert statement_calls == [] and Order.objects.filter(pk=order.pk).exists()


def test_the_api_answers_alike_on_both_paths(statement_calls):
    user = make_client()
    fund(user, cost() * 2 + 3)
    _token, key = api_token_create(user=user, name="t")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    answers = [api.post("/api/v1/orders/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=f"a{i}") for i in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 400]
    assert len(statement_calls) == 2
    one, two = answers[0].json(), answers[1].json()
    differs = {"id", "timeline", "created_at"}
    assert {k: v for k, v in one.items() if k not in differs} == {k: v for k, v in two.items() if k not in differs}
    entries = [[(e["status"], e["reason"]) for e in answer["timeline"]] for answer in (one, two)]
    assert entries[0] == entries[1] == [("queued", "Order placed")]
    assert answers[2].json()["error"]["code"] == "insufficient_credits"
    assert answers[2].json()["error"]["detail"]["shortfall"] == cost() - 3
    replay = api.post("/api/v1/orders/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert replay.status_code == 200 and replay.json()["id"] == two["id"]


def test_concurrent_statement_placements_on_one_wallet_never_overdraw(statement_calls, capsys):
    """12 threads race for one wallet funded for 5 orders (and 4 others place on their own
    wallets), all through the statement: exactly 5 placed there, the rest refused for
    credits, no other error."""
    shared = make_client(email="shared@example.com")
    others = [make_client(email=f"o{i}@example.com") for i in range(4)]
    fund(shared, cost() * 6)
    for user in others:
        fund(user, cost())
    order_place(user=shared, data=BODY, idempotency_key="warm")  # remembers the versions
    users = [shared] * 12 + others
    barrier = threading.Barrier(len(users))
    results = [None] * len(users)

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results[i] = order_place(user=users[i], data=BODY, idempotency_key=f"race-{i}")
        except Exception as exc:  # collected and asserted on below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientCredits)]
    assert not errors, errors
    assert sum(isinstance(r, Order) for r in results[:12]) == 5
    assert sum(isinstance(r, InsufficientCredits) for r in results[:12]) == 7
    assert all(isinstance(r, Order) for r in results[12:])
    assert len(statement_calls) == len(users)
    assert balances(shared) == (0, cost() * 6)
    assert_ledger_clean()
    call_command("ledger_check")
    assert "all invariants hold" in capsys.readouterr().out
