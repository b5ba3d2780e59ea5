"""The cache is Redis, shared by every process, and a miss when Redis does not answer."""

import socket

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from solosales.core.cache import ResilientRedisCache
from tests.factories import make_client

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dead_cache():
    return ResilientRedisCache(
        f"redis://127.0.0.1:{_closed_port()}/0",
        {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}},
    )


@pytest.mark.redis
def test_what_one_process_counts_another_sees():
    """A second cache client (another gunicorn worker, another host) reads the same counters."""
    from django.core.cache import caches

    assert isinstance(caches["default"], ResilientRedisCache)
    other = ResilientRedisCache(settings.CACHES["default"]["LOCATION"], dict(settings.CACHES["default"]))
    cache.set("failed-logins:1.2.3.4", 4, 300)
    assert other.get("failed-logins:1.2.3.4") == 4
    other.incr("failed-logins:1.2.3.4")
    assert cache.get("failed-logins:1.2.3.4") == 5


@pytest.mark.redis
def test_failed_logins_are_counted_in_redis(client):
    user = make_client(email="counted@example.com")
    for _ in range(3):
        client.post(reverse("account_login"), {"login": user.email, "password": "wrong-password"})
    import redis

    keys = redis.Redis.from_url(settings.REDIS_URL).keys("solosales-cache:*")
    assert keys, "allauth's rate-limit counters are not in Redis"


def test_without_redis_the_cache_is_a_miss_and_never_an_error():
    dead = _dead_cache()
    assert dead.get("k", "default") == "default"
    assert dead.get_many(["a", "b"]) == {}
    assert dead.add("k", 1) is True and dead.set("k", 1) is None and dead.delete("k") is False
    assert dead.set_many({"a": 1}) == ["a"] and dead.has_key("k") is False and dead.touch("k") is False
    assert dead.get("k", default=7) == 7 and dead.get("k") is None
    assert dead.delete_many(["a"]) is None and dead.clear() is False
    with pytest.raises(ValueError):
        dead.incr("k")
    with pytest.raises(ValueError):
        dead.decr("k")


def test_pages_and_logins_work_while_the_cache_is_down(client):
    from django.core.cache import caches

    user = make_client(email="no-cache@example.com")
    working = caches["default"]
    caches["default"] = _dead_cache()
    try:
        assert client.get(reverse("account_login")).status_code == 200
        # A wrong password is an ordinary form error (the rate limit fails open), the right
        # one signs in.
        assert client.post(reverse("account_login"), {"login": user.email, "password": "x"}).status_code == 200
        from tests.factories import PASSWORD

        assert client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD}).status_code == 302
        assert client.get(reverse("dashboard")).status_code == 200  # waffle switches from the database
    finally:
        caches["default"] = working
