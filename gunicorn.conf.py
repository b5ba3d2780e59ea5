"""gunicorn settings for SoloSales as deployed (README "Deploying beyond one machine").

``gunicorn solosales.wsgi`` run from the project directory reads this file by itself;
``-c gunicorn.conf.py`` names it explicitly. Command-line flags override it (``-w 2``).

Threaded workers (``gthread``): a request spends much of its time waiting — on PostgreSQL's
fsync at COMMIT (2–3 ms here), on other database round trips and on Redis. A sync worker
idles through every wait; with threads, a worker runs another request meanwhile, and
PostgreSQL flushes the WAL of concurrent commits together (group commit), so several
commits share one fsync. Threads also keep client connections alive between requests.
Django keeps one database connection per thread (``CONN_MAX_AGE``), so a host opens at
most workers × threads connections: size PostgreSQL's ``max_connections`` (or a pooler)
for every host.

Environment: ``WEB_CONCURRENCY`` (worker processes, default 2 × cores + 1) and
``GUNICORN_THREADS`` (threads per worker, default 4).
"""

import multiprocessing
import os

wsgi_app = "solosales.wsgi"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Keep-alive between requests of one client (a proxy or an API client) for this long.
keepalive = 5
timeout = 60
graceful_timeout = 30
