"""Django's PostgreSQL backend (psycopg 3) with a health check that costs no round trip.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before its first use in
each request; the stock check sends ``SELECT 1``, one more round trip per request (under
load about a third of a webhook's time went there). A connection that PostgreSQL closed —
a restart, ``pg_terminate_backend``, a crash — has something to read while it should be
idle: the server's FATAL message, or end-of-file. So a connection is usable, without asking
the server, when psycopg has not marked it broken, no transaction is open on it, and its
socket has nothing to read (a zero-timeout poll). Anything else — data waiting (this app
never LISTENs), an open or failed transaction, an unknown state — gets the stock check.
A server that vanished without closing the socket is found by the first query, as before.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
            events = poller.poll(0)
        except (OSError, ValueError):
            return False
        if not events:
            return True
        return super().is_usable()
