"""The cache: Redis, shared by every process, and never the reason a page fails.

What the cache holds here is counters and memoised lookups: allauth's failed-login limits,
DRF's API throttle, waffle's switches. Kept per process (LocMemCache), each gunicorn worker
counted failed logins on its own, so five workers allowed five times the attempts. In Redis
they are counted once for all workers and hosts. When Redis does not answer, the cache
behaves as empty (a miss, a write that did not happen; ``add`` as if it stored) and logs it,
at most once a minute: pages, logins and the API keep working on their database reads, as
they do for the job queues (README "Reliability"), and the rate limits fail open until Redis
is back. Short socket timeouts keep an unreachable Redis from holding
requests up.
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
_last_warning = [0.0]


def _unavailable(operation: str, exc: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning[0] > 60:
        _last_warning[0] = now
        log.warning("cache %s failed, treated as a miss (Redis: %s)", operation, exc)


class ResilientRedisCache(RedisCache):
    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except RedisError as exc:
            _unavailable("get", exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except RedisError as exc:
            _unavailable("get_many", exc)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except RedisError as exc:
            _unavailable("has_key", exc)
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except RedisError as exc:
            _unavailable("add", exc)
            return True  # as if absent and stored: a lock (allauth's rate limit) is taken, not waited for

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set(key, value, timeout, version)
        except RedisError as exc:
            _unavailable("set", exc)
            return None

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except RedisError as exc:
            _unavailable("set_many", exc)
            return list(data)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except RedisError as exc:
            _unavailable("touch", exc)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except RedisError as exc:
            _unavailable("delete", exc)
            return False

    def delete_many(self, keys, version=None):
        try:
            return super().delete_many(keys, version)
        except RedisError as exc:
            _unavailable("delete_many", exc)
            return None

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except RedisError as exc:
            _unavailable("incr", exc)
            raise ValueError(f"Key '{key}' not found (cache unavailable)") from exc

    def clear(self):
        try:
            return super().clear()
        except RedisError as exc:
            _unavailable("clear", exc)
            return False
