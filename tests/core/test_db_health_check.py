"""The PostgreSQL health check without a round trip (solosales.core.db.postgresql)."""

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.postgresql import base as stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _other_connection():
    params = connection.get_connection_params()
    return psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if k != "cursor_factory"})


def test_the_project_uses_the_backend():
    assert settings.DATABASES["default"]["ENGINE"] == "solosales.core.db.postgresql"
    assert connection.vendor == "postgresql" and connection.settings_dict["CONN_HEALTH_CHECKS"]


def test_an_idle_healthy_connection_is_usable_without_a_query(monkeypatch):
    connection.ensure_connection()
    monkeypatch.setattr(stock.DatabaseWrapper, "is_usable", lambda self: pytest.fail("asked the server"))
    assert connection.is_usable()


def test_a_connection_the_server_terminated_is_not_usable():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with _other_connection() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()[0]
    assert not connection.is_usable()
    # and Django's per-request check replaces it
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_inside_a_transaction_the_stock_check_runs(monkeypatch):
    asked = []
    monkeypatch.setattr(stock.DatabaseWrapper, "is_usable", lambda self: asked.append(1) or True)
    connection.ensure_connection()
    connection.connection.execute("BEGIN")
    try:
        assert connection.is_usable() and asked == [1]
    finally:
        connection.connection.execute("ROLLBACK")


def test_a_closed_or_broken_connection_is_not_usable():
    connection.ensure_connection()
    connection.connection.close()
    assert not connection.is_usable()
    connection.close()
