"""Database helpers shared by the apps (the PostgreSQL backend is in ``postgresql/``)."""

from contextlib import contextmanager

from django.conf import settings

# psycopg prepares a statement after this many executions; Django leaves the threshold unset,
# which turns preparing off altogether (even ``prepare=True``). Set this high, only the
# statements executed with ``prepare=True`` are prepared, and Django's own cursors never
# are (client-side binding: psycopg does not prepare them).
_ONLY_WHEN_ASKED = 2**31 - 1


@contextmanager
def server_cursor(connection):
    """A psycopg cursor with server-side binding on Django's ``connection``, for the few
    statements sent as written, one round trip each (the webhook's store, the one-statement
    placement): ``cursor.execute(sql, params, prepare=True)`` is parsed and planned once per
    connection, then sent as a name and its parameters.

    With ``DATABASE_PREPARED_STATEMENTS`` off (behind a transaction-mode connection pooler
    that does not track prepared statements) nothing is prepared and each statement is
    parsed and planned every time. Errors are raised as Django's."""
    connection.close_if_health_check_failed()  # as Django's own cursor() does first
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None and settings.DATABASE_PREPARED_STATEMENTS:
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    with connection.wrap_database_errors:
        import psycopg

        with psycopg.Cursor(raw) as cursor:
            yield cursor
