# ruff: noqa: F811  (the fake server and the breaker reset are fixtures imported from the providers suite)
"""RocketReach search stubs (no usable email): looked up once, polled with checkStatus by
rescheduling the build step, bounded, never bought twice."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Lead, Order, OrderStatus, PipelineStep
from orders.pipeline import LOOKUP_GAVE_UP, run_step
from providers.base import CallContext
from providers.models import LookupRecord, ProviderCall
from providers.rocketreach import RocketReachProvider
from tests.orders.conftest import place, use_provider
from tests.providers.conftest import _fresh_provider_state, rr_fake  # noqa: F401

pytestmark = pytest.mark.django_db
St = PipelineStep.Status


@pytest.fixture
def stubs(rr_fake, settings):
    settings.HUNTER_API_KEY = ""  # no verify step here
    rr_fake.stub_every = 4  # a quarter of the people come back from search without contact details
    return rr_fake


def _lookups_due(step):
    """Time travel: the wait before the next checkStatus poll is over."""
    step.refresh_from_db()
    lookups = {pid: {**entry, "due": 0} for pid, entry in step.state.get("lookups", {}).items()}
    PipelineStep.objects.filter(pk=step.pk).update(
        state={**step.state, "lookups": lookups}, not_before=timezone.now() - timedelta(seconds=1)
    )


def _drive(step, limit=40):
    outcomes = []
    for _ in range(limit):
        outcomes.append(run_step(step.pk))
        if outcomes[-1] in ("finished", "failed"):
            break
        if outcomes[-1] == "waiting_for_lookups":
            step.refresh_from_db()
            assert step.status == St.WAITING and step.not_before > timezone.now()
            assert run_step(step.pk) == "not_claimed"  # the worker does not poll before it is due
        _lookups_due(step)
    return outcomes


def _looked_up(rr_fake) -> Counter:
    return Counter(r["args"]["id"] for r in rr_fake.requests if r["route"] == "lookup")


def test_stubs_are_looked_up_once_and_polled_by_rescheduling(funded_client, stubs):
    order = place(funded_client, target_count=60)
    step = use_provider(order, "rocketreach")
    outcomes = _drive(step)
    assert outcomes[-1] == "finished" and "waiting_for_lookups" in outcomes
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.leads.filter(status=Lead.Status.VALID).count() == 60

    looked_up = _looked_up(stubs)
    assert looked_up and set(looked_up.values()) == {1}  # never a second lookup for a profile
    assert stubs.count("check_status") >= len(looked_up)
    records = LookupRecord.objects.filter(order_id=order.pk)
    assert {r.profile_id for r in records} == set(looked_up)
    assert all(r.status == "complete" and r.issue_count == 1 for r in records)
    from_lookups = order.leads.filter(page_cursor="lookup")
    assert set(from_lookups.values_list("provider_id", flat=True)) <= set(looked_up)
    assert from_lookups.filter(status=Lead.Status.VALID).exists()
    assert not order.leads.filter(status=Lead.Status.VALID, email="").exists()
    ops = Counter(ProviderCall.objects.filter(order_id=order.pk).values_list("operation", flat=True))
    assert ops["lookup"] == len(looked_up) and ops["check_status"] == stubs.count("check_status")


def test_a_lookup_issued_before_a_restart_is_polled_not_bought_again(funded_client, stubs):
    order = place(funded_client, target_count=30)
    step = use_provider(order, "rocketreach")
    assert run_step(step.pk) == "waiting_for_lookups"
    step.refresh_from_db()
    waiting = sorted(step.state["lookups"])
    assert waiting and all(step.state["lookups"][pid]["polls"] == 1 for pid in waiting)
    assert set(_looked_up(stubs)) == set(waiting)
    # The worker is replaced (the step's lookups stay in its checkpoint): the rest polls only.
    _lookups_due(step)
    outcomes = _drive(step)
    assert outcomes[-1] == "finished"
    assert set(_looked_up(stubs).values()) == {1}
    assert Order.objects.get(pk=order.pk).leads.filter(provider_id__in=waiting, status=Lead.Status.VALID).exists()
    # A lookup already bought within the order is answered from our own record.
    provider = RocketReachProvider()
    before = stubs.count()
    record = provider.lookup(waiting[0], context=CallContext(order_id=order.pk, step="build"))
    assert record is not None and record.email and stubs.count() == before


def test_lookups_that_never_complete_are_given_up_with_a_reason(funded_client, stubs, settings):
    settings.PROVIDER_LOOKUP_MAX_POLLS = 2
    stubs.lookup_polls = 10_000  # RocketReach never finishes these lookups
    stubs.population = 2000  # each page's unused rest is dropped: give the build room
    order = place(funded_client, target_count=40)
    step = use_provider(order, "rocketreach")
    outcomes = _drive(step)
    assert outcomes[-1] == "finished"
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.leads.filter(status=Lead.Status.VALID).count() == 40
    looked_up = _looked_up(stubs)
    given_up = order.leads.filter(invalid_reason=LOOKUP_GAVE_UP)
    assert set(given_up.values_list("provider_id", flat=True)) == set(looked_up)
    assert set(looked_up.values()) == {1}
    polls = Counter(r["args"]["ids"] for r in stubs.requests if r["route"] == "check_status")  # one id per poll
    assert polls and max(polls.values()) <= 2
    step.refresh_from_db()
    assert step.state["lookups"] == {}


def test_once_lookups_keep_failing_no_more_are_bought(funded_client, stubs, settings):
    settings.PROVIDER_LOOKUP_MAX_POLLS = 1
    settings.PROVIDER_LOOKUP_BATCH = 3
    stubs.lookup_polls = 10_000
    stubs.population = 2000
    order = place(funded_client, target_count=60)
    step = use_provider(order, "rocketreach")
    assert _drive(step)[-1] == "finished"
    order.refresh_from_db()
    assert order.leads.filter(status=Lead.Status.VALID).count() == 60
    looked_up = _looked_up(stubs)
    assert len(looked_up) == order.leads.filter(invalid_reason=LOOKUP_GAVE_UP).count() == 3
    assert order.leads.filter(invalid_reason="missing email").exists()  # later stubs: taken as they are
