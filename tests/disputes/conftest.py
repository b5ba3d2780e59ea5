import pytest

from tests.disputes.helpers import delivered_leads, delivered_order
from tests.factories import make_staff


@pytest.fixture(autouse=True)
def _group_permissions(request):
    """Group permissions as after a second ``migrate``: on a fresh database the core's
    post-migrate sync can run before this app's permissions exist."""
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from solosales.core.groups import sync_group_permissions

        request.getfixturevalue("db")
        sync_group_permissions()


@pytest.fixture
def order(client_user):
    return delivered_order(client_user, leads=4, unit_price=5)


@pytest.fixture
def leads(order):
    return delivered_leads(order)


@pytest.fixture
def second_staff(db):
    return make_staff(groups=("ops_arbitration",))


@pytest.fixture
def qa_staff(db):
    return make_staff(groups=("ops_qa",))


@pytest.fixture
def open_dispute(client_user, order, leads):
    from disputes.services import dispute_open

    return dispute_open(
        user=client_user,
        order=order,
        items=[
            {"lead": leads[0], "reason": "invalid_email", "note": "bounced"},
            {"lead": leads[1], "reason": "wrong_person", "note": ""},
            {"lead": leads[2], "reason": "left_company", "note": ""},
        ],
        statement="Three of these contacts are wrong.",
    )


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Real commits, for races between threads with their own connections.

    Not ``transaction=True``: its TRUNCATE flush is refused by wallet_transfer's trigger and
    would also wipe the migration-seeded rows (pricing, rules, platform accounts, groups)
    that a reused test database relies on. Instead every row added during the test is
    deleted afterwards (user triggers skipped for that cleanup only) and the balances of
    pre-existing ledger accounts are put back.
    """
    from django.apps import apps
    from django.db import DatabaseError, connection

    with django_db_blocker.unblock():
        marks = {}
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.pk.get_internal_type() not in ("AutoField", "BigAutoField"):
                continue
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f'SELECT COALESCE(MAX("{meta.pk.column}"), 0) FROM "{meta.db_table}"')
                    marks[(meta.db_table, meta.pk.column)] = cursor.fetchone()[0]
            except DatabaseError:  # a model whose app has no migration yet
                continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, balance FROM wallet_account")
            balances = cursor.fetchall()
        try:
            yield
        finally:
            connection.close()  # a thread-free, clean session for the cleanup
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
                try:
                    for (table, column), mark in marks.items():
                        cursor.execute(f'DELETE FROM "{table}" WHERE "{column}" > %s', [mark])
                    for pk, balance in balances:
                        cursor.execute("UPDATE wallet_account SET balance = %s WHERE id = %s", [balance, pk])
                finally:
                    cursor.execute("SET session_replication_role = origin")


@pytest.fixture
def api_client_for():
    from rest_framework.test import APIClient

    def _make(user):
        api = APIClient()
        api.force_authenticate(user)
        return api

    return _make
