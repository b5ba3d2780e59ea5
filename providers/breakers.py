"""One circuit breaker per provider, its state shared by every worker through Redis.

Only ``TransientError`` counts as a failure: a bad key or a rate limit says nothing about
whether the provider is up. Without Redis (``JOBS_INLINE`` or Redis not answering) the
state lives in this process's memory.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pybreaker
from django.conf import settings

from .base import TransientError

log = logging.getLogger(__name__)

_lock = threading.Lock()
_breakers: dict[tuple, pybreaker.CircuitBreaker] = {}


_clients: dict[str, object] = {}


def redis_client():
    """A client for breaker state and rate limits, or None when Redis is not to be used.

    Bytes responses (no ``decode_responses``): pybreaker's Redis storage decodes itself.
    """
    if getattr(settings, "JOBS_INLINE", False):
        return None
    import redis

    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is not None:
        return client
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2.0)
    try:
        client.ping()
    except redis.RedisError:
        log.warning("Redis does not answer; provider breakers and rate limits are per process")
        return None
    _clients[url] = client
    return client


def _not_a_failure(exc: BaseException) -> bool:
    return not isinstance(exc, TransientError)


class _LogListener(pybreaker.CircuitBreakerListener):
    def state_change(self, cb, old_state, new_state):
        log.warning("provider breaker %s: %s -> %s", cb.name, getattr(old_state, "name", None), new_state.name)


def make_breaker(name: str, *, redis=None, fail_max: int | None = None, reset_timeout: float | None = None):
    """A new breaker for provider ``name`` (tests build two to show the state is shared)."""
    fail_max = fail_max if fail_max is not None else getattr(settings, "PROVIDER_BREAKER_FAIL_MAX", 5)
    reset_timeout = reset_timeout if reset_timeout is not None else getattr(settings, "PROVIDER_BREAKER_RESET", 60)
    if redis is not None:
        storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, redis, namespace=name)
    else:
        storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
    return pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        exclude=[_not_a_failure],
        state_storage=storage,
        name=name,
        listeners=[_LogListener()],
        # The call that trips the breaker raises its own TransientError (it did reach the
        # provider); only calls refused without a request raise CircuitBreakerError.
        throw_new_error_on_trip=False,
    )


def get_breaker(name: str) -> pybreaker.CircuitBreaker:
    """The process-wide breaker of provider ``name`` for the current settings."""
    signature = (
        name,
        None if getattr(settings, "JOBS_INLINE", False) else settings.REDIS_URL,
        getattr(settings, "PROVIDER_BREAKER_FAIL_MAX", 5),
        getattr(settings, "PROVIDER_BREAKER_RESET", 60),
    )
    with _lock:
        breaker = _breakers.get(signature)
        if breaker is None:
            breaker = _breakers[signature] = make_breaker(name, redis=redis_client())
        return breaker


def reset_breakers() -> None:
    """Forget the cached breakers (their shared state in Redis is untouched)."""
    with _lock:
        _breakers.clear()


def breaker_state_of(breaker: pybreaker.CircuitBreaker) -> str:
    state = breaker.current_state
    if state == pybreaker.STATE_OPEN:
        opened_at = breaker._state_storage.opened_at
        if opened_at and datetime.now(UTC) >= opened_at + timedelta(seconds=breaker.reset_timeout):
            return pybreaker.STATE_HALF_OPEN
    return state


def breaker_state(name: str) -> str:
    """ "closed", "open" or "half-open" (an open breaker past its reset timeout lets one trial call through)."""
    return breaker_state_of(get_breaker(name))
