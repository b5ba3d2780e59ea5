"""Every code the order form can produce maps to a value RocketReach (its fake) searches by,
and the fake does not understand the form's codes themselves."""

import json

import pytest

from orders.criteria import COMPANY_SIZES, COUNTRIES, DEPARTMENTS, INDUSTRIES, SENIORITIES
from providers.base import CallContext, Criteria
from providers.fakes.rocketreach import VOCABULARY, query_to_criteria
from providers.geo import COUNTRY_CODES, COUNTRY_NAMES
from providers.rocketreach import RocketReachProvider, criteria_to_query

FACET_OF = {
    "seniorities": ("management_levels", SENIORITIES),
    "departments": ("department", DEPARTMENTS),
    "industries": ("company_industry", INDUSTRIES),
    "company_sizes": ("company_size", COMPANY_SIZES),
}


@pytest.mark.parametrize(
    ("attr", "code"), [(attr, code) for attr, (_f, vocab) in FACET_OF.items() for code, _label in vocab]
)
def test_every_form_code_maps_to_a_rocketreach_value(attr, code):
    facet, _vocab = FACET_OF[attr]
    (value,) = criteria_to_query(Criteria.from_dict({attr: [code]}))[facet]
    assert value in VOCABULARY[facet]


@pytest.mark.parametrize("code", [code for code, _label in COUNTRIES])
def test_every_country_goes_to_geo_by_name(code):
    (place,) = criteria_to_query(Criteria(countries=[code]))["geo"]
    assert place == COUNTRY_NAMES[code] and place != code
    assert COUNTRY_CODES[place.casefold()] == code


def test_the_fake_matches_nobody_for_values_rocketreach_does_not_have():
    assert query_to_criteria({"management_levels": ["c_suite"]}) is None
    assert query_to_criteria({"company_industry": ["computer_software"]}) is None
    known = query_to_criteria({"management_levels": ["C-Level", "c_suite"], "geo": ["Germany", "Bavaria"]})
    assert (known.seniorities, known.countries, known.regions) == (["C-Level"], ["DE"], ["Bavaria"])


@pytest.mark.django_db
def test_a_search_with_form_codes_finds_nobody_at_the_fake(rr_fake):
    provider = RocketReachProvider()
    context = CallContext(order_id=1, step="build")
    body = {"query": {"management_levels": ["c_suite"]}, "start": 1, "page_size": 10}
    page = provider.http.request("POST", "/person/search", operation="search", context=context, json_body=body)
    assert page.value["profiles"] == [] and page.value["pagination"]["total"] == 0
    mapped = provider.search(Criteria(seniorities=["c_suite"]), cursor=None, page_size=10, context=context)
    assert len(mapped.records) == 10
    assert json.loads(rr_fake.requests[-1]["body"])["query"] == {"management_levels": ["C-Level"]}
