"""Enqueueing jobs only after the surrounding transaction commits.

Every job is enqueued through these helpers. With ``JOBS_INLINE`` (no Redis) the job runs
in-process right after commit, so the demo and the SQLite test fallback still work.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


_queues: dict[tuple, object] = {}
_queues_lock = threading.Lock()


def get_queue(name: str = "default"):
    """The RQ queue ``name``, one per process and queue configuration.

    ``django_rq.get_queue`` builds a new Redis client (and so a new TCP connection and
    handshake) on every call; an enqueue per request paid for that each time. The queue and
    its connection pool are kept per process (keyed by pid: a forked child never shares its
    parent's sockets) and per connection settings (a changed URL gets a new client). The
    redis-py pool is thread-safe and reconnects by itself after Redis restarts.
    """
    import os

    import django_rq
    import django_rq.settings

    config = django_rq.settings.QUEUES[name]
    key = (os.getpid(), name, repr(sorted(config.items())))
    queue = _queues.get(key)
    if queue is None:
        with _queues_lock:
            queue = _queues.get(key)
            if queue is None:
                queue = _queues[key] = django_rq.get_queue(name)
    return queue


def _run_inline(func, args, kwargs):
    try:
        func(*args, **kwargs)
    except Exception:  # a failed inline job must not break the request that queued it
        log.exception("inline job %s failed", getattr(func, "__name__", func))


def enqueue_now(func, *args, queue: str = "default", job_id: str | None = None, **kwargs):
    """Enqueue immediately, whether or not a transaction is open (rollback-unsafe)."""
    if settings.JOBS_INLINE:
        _run_inline(func, args, kwargs)
        return None
    q = get_queue(queue)
    return q.enqueue(func, *args, job_id=job_id, kwargs=kwargs) if job_id else q.enqueue(func, *args, **kwargs)


def enqueue_on_commit(func, *args, queue: str = "default", job_id: str | None = None, **kwargs):
    """Enqueue ``func(*args, **kwargs)`` on ``queue`` once the current transaction commits."""
    transaction.on_commit(lambda: _safe_enqueue(func, args, kwargs, queue, job_id))


def _safe_enqueue(func, args, kwargs, queue, job_id):
    try:
        enqueue_now(func, *args, queue=queue, job_id=job_id, **kwargs)
    except Exception:
        # Redis down after commit: the durable checkpoint stays; the sweeper re-enqueues it.
        log.exception("enqueue of %s failed; the sweeper will recover it", getattr(func, "__name__", func))


def enqueue_debounced_on_commit(func, *args, key: str, queue: str = "default", ttl: int = 60, **kwargs):
    """Enqueue ``func(*args, **kwargs)`` once per burst, after the current transaction commits.

    For a job that drains durable state (e.g. every pending row), not for a job about one
    row. After commit, ``SET <key> NX EX ttl`` in Redis: only the caller that sets the flag
    enqueues; while it is set, later callers enqueue nothing. The job must call
    ``debounce_release(key)`` *before* it reads the state it drains: a caller that committed
    before the release finds the flag set and is covered by that read; one that commits
    after it sets the flag again and enqueues the next run.

    A process that saw the flag set less than ``DEBOUNCE_LOCAL_WINDOW`` seconds ago (it set
    it, or found it set) does not ask Redis again: during a burst most callers make no round
    trip at all. A caller skipped so committed before ``seen + window``, and the flag it saw
    belongs to a job that had not released it at ``seen``; that job ends with
    ``debounce_linger``: it waits the window (and a margin) after its release and drains once
    more, so it reads after every such commit. So every committed row is drained by a run
    that reads after it committed. A lost job leaves the flag for at most ``ttl`` seconds;
    the durable state stays, and the sweeper that finds stuck rows recovers them as for a
    lost enqueue. Inline mode runs ``func`` right after commit.
    """
    transaction.on_commit(lambda: _safe_enqueue_debounced(func, args, kwargs, queue, key, ttl))


def _debounce_flag(key: str) -> str:
    return f"solosales:debounce:{key}"


# key -> monotonic time (this process) just before a SET that found the flag set or set it.
_flag_seen: dict[str, float] = {}
# Redis round trips of the release, and clock rates, are covered by this much more linger.
_LINGER_MARGIN = 0.1


def _local_window() -> float:
    return float(getattr(settings, "DEBOUNCE_LOCAL_WINDOW", 0.2))


def _safe_enqueue_debounced(func, args, kwargs, queue, key, ttl):
    if settings.JOBS_INLINE:
        _run_inline(func, args, kwargs)
        return
    asked = time.monotonic()
    if asked - _flag_seen.get(key, float("-inf")) < _local_window():
        return  # the flag was set a moment ago; its job drains this commit (see above)
    try:
        q = get_queue(queue)
        if q.connection.set(_debounce_flag(key), "1", nx=True, ex=ttl):
            q.enqueue(func, *args, **kwargs)
        _flag_seen[key] = asked
    except Exception:
        log.exception("enqueue of %s failed; the sweeper will recover it", getattr(func, "__name__", func))


def debounce_release(key: str, *, queue: str = "default") -> float:
    """Clears the flag of ``enqueue_debounced_on_commit(key=...)``: call it first in the job,
    before reading what it drains, so work committed from now on enqueues a new run. Returns
    the monotonic time just before the release (for ``debounce_linger``)."""
    released = time.monotonic()
    if not settings.JOBS_INLINE:
        get_queue(queue).connection.delete(_debounce_flag(key))
    return released


def debounce_linger(released: float) -> bool:
    """Waits until the local window (and a margin) has passed since ``released``; True when
    the job must drain once more then (False: no window, nothing to wait for)."""
    window = _local_window()
    if settings.JOBS_INLINE or window <= 0:
        return False
    remaining = released + window + _LINGER_MARGIN - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    return True


def schedule_on_commit(func, *args, delay: timedelta, queue: str = "default", **kwargs):
    """Run ``func`` after ``delay``, scheduled once the transaction commits.

    RQ's ``enqueue_in`` is not deferred to commit (django-rq issue 821), so it is called from
    an on-commit callback. Inline mode uses a timer thread.
    """

    def _schedule():
        try:
            if settings.JOBS_INLINE:
                t = threading.Timer(delay.total_seconds(), _run_inline, args=(func, args, kwargs))
                t.daemon = True
                t.start()
            else:
                get_queue(queue).enqueue_in(delay, func, *args, **kwargs)
        except Exception:
            log.exception("scheduling of %s failed; the sweeper will recover it", getattr(func, "__name__", func))

    transaction.on_commit(_schedule)
