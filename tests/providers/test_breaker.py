import pytest

from providers.base import CallContext, CircuitOpen, Criteria, PermanentError, TransientError
from providers.breakers import breaker_state, get_breaker, make_breaker, redis_client, reset_breakers
from providers.fakes import Fault
from providers.models import Outcome, ProviderCall
from providers.rocketreach import RocketReachProvider

pytestmark = pytest.mark.django_db
CTX = CallContext(order_id=77, step="build")
CRITERIA = Criteria(titles=["CTO"])


def fail(provider, times):
    for _ in range(times):
        with pytest.raises(TransientError):
            provider.search(CRITERIA, cursor=None, page_size=5, context=CTX)


@pytest.mark.redis
def test_breaker_opens_after_the_threshold_and_then_sends_nothing(rr_fake, settings):
    settings.PROVIDER_BREAKER_FAIL_MAX = 3
    rr_fake.inject("search", *[Fault.error(500)] * 3)
    provider = RocketReachProvider()
    fail(provider, 3)
    assert breaker_state("rocketreach") == "open"
    sent = rr_fake.count()

    with pytest.raises(CircuitOpen):
        provider.search(CRITERIA, cursor=None, page_size=5, context=CTX)
    with pytest.raises(CircuitOpen):
        provider.lookup(40000001, context=CTX)

    assert rr_fake.count() == sent  # no HTTP request while open
    refused = ProviderCall.objects.filter(outcome=Outcome.CIRCUIT_OPEN)
    assert refused.count() == 2
    assert all(c.http_status is None and c.latency_ms == 0 for c in refused)


@pytest.mark.redis
def test_an_open_breaker_is_shared_through_redis(rr_fake, settings):
    settings.PROVIDER_BREAKER_FAIL_MAX = 2
    rr_fake.inject("search", Fault.error(500), Fault.error(500))
    fail(RocketReachProvider(), 2)

    # Another worker: a brand-new breaker object on the same Redis namespace.
    other_worker = make_breaker("rocketreach", redis=redis_client())
    assert other_worker.current_state == "open"
    reset_breakers()  # and this process forgets its breakers too
    sent = rr_fake.count()
    with pytest.raises(CircuitOpen):
        RocketReachProvider().search(CRITERIA, cursor=None, page_size=5, context=CTX)
    assert rr_fake.count() == sent
    # The namespace is per provider: Hunter's breaker is unaffected.
    assert breaker_state("hunter") == "closed"


def test_client_errors_do_not_count_as_failures(rr_fake, settings):
    settings.PROVIDER_BREAKER_FAIL_MAX = 2
    rr_fake.inject("search", *[Fault.error(401)] * 4)
    provider = RocketReachProvider()
    for _ in range(4):
        with pytest.raises(PermanentError):
            provider.search(CRITERIA, cursor=None, page_size=5, context=CTX)
    assert breaker_state("rocketreach") == "closed"
    assert len(provider.search(CRITERIA, cursor=None, page_size=5, context=CTX).records) == 5


def test_a_success_resets_the_failure_count(rr_fake, settings):
    settings.PROVIDER_BREAKER_FAIL_MAX = 2
    provider = RocketReachProvider()
    rr_fake.inject("search", Fault.error(500))
    fail(provider, 1)
    provider.search(CRITERIA, cursor=None, page_size=5, context=CTX)
    rr_fake.inject("search", Fault.error(500))
    fail(provider, 1)
    assert breaker_state("rocketreach") == "closed"


def test_after_the_reset_timeout_one_trial_call_closes_it(rr_fake, settings):
    settings.PROVIDER_BREAKER_FAIL_MAX = 1
    settings.PROVIDER_BREAKER_RESET = 0.2
    provider = RocketReachProvider()
    rr_fake.inject("search", Fault.error(500))
    fail(provider, 1)
    assert get_breaker("rocketreach").current_state == "open"
    import time

    time.sleep(0.3)
    assert breaker_state("rocketreach") == "half-open"
    assert len(provider.search(CRITERIA, cursor=None, page_size=5, context=CTX).records) == 5
    assert breaker_state("rocketreach") == "closed"


def test_without_redis_the_breaker_lives_in_memory(rr_fake, settings):
    settings.JOBS_INLINE = True
    settings.PROVIDER_BREAKER_FAIL_MAX = 1
    rr_fake.inject("search", Fault.error(500))
    provider = RocketReachProvider()
    fail(provider, 1)
    with pytest.raises(CircuitOpen):
        provider.search(CRITERIA, cursor=None, page_size=5, context=CTX)
    assert type(get_breaker("rocketreach")._state_storage).__name__ == "CircuitMemoryStorage"
