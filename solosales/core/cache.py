"""The cache: Redis, shared by every process, and never the reason a page fails.

What the cache holds here is counters and memoised lookups: allauth's failed-login limits,
DRF's API throttle, waffle's switches. Kept per process (LocMemCache), each gunicorn worker
counted failed logins on its own, so five workers allowed five times the attempts. In Redis
they are counted once for all workers and hosts. When Redis does not answer, the cache
behaves as empty (a miss, a write that did not happen; ``add`` as if it stored) and logs it,
at most once a minute: pages, logins and the API keep working on their database reads, as
they do for the job queues (README "Reliability"), and the rate limits fail open until Redis
is back. Short socket timeouts keep an unreachable Redis from holding requests up.
"""

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
_last_warning = [0.0]


def _unavailable(operation: str, exc: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning[0] > 60:
        _last_warning[0] = now
        log.warning("cache %s failed, treated as a miss (Redis: %s)", operation, exc)


def _or_miss(method, answer):
    """``method`` of the Redis cache; when Redis fails, ``answer`` (called with the same
    arguments) is returned instead and the failure logged."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except RedisError as exc:
            _unavailable(method.__name__, exc)
            return answer(*args, **kwargs)

    return wrapper


def _not_found(key, *args, **kwargs):
    raise ValueError(f"Key '{key}' not found (cache unavailable)")


class ResilientRedisCache(RedisCache):
    get = _or_miss(RedisCache.get, lambda key, default=None, version=None: default)
    get_many = _or_miss(RedisCache.get_many, lambda *args, **kwargs: {})
    has_key = _or_miss(RedisCache.has_key, lambda *args, **kwargs: False)
    # As if absent and stored: a lock (allauth's rate limit) is taken, not waited for.
    add = _or_miss(RedisCache.add, lambda *args, **kwargs: True)
    set = _or_miss(RedisCache.set, lambda *args, **kwargs: None)
    set_many = _or_miss(RedisCache.set_many, lambda data, *args, **kwargs: list(data))  # every key failed
    touch = _or_miss(RedisCache.touch, lambda *args, **kwargs: False)
    delete = _or_miss(RedisCache.delete, lambda *args, **kwargs: False)
    delete_many = _or_miss(RedisCache.delete_many, lambda *args, **kwargs: None)
    incr = _or_miss(RedisCache.incr, _not_found)  # as for a missing key (decr goes through incr)
    clear = _or_miss(RedisCache.clear, lambda *args, **kwargs: False)
