import json

import pytest

from providers.base import CallContext, Criteria, PermanentError, QuotaExhausted, RateLimited, Unsupported
from providers.fakes import Fault
from providers.hunter import HunterProvider, domains_from, hunter_filters, verification_status
from providers.models import Outcome, ProviderCall
from tests.providers.conftest import HUNTER_KEY

pytestmark = pytest.mark.django_db
CTX = CallContext(order_id=900, step="verify")


def test_verify_says_check_later_on_202_then_answers(hunter_fake):
    provider = HunterProvider()
    email = "wei.wang@huaxin.cn"
    assert provider.verify_email(email, context=CTX) is None
    status = provider.verify_email(email, context=CTX)
    assert status in {"valid", "accept_all", "invalid", "unknown"}
    from providers.sandbox import email_status_for

    assert status == email_status_for(email, 1)
    calls = list(ProviderCall.objects.order_by("id"))
    assert [(c.http_status, c.outcome, c.records_returned) for c in calls] == [(202, "ok", 0), (200, "ok", 1)]
    assert calls[0].estimated_cost == 0 and calls[1].estimated_cost > 0


def test_verification_failed_222_is_unknown(hunter_fake):
    hunter_fake.inject("email_verifier", Fault.raw(b'{"data": null}', status=222))
    assert HunterProvider().verify_email("a@b.example", context=CTX) == "unknown"


def test_hunter_403_is_its_rate_limit(hunter_fake):
    body = {"errors": [{"id": "too_many_requests", "code": 403, "details": "You have reached the limit"}]}
    hunter_fake.inject("email_verifier", Fault.error(403, body, retry_after=30))
    with pytest.raises(RateLimited) as err:
        HunterProvider().verify_email("a@b.example", context=CTX)
    assert err.value.retry_after == 30
    call = ProviderCall.objects.get()
    assert call.outcome == Outcome.RATE_LIMITED
    assert "too_many_requests You have reached the limit" in call.error_message


def test_hunter_429_is_a_spent_usage_quota_not_a_rate_limit(hunter_fake):
    """EXTERNAL_APIS.md: 429 = usage limit reached (the plan's quota), with no Retry-After."""
    body = {"errors": [{"id": "too_many_requests", "code": 429, "details": "You have reached your usage limit"}]}
    hunter_fake.inject("email_verifier", Fault.error(429, body))
    with pytest.raises(QuotaExhausted) as err:
        HunterProvider().verify_email("a@b.example", context=CTX)
    assert not isinstance(err.value, RateLimited) and err.value.http_status == 429
    call = ProviderCall.objects.get()
    assert (call.outcome, call.http_status, call.retry_after) == (Outcome.RATE_LIMITED, 429, None)
    assert call.error_message.startswith("usage limit reached")
    assert "You have reached your usage limit" in call.error_message


def test_bad_key_is_permanent_and_the_key_is_not_stored(hunter_fake, settings):
    settings.HUNTER_API_KEY = "not-the-key-123"
    with pytest.raises(PermanentError) as err:
        HunterProvider().verify_email("a@b.example", context=CTX)
    assert err.value.http_status == 401
    call = ProviderCall.objects.get()
    assert "authentication_failed" in call.error_message
    assert "not-the-key-123" not in json.dumps(call.request_summary) + call.error_message
    assert "api_key" not in call.request_summary.get("params", {})


def test_the_key_travels_as_a_query_parameter_but_is_never_audited(hunter_fake):
    HunterProvider().search(Criteria(keywords=["acme.com"]), cursor=None, page_size=5, context=CTX)
    assert hunter_fake.requests[0]["args"]["api_key"] == HUNTER_KEY
    call = ProviderCall.objects.get()
    assert call.request_summary["params"] == {"domain": "acme.com", "limit": 5, "offset": 0, "type": "personal"}
    assert HUNTER_KEY not in json.dumps(call.request_summary)


def test_domain_search_pages_through_each_domain(hunter_fake):
    provider = HunterProvider()
    criteria = Criteria(keywords=["domain:acme.com", "https://www.globex.co.uk/", "not a domain"])
    seen, cursor, cursors = [], None, []
    while True:
        page = provider.search(criteria, cursor=cursor, page_size=40, context=CTX)
        seen.extend(page.records)
        cursors.append(cursor)
        cursor = page.next_cursor
        if cursor is None:
            break
    domains = {r.company_domain for r in seen}
    assert domains == {"acme.com", "globex.co.uk"}
    assert cursors[0] is None and "1:0" in cursors
    assert all(r.email.endswith("@" + r.company_domain) and r.provider == "hunter" for r in seen)
    assert len({r.email for r in seen}) >= len(seen) - 3
    assert ProviderCall.objects.filter(operation="domain_search").count() == len(cursors)


def test_domain_search_without_domains_is_unsupported_audited_and_sends_nothing(hunter_fake):
    provider = HunterProvider()
    assert provider.unsupported_reason(Criteria(titles=["CTO"]))
    assert provider.unsupported_reason(Criteria(keywords=["acme.com"])) == ""
    with pytest.raises(Unsupported):
        provider.search(Criteria(titles=["CTO"]), cursor=None, page_size=10, context=CTX)
    assert hunter_fake.count() == 0
    call = ProviderCall.objects.get()
    assert (call.provider, call.operation, call.outcome, call.http_status) == ("hunter", "domain_search", "error", None)
    assert "no request sent" in call.error_message and "domain" in call.error_message


def test_criteria_mapping_to_hunter_filters():
    criteria = Criteria(
        keywords=["acme.com", "ACME.com", "beta.io", "fintech"],
        seniorities=["VP", "Manager", "Entry"],
        departments=["Engineering", "sales", "Human Resources"],
        exclude_domains=["beta.io"],
    )
    assert domains_from(criteria) == ["acme.com"]
    assert hunter_filters(criteria) == {"seniority": "executive,junior,senior", "department": "hr,it,sales"}


def test_verification_status_reads_both_answer_styles():
    assert verification_status({"status": "accept_all"}) == "accept_all"
    assert verification_status({"status": "webmail"}) == "valid"
    assert verification_status({"status": "disposable"}) == "invalid"
    assert verification_status({"result": "deliverable"}) == "valid"
    assert verification_status({"result": "risky", "accept_all": True}) == "accept_all"
    assert verification_status({"result": "risky"}) == "unknown"
    assert verification_status({}) == "unknown"


def test_account(hunter_fake):
    account = HunterProvider().account(context=CTX)
    assert account["plan_name"] == "Starter"
