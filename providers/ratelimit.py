"""A client-side rate limiter shared by every worker through Redis (fixed windows).

Two windows are checked together: per second (RocketReach's global 10 req/s) and per
minute (the plan's search limit). A full window answers with the wait instead of blocking:
waits under ``max_sleep`` are slept here, longer ones raise ``RateLimited`` so the caller
reschedules the step. Without Redis the windows are kept in this process.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .base import RateLimited

# KEYS: second window, minute window. ARGV: per-second limit, per-minute limit,
# ms elapsed in the current second, ms elapsed in the current minute. Returns ms to wait (0 = granted).
_LUA = """
local s = tonumber(redis.call('GET', KEYS[1]) or '0')
local m = tonumber(redis.call('GET', KEYS[2]) or '0')
if s >= tonumber(ARGV[1]) then return math.max(1, 1000 - tonumber(ARGV[3])) end
if m >= tonumber(ARGV[2]) then return math.max(1, 60000 - tonumber(ARGV[4])) end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 2)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 61)
return 0
"""


class _MemoryWindows:
    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def take(self, keys, per_second, per_minute, ms_in_second, ms_in_minute) -> int:
        with self._lock:
            if len(self._counts) > 1000:
                self._counts.clear()  # old windows; the current ones are refilled at once
            s = self._counts.get(keys[0], 0)
            m = self._counts.get(keys[1], 0)
            if s >= per_second:
                return max(1, 1000 - ms_in_second)
            if m >= per_minute:
                return max(1, 60000 - ms_in_minute)
            self._counts[keys[0]] = s + 1
            self._counts[keys[1]] = m + 1
            return 0

    def clear(self):
        with self._lock:
            self._counts.clear()


_memory = _MemoryWindows()


class RateLimiter:
    def __init__(
        self,
        name: str,
        *,
        per_second: int,
        per_minute: int,
        redis=None,
        clock=time.time,
        sleep=time.sleep,
        max_sleep: float = 1.0,
    ):
        self.name = name
        self.per_second = per_second
        self.per_minute = per_minute
        self.redis = redis
        self.clock = clock
        self.sleep = sleep
        self.max_sleep = max_sleep
        self._script = redis.register_script(_LUA) if redis is not None else None

    def try_acquire(self) -> float:
        """Take a slot if one is free: 0.0, else the seconds until the full window ends."""
        now = self.clock()
        second = int(now)
        minute = int(now // 60)
        ms_in_second = int((now - second) * 1000)
        ms_in_minute = int((now - minute * 60) * 1000)
        keys = [f"providers:rl:{self.name}:s:{second}", f"providers:rl:{self.name}:m:{minute}"]
        if self._script is not None:
            wait_ms = int(self._script(keys=keys, args=[self.per_second, self.per_minute, ms_in_second, ms_in_minute]))
        else:
            wait_ms = _memory.take(keys, self.per_second, self.per_minute, ms_in_second, ms_in_minute)
        return wait_ms / 1000.0

    def acquire(self) -> None:
        """Take a slot, sleeping through short waits; raise ``RateLimited`` for longer ones."""
        for _attempt in range(5):
            wait = self.try_acquire()
            if wait <= 0:
                return
            if wait > self.max_sleep:
                break
            self.sleep(wait)
        raise RateLimited(
            _("Our own request budget for this provider is used up for now."),
            retry_after=wait,
            provider=self.name,
        )


_DEFAULT_LIMITS = {"rocketreach": (10, 60), "hunter": (10, 500)}


_limiters: dict[tuple, RateLimiter] = {}


def get_limiter(name: str) -> RateLimiter:
    """The limiter of provider ``name``; limits from settings ``<NAME>_PER_SECOND`` / ``<NAME>_PER_MINUTE``."""
    from .breakers import redis_client

    per_second, per_minute = _DEFAULT_LIMITS.get(name, (10, 600))
    prefix = name.upper()
    per_second = getattr(settings, f"{prefix}_PER_SECOND", per_second)
    per_minute = getattr(settings, f"{prefix}_PER_MINUTE", per_minute)
    redis = redis_client()
    signature = (name, per_second, per_minute, settings.REDIS_URL if redis is not None else None)
    limiter = _limiters.get(signature)
    if limiter is None:
        limiter = _limiters[signature] = RateLimiter(name, per_second=per_second, per_minute=per_minute, redis=redis)
    return limiter


def reset_limiters() -> None:
    """Forget cached limiters and the in-process windows (Redis windows expire by themselves)."""
    _limiters.clear()
    _memory.clear()
