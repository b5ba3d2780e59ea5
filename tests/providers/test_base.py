import pytest
from waffle.models import Switch

from providers.base import (
    CircuitOpen,
    Criteria,
    PermanentError,
    RateLimited,
    TransientError,
    backoff_delay,
    get_provider,
    primary_provider_name,
    provider_names,
)
from solosales.core.flags import PROVIDER_ROCKETREACH


def test_criteria_from_dict_tolerates_missing_and_unknown_keys():
    c = Criteria.from_dict({"titles": ["VP Sales", "  ", "VP Sales"], "countries": ["us", "cn"], "colour": "red"})
    assert c.titles == ["VP Sales"]
    assert c.countries == ["US", "CN"]
    assert c.industries == []
    assert Criteria.from_dict(None) == Criteria()


def test_criteria_round_trips_and_is_hashable():
    c = Criteria(titles=["CTO"], exclude_domains=["WWW.Acme.com"], keywords="saas")
    assert c.exclude_domains == ["acme.com"]
    assert c.keywords == ["saas"]
    assert Criteria.from_dict(c.to_dict()) == c
    assert {c: 1}[Criteria.from_dict(c.to_dict())] == 1


def test_error_family_tells_the_caller_what_to_do():
    assert PermanentError().permanent is True
    assert TransientError().permanent is False
    assert CircuitOpen().permanent is False
    limited = RateLimited(retry_after=12)
    assert limited.retry_after == 12.0
    assert str(limited.reason)


def test_the_three_providers_are_registered():
    # Tests may register scripted providers of their own; the product ships these three.
    assert {"hunter", "rocketreach", "sandbox"} <= set(provider_names())
    assert get_provider("rocketreach").fallback_name == "hunter"
    assert get_provider("sandbox").fallback_name is None
    with pytest.raises(KeyError):
        get_provider("nope")


@pytest.mark.django_db
def test_primary_provider_is_rocketreach_only_with_switch_and_key(settings, django_capture_on_commit_callbacks):
    switch, _created = Switch.objects.update_or_create(name=PROVIDER_ROCKETREACH, defaults={"active": False})
    settings.ROCKETREACH_API_KEY = "k"
    assert primary_provider_name() == "sandbox"
    with django_capture_on_commit_callbacks(execute=True):  # waffle refreshes its cache on commit
        switch.active = True
        switch.save()
    assert primary_provider_name() == "rocketreach"
    settings.ROCKETREACH_API_KEY = ""
    assert primary_provider_name() == "sandbox"


def test_backoff_is_jittered_exponential_and_capped():
    for attempt, (low, high) in {1: (1, 2), 2: (2, 4), 3: (4, 8), 20: (150, 300)}.items():
        delays = {backoff_delay(attempt) for _ in range(20)}
        assert all(low <= d <= high for d in delays)
        assert len(delays) > 1  # jittered
    assert backoff_delay(50, base=1, cap=10) <= 10
