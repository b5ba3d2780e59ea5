from collections import Counter

import pytest

from providers.base import CallContext, Criteria, get_provider
from providers.models import ProviderCall
from providers.sandbox import PersonGenerator, SandboxProvider

CTX = CallContext(order_id=41, step="build", attempt=1)


def collect(provider, criteria, target, page_size=100):
    records, cursor, pages = [], None, 0
    while len(records) < target:
        page = provider.search(criteria, cursor=cursor, page_size=page_size, context=CTX)
        records.extend(page.records)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    return records, pages


@pytest.mark.django_db
def test_same_seed_and_criteria_give_identical_pages():
    criteria = Criteria(titles=["VP Sales", "Head of Marketing"], countries=["US", "GB"])
    first = SandboxProvider(seed=7).search(criteria, cursor="50", page_size=25, context=CTX)
    again = SandboxProvider(seed=7).search(criteria, cursor="50", page_size=25, context=CTX)
    other_seed = SandboxProvider(seed=8).search(criteria, cursor="50", page_size=25, context=CTX)
    assert [r.to_dict() for r in first.records] == [r.to_dict() for r in again.records]
    assert [r.email for r in first.records] != [r.email for r in other_seed.records]
    assert first.next_cursor == "75"


@pytest.mark.django_db
def test_records_honour_the_criteria():
    criteria = Criteria(
        titles=["VP of Sales", "Chief Technology Officer"],
        industries=["Computer Software", "Financial Services"],
        countries=["DE", "FR"],
        company_sizes=["51-200", "201-500"],
    )
    records, _pages = collect(SandboxProvider(), criteria, 300)
    assert len(records) == 300
    assert {r.title for r in records} == {"VP of Sales", "Chief Technology Officer"}
    assert {r.seniority for r in records} == {"VP", "C-Level"}
    assert {r.industry for r in records} <= {"Computer Software", "Financial Services"}
    assert {r.country for r in records} == {"DE", "FR"}
    assert {r.company_size for r in records} <= {"51-200", "201-500"}
    for r in records:
        assert r.email.endswith("@" + r.company_domain)
        assert r.linkedin_url.startswith("https://www.linkedin.com/in/")
        assert r.phone.startswith(("+49", "+33"))
        assert r.full_name and r.city and r.region


@pytest.mark.django_db
def test_seniorities_departments_and_regions_shape_titles_and_places():
    criteria = Criteria(seniorities=["Director"], departments=["Marketing", "Finance"], regions=["California"])
    records, _pages = collect(SandboxProvider(), criteria, 200)
    assert {r.title for r in records} == {"Director of Marketing", "Finance Director"}
    assert {r.department for r in records} == {"Marketing", "Finance"}
    assert {(r.country, r.region) for r in records} == {("US", "California")}


@pytest.mark.django_db
def test_chinese_records_carry_pinyin_and_characters():
    page = SandboxProvider().search(Criteria(countries=["CN"]), cursor=None, page_size=50, context=CTX)
    for r in page.records:
        assert r.country == "CN"
        assert r.full_name.startswith(f"{r.last_name} {r.first_name} (")
        native = r.full_name.split("(")[1].rstrip(")")
        assert all("\u4e00" <= ch <= "\u9fff" for ch in native)
        assert r.email.isascii()


@pytest.mark.django_db
def test_exclusions_are_honoured():
    generator = PersonGenerator(1, Criteria())
    popular = Counter((r.company, r.company_domain) for r in generator.page(0, 2000)).most_common(4)
    names = [name for (name, _domain), _n in popular[:2]]
    domains = [domain for (_name, domain), _n in popular[2:]]
    criteria = Criteria(exclude_companies=[n.upper() for n in names], exclude_domains=domains)
    records = PersonGenerator(1, criteria).page(0, 2000)
    assert len(records) == 2000
    assert not {r.company for r in records} & set(names)
    assert not {r.company_domain for r in records} & set(domains)


@pytest.mark.django_db
def test_max_results_caps_the_population(settings):
    settings.SANDBOX_MAX_RESULTS = 130
    records, pages = collect(SandboxProvider(), Criteria(), 1000, page_size=50)
    assert len(records) == 130
    assert pages == 3
    capped = SandboxProvider(max_results=20).search(Criteria(), cursor=None, page_size=50, context=CTX)
    assert len(capped.records) == 20 and capped.next_cursor is None and capped.total == 20


@pytest.mark.django_db
def test_narrow_criteria_run_dry():
    narrow = Criteria(
        titles=["VP of Sales"],
        seniorities=["VP"],
        industries=["Biotechnology"],
        countries=["IE"],
        company_sizes=["11-50"],
        keywords=["crispr", "oncology"],
    )
    records, _pages = collect(SandboxProvider(), narrow, 10_000)
    assert 0 < len(records) < 100
    broad_total = SandboxProvider().search(Criteria(), cursor=None, page_size=1, context=CTX).total
    assert broad_total > 100_000


@pytest.mark.django_db
def test_a_few_duplicate_emails_across_pages_and_a_realistic_status_mix():
    records, _pages = collect(SandboxProvider(), Criteria(countries=["US"]), 5000)
    by_email = Counter(r.email for r in records)
    duplicates = [e for e, n in by_email.items() if n > 1]
    assert 10 <= len(duplicates) <= 200
    assert len({r.provider_id for r in records}) == len(records)  # re-listed under another id
    statuses = Counter(r.email_status for r in records)
    assert set(statuses) == {"valid", "accept_all", "invalid", "unknown"}
    assert statuses["valid"] > len(records) * 0.6
    assert 0.02 * len(records) < statuses["invalid"] < 0.09 * len(records)


@pytest.mark.django_db
def test_verify_email_repeats_what_the_search_said():
    provider = get_provider("sandbox")
    page = provider.search(Criteria(), cursor=None, page_size=200, context=CTX)
    assert provider.can_verify_email
    assert all(provider.verify_email(r.email, context=CTX) == r.email_status for r in page.records)


@pytest.mark.django_db
def test_each_page_is_audited_at_no_cost():
    SandboxProvider().search(Criteria(titles=["CFO"]), cursor="10", page_size=5, context=CTX)
    call = ProviderCall.objects.get()
    assert (call.provider, call.operation, call.outcome) == ("sandbox", "search", "ok")
    assert (call.order_id, call.step, call.records_returned, call.estimated_cost) == (41, "build", 5, 0)
    assert call.request_summary["start"] == 10
    assert call.request_summary["criteria"]["titles"] == ["CFO"]


def test_twenty_thousand_records_are_generated():
    generator = PersonGenerator(1, Criteria(countries=["US", "CN", "DE"]))
    records = generator.page(0, 20_000)
    assert len(records) == 20_000
    assert len({r.provider_id for r in records}) == 20_000
    assert all(r.email and r.company_domain and r.title for r in records)
