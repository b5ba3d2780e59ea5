import pytest

from providers.breakers import reset_breakers
from providers.fakes import serve
from providers.fakes.hunter import FakeHunter
from providers.fakes.rocketreach import FakeRocketReach
from providers.ratelimit import reset_limiters

RR_KEY = "rr-secret-key-0123456789"
HUNTER_KEY = "hunter-secret-key-9876543210"


@pytest.fixture(autouse=True)
def _fresh_provider_state(settings):
    """Breakers and limiters are cached per process; each test starts from closed, empty ones."""
    settings.PROVIDER_BREAKER_FAIL_MAX = 5
    settings.PROVIDER_BREAKER_RESET = 60
    reset_breakers()
    reset_limiters()
    yield
    reset_breakers()
    reset_limiters()


@pytest.fixture
def rr_fake(settings):
    """A fake RocketReach on 127.0.0.1 with a 250-person population, wired into the settings."""
    app = FakeRocketReach(api_key=RR_KEY, population=250)
    with serve(app) as url:
        settings.ROCKETREACH_API_BASE = f"{url}/api/v2"
        settings.ROCKETREACH_API_KEY = RR_KEY
        settings.ROCKETREACH_PER_SECOND = 1000
        settings.ROCKETREACH_PER_MINUTE = 100_000
        settings.PROVIDER_READ_TIMEOUT = 2
        yield app


@pytest.fixture
def hunter_fake(settings):
    app = FakeHunter(api_key=HUNTER_KEY)
    with serve(app) as url:
        settings.HUNTER_API_BASE = f"{url}/v2"
        settings.HUNTER_API_KEY = HUNTER_KEY
        settings.HUNTER_PER_SECOND = 1000
        settings.HUNTER_PER_MINUTE = 100_000
        settings.PROVIDER_READ_TIMEOUT = 2
        yield app
