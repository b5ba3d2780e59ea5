"""solosales.core.db.server_cursor: statements sent with prepare=True are prepared once per
connection (Django turns psycopg's preparing off), errors are Django's, and the setting
turns preparing off again."""

import pytest
from django.db import IntegrityError, connection

from solosales.core.db import server_cursor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STATEMENT = "SELECT %s::int + 1 AS solosales_server_cursor_probe"


def prepared() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%%solosales_server_cursor_probe%%'"
        )
        return cursor.fetchall()


def test_a_statement_asked_to_be_prepared_is_prepared_once_and_reused():
    connection.close()  # a fresh connection: nothing prepared on it yet
    for n in range(4):
        with server_cursor(connection) as cursor:
            cursor.execute(STATEMENT, [n], prepare=True)
            assert cursor.fetchone() == (n + 1,)
    assert prepared() == [(4,)]
    # Django's own cursors stay unprepared (client-side binding), however often they run.
    with connection.cursor() as cursor:
        for _ in range(10):
            cursor.execute("SELECT 1 AS solosales_server_cursor_django")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%cursor_django%%'")
        assert cursor.fetchone() == (0,)


def test_with_prepared_statements_off_nothing_is_prepared(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    connection.close()
    for n in range(3):
        with server_cursor(connection) as cursor:
            cursor.execute(STATEMENT, [n], prepare=True)
            assert cursor.fetchone() == (n + 1,)
    assert prepared() == []


def test_errors_are_djangos():
    with pytest.raises(IntegrityError), server_cursor(connection) as cursor:
        cursor.execute("INSERT INTO wallet_account (owner_id, kind, balance, created_at) VALUES (NULL, NULL, 0, now())")
