import pytest

from providers.base import CallContext, Criteria, RateLimited
from providers.breakers import redis_client
from providers.models import Outcome, ProviderCall
from providers.ratelimit import RateLimiter
from providers.rocketreach import RocketReachProvider


class Clock:
    def __init__(self, now=1_800_000_000.25):
        self.now = now

    def __call__(self):
        return self.now


@pytest.mark.redis
def test_two_workers_share_ten_calls_per_second():
    clock = Clock()
    worker_a = RateLimiter("rocketreach", per_second=10, per_minute=60, redis=redis_client(), clock=clock)
    worker_b = RateLimiter("rocketreach", per_second=10, per_minute=60, redis=redis_client(), clock=clock)
    granted = [(worker_a if i % 2 else worker_b).try_acquire() for i in range(10)]
    assert granted == [0.0] * 10
    wait = worker_a.try_acquire()
    assert wait == pytest.approx(0.75, abs=0.01)  # the rest of this second
    assert worker_b.try_acquire() > 0
    clock.now += 1
    assert worker_b.try_acquire() == 0.0


@pytest.mark.redis
def test_the_minute_window_refuses_with_the_wait_to_the_next_minute():
    clock = Clock(now=1_800_000_000.0)  # 1_800_000_000 is 0 s into a minute (divisible by 60)
    limiter = RateLimiter("rocketreach", per_second=10, per_minute=15, redis=redis_client(), clock=clock)
    for i in range(15):
        clock.now = 1_800_000_000.0 + i  # one call a second
        assert limiter.try_acquire() == 0.0
    clock.now = 1_800_000_020.0
    assert limiter.try_acquire() == pytest.approx(40.0)
    with pytest.raises(RateLimited) as err:
        limiter.acquire()
    assert err.value.retry_after == pytest.approx(40.0)


@pytest.mark.redis
def test_short_waits_are_slept_through():
    clock = Clock(now=1_800_000_000.5)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock.now += seconds

    limiter = RateLimiter("hunter", per_second=2, per_minute=100, redis=redis_client(), clock=clock, sleep=sleep)
    for _ in range(3):
        limiter.acquire()
    assert slept == [pytest.approx(0.5)]


def test_without_redis_the_windows_are_per_process():
    clock = Clock()
    limiter = RateLimiter("memory-test", per_second=3, per_minute=100, redis=None, clock=clock)
    assert [limiter.try_acquire() for _ in range(4)][-1] > 0


@pytest.mark.django_db
def test_a_refusal_by_our_limiter_is_audited_and_sends_nothing(rr_fake, settings):
    settings.ROCKETREACH_PER_MINUTE = 2
    provider = RocketReachProvider()
    criteria = Criteria(titles=["CTO"])
    context = CallContext(order_id=3, step="build")
    provider.search(criteria, cursor=None, page_size=5, context=context)
    provider.search(criteria, cursor="6", page_size=5, context=context)
    with pytest.raises(RateLimited) as err:
        provider.search(criteria, cursor="11", page_size=5, context=context)
    assert 0 < err.value.retry_after <= 60
    assert rr_fake.count("search") == 2
    refused = ProviderCall.objects.get(outcome=Outcome.RATE_LIMITED)
    assert refused.http_status is None and refused.retry_after == err.value.retry_after
