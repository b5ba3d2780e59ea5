import json

import pytest

from providers.base import CallContext, Criteria, PermanentError, RateLimited, TransientError, backoff_delay
from providers.fakes import Fault
from providers.models import LookupRecord, Outcome, ProviderCall
from providers.rocketreach import RocketReachProvider, choose_email, criteria_to_query
from tests.providers.conftest import RR_KEY

pytestmark = pytest.mark.django_db

CTX = CallContext(order_id=501, step="build", attempt=1)
CRITERIA = Criteria(titles=["VP Sales"], countries=["US"], industries=["Computer Software"])


def test_search_pages_to_a_target(rr_fake):
    provider = RocketReachProvider()
    records, cursor, cursors = [], None, []
    while len(records) < 120:
        page = provider.search(CRITERIA, cursor=cursor, page_size=50, context=CTX)
        records.extend(page.records)
        cursors.append(cursor)
        cursor = page.next_cursor
    assert len(records) == 150
    assert cursors == [None, "51", "101"]
    assert cursor == "151"
    assert page.total == 250
    assert {r.title for r in records} == {"VP Sales"}
    assert {r.country for r in records} == {"US"}
    assert len({r.provider_id for r in records}) == 150
    sent = json.loads(rr_fake.requests[0]["body"])
    assert sent == {
        "query": {"current_title": ["VP Sales"], "company_industry": ["Computer Software"], "geo": ["United States"]},
        "start": 1,
        "page_size": 50,
        "order_by": "relevance",
    }
    assert rr_fake.requests[0]["headers"]["Api-Key"] == RR_KEY
    calls = list(ProviderCall.objects.order_by("id"))
    assert [c.records_returned for c in calls] == [50, 50, 50]
    assert all(c.outcome == Outcome.OK and c.http_status == 200 and c.provider_request_id for c in calls)
    assert all(c.estimated_cost > 0 for c in calls)


def test_search_runs_dry_at_the_end_of_the_population(rr_fake):
    page = RocketReachProvider().search(CRITERIA, cursor="201", page_size=50, context=CTX)
    assert len(page.records) == 50
    assert page.next_cursor is None


def test_criteria_map_to_rocketreach_facets():
    query = criteria_to_query(
        Criteria(
            titles=["CTO"],
            seniorities=["C-Level"],
            departments=["Engineering"],
            industries=["Internet"],
            countries=["DE"],
            regions=["Bavaria"],
            company_sizes=["51-200"],
            keywords=["kubernetes"],
            exclude_companies=["Acme"],
            exclude_domains=["acme.com"],
        )
    )
    assert query == {
        "current_title": ["CTO"],
        "management_levels": ["C-Level"],
        "department": ["Engineering"],
        "company_industry": ["Internet"],
        "company_size": ["51-200"],
        "keyword": ["kubernetes"],
        "exclude_current_employer": ["Acme"],
        "exclude_company_domain": ["acme.com"],
        "geo": ["Germany", "Bavaria"],
    }


def test_email_choice_prefers_professional_then_smtp_quality():
    profile = {
        "emails": [
            {"email": "Jo@Gmail.com", "type": "personal", "smtp_valid": "valid"},
            {"email": "jo@old.example", "type": "professional", "smtp_valid": "invalid"},
            {"email": "jo@acme.example", "type": "professional", "smtp_valid": "accept-all"},
        ]
    }
    assert choose_email(profile) == ("jo@acme.example", "accept_all")
    only_invalid = {"emails": [{"email": "x@y.example", "type": "professional", "smtp_valid": "invalid"}]}
    assert choose_email(only_invalid) == ("x@y.example", "invalid")
    assert choose_email({"recommended_professional_email": "r@z.example"}) == ("r@z.example", "unknown")
    assert choose_email({}) == ("", "unknown")


def test_429_raises_rate_limited_with_the_servers_wait(rr_fake):
    rr_fake.inject("search", Fault.error(429, {"status": 429, "message": "Too many requests"}, retry_after=17))
    with pytest.raises(RateLimited) as err:
        RocketReachProvider().search(CRITERIA, cursor=None, page_size=10, context=CTX)
    assert err.value.retry_after == 17
    call = ProviderCall.objects.get()
    assert (call.outcome, call.http_status, call.retry_after) == (Outcome.RATE_LIMITED, 429, 17)
    assert "Too many requests" in call.error_message


def test_retry_after_is_capped(rr_fake, settings):
    settings.PROVIDER_MAX_RETRY_AFTER = 120
    rr_fake.inject("search", Fault.error(429, retry_after=86400))
    with pytest.raises(RateLimited) as err:
        RocketReachProvider().search(CRITERIA, cursor=None, page_size=10, context=CTX)
    assert err.value.retry_after == 120


def test_three_server_errors_then_success_when_the_caller_retries(rr_fake):
    rr_fake.inject("search", Fault.error(500), Fault.error(502), Fault.error(503))
    provider = RocketReachProvider()
    delays = []
    for attempt in range(1, 6):
        try:
            page = provider.search(
                CRITERIA, cursor=None, page_size=10, context=CallContext(order_id=501, step="build", attempt=attempt)
            )
            break
        except TransientError:
            delays.append(backoff_delay(attempt))  # the pipeline would reschedule after this
    assert len(page.records) == 10
    assert len(delays) == 3
    calls = list(ProviderCall.objects.order_by("id"))
    assert [(c.attempt, c.outcome, c.http_status) for c in calls] == [
        (1, "error", 500),
        (2, "error", 502),
        (3, "error", 503),
        (4, "ok", 200),
    ]


def test_bad_key_is_a_permanent_error_with_a_clear_reason(rr_fake, settings):
    settings.ROCKETREACH_API_KEY = "wrong-key"
    with pytest.raises(PermanentError) as err:
        RocketReachProvider().search(CRITERIA, cursor=None, page_size=10, context=CTX)
    assert err.value.http_status == 401
    assert "API key" in str(err.value.reason)
    call = ProviderCall.objects.get()
    assert (call.outcome, call.http_status) == (Outcome.ERROR, 401)
    assert "Invalid API Key" in call.error_message
    assert "wrong-key" not in json.dumps(call.request_summary) + call.error_message


def test_bad_request_is_permanent_and_quotes_the_provider(rr_fake):
    rr_fake.inject("search", Fault.error(400, {"status": 400, "message": "Unknown facet 'colour'"}))
    with pytest.raises(PermanentError) as err:
        RocketReachProvider().search(CRITERIA, cursor=None, page_size=10, context=CTX)
    assert "Unknown facet" in str(err.value)


def test_a_slow_answer_is_a_timeout(rr_fake, settings):
    settings.PROVIDER_READ_TIMEOUT = 0.3
    rr_fake.inject("search", Fault.slow(1.2))
    with pytest.raises(TransientError):
        RocketReachProvider().search(CRITERIA, cursor=None, page_size=10, context=CTX)
    call = ProviderCall.objects.get()
    assert call.outcome == Outcome.TIMEOUT
    assert call.http_status is None
    assert call.latency_ms >= 250


def test_connection_refused_is_transient(settings, db):
    settings.ROCKETREACH_API_BASE = "http://127.0.0.1:9/api/v2"  # discard port: nothing listens
    settings.ROCKETREACH_API_KEY = RR_KEY
    with pytest.raises(TransientError):
        RocketReachProvider().search(CRITERIA, cursor=None, page_size=10, context=CTX)
    assert ProviderCall.objects.get().outcome == Outcome.ERROR


def test_malformed_json_is_recorded_not_a_crash(rr_fake):
    rr_fake.inject("search", Fault.malformed_json())
    with pytest.raises(TransientError):
        RocketReachProvider().search(CRITERIA, cursor=None, page_size=10, context=CTX)
    call = ProviderCall.objects.get()
    assert (call.outcome, call.http_status) == (Outcome.ERROR, 200)
    assert call.error_message.startswith("malformed response")


def test_non_utf8_names_and_broken_profiles_are_tolerated(rr_fake):
    body = (
        b'{"profiles": ['
        b'{"id": 1, "name": "Jos\xe9 Mu\xf1oz", "current_employer": "Caf\xe9 SA", "emails": []},'
        + '{"id": 2, "name": "王伟", "current_title": "CTO", "country_code": "cn"},'.encode()
        + b'"not a profile",'
        b'{"current_title": "no id, no name"},'
        b'{"id": 3}'
        b'], "pagination": {"start": 1, "next": null, "total": 3}}'
    )
    rr_fake.inject("search", Fault.raw(body))
    page = RocketReachProvider().search(CRITERIA, cursor=None, page_size=10, context=CTX)
    assert [r.provider_id for r in page.records] == ["1", "2", "3"]
    assert page.records[0].full_name == "José Muñoz"
    assert page.records[0].company == "Café SA"
    assert (page.records[1].full_name, page.records[1].country) == ("王伟", "CN")
    assert page.next_cursor is None
    call = ProviderCall.objects.get()
    assert call.outcome == Outcome.OK and call.records_returned == 3
    assert "not valid UTF-8" in call.error_message
    assert "skipped 2 malformed profile(s)" in call.error_message


def test_the_api_key_never_reaches_the_audit_trail(rr_fake):
    provider = RocketReachProvider()
    provider.search(CRITERIA, cursor=None, page_size=5, context=CTX)
    rr_fake.inject("search", Fault.error(500, {"status": 500, "message": f"echo {RR_KEY}"}))
    with pytest.raises(TransientError):
        provider.search(CRITERIA, cursor=None, page_size=5, context=CTX)
    provider.account(context=CTX)
    for call in ProviderCall.objects.all():
        stored = json.dumps(call.request_summary) + call.error_message
        assert RR_KEY not in stored
        assert "Api-Key" not in stored
    assert "***" in ProviderCall.objects.get(outcome="error").error_message


def test_lookup_is_never_reissued_checkstatus_is_polled(rr_fake):
    rr_fake.lookup_polls = 2
    provider = RocketReachProvider()
    profile_id = provider.search(CRITERIA, cursor=None, page_size=1, context=CTX).records[0].provider_id
    context = CallContext(order_id=501, step="enrich")

    assert provider.lookup(profile_id, context=context) is None  # issued, in progress
    assert provider.lookup(profile_id, context=context) is None  # polled, still in progress
    record = provider.lookup(profile_id, context=context)  # polled, complete
    again = provider.lookup(profile_id, context=context)  # answered from our own record

    assert record is not None and record.email and record.provider_id == profile_id
    assert again.to_dict() == record.to_dict()
    assert rr_fake.count("lookup") == 1
    assert rr_fake.count("check_status") == 2
    stored = LookupRecord.objects.get()
    assert (stored.order_id, stored.profile_id, stored.status, stored.issue_count) == (501, profile_id, "complete", 1)
    ops = list(ProviderCall.objects.filter(step="enrich").order_by("id").values_list("operation", flat=True))
    assert ops == ["lookup", "check_status", "check_status"]


def test_a_lookup_that_never_reached_rocketreach_is_issued_again(rr_fake):
    provider = RocketReachProvider()
    context = CallContext(order_id=502, step="enrich")
    rr_fake.inject("lookup", Fault.error(503))
    with pytest.raises(TransientError):
        provider.lookup(40000003, context=context)
    # checkStatus says "not queued": no credit was spent, so the lookup is sent (once more).
    assert provider.lookup(40000003, context=context) is None
    assert rr_fake.count("lookup") == 2
    assert rr_fake.count("check_status") == 1
    assert LookupRecord.objects.get().issue_count == 2


def test_lookups_are_per_order(rr_fake):
    rr_fake.lookup_polls = 0
    provider = RocketReachProvider()
    first = provider.lookup(40000005, context=CallContext(order_id=1))
    second = provider.lookup(40000005, context=CallContext(order_id=2))
    assert first.email == second.email
    assert rr_fake.count("lookup") == 2
    assert LookupRecord.objects.count() == 2


def test_account_reports_usage(rr_fake):
    account = RocketReachProvider().account(context=CTX)
    assert account["lookup_credit_balance"] == 10_000
    assert ProviderCall.objects.get().operation == "account"


def test_a_lookup_is_never_issued_more_than_twice(rr_fake):
    provider = RocketReachProvider()
    context = CallContext(order_id=503, step="build")
    rr_fake.inject("lookup", Fault.error(503), Fault.error(503))
    for _ in range(2):
        with pytest.raises(TransientError):
            provider.lookup(40000007, context=context)
    # RocketReach still says "not queued", but two lookups were sent: poll, do not buy again.
    assert provider.lookup(40000007, context=context) is None
    assert provider.lookup(40000007, context=context) is None
    assert rr_fake.count("lookup") == 2
    assert LookupRecord.objects.get().issue_count == 2


def test_search_stubs_say_they_need_a_lookup(rr_fake):
    rr_fake.stub_every = 3
    page = RocketReachProvider().search(CRITERIA, cursor=None, page_size=30, context=CTX)
    stubs = [r for r in page.records if r.needs_lookup]
    assert stubs and all(not r.email and r.provider_id for r in stubs)
    assert all(r.email for r in page.records if not r.needs_lookup)
