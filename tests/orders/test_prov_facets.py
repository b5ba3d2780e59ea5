# ruff: noqa: F811  (the fake server and the breaker reset are fixtures imported from the providers suite)
"""Orders built against the fake RocketReach server: criteria exactly as the order validator
produces them reach RocketReach as its own facet values, in pages of at most 100."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.criteria import clean_order_data
from orders.models import Lead, OrderStatus, PipelineStep
from orders.pipeline import page_size, run_step
from tests.orders.conftest import place, use_provider
from tests.providers.conftest import _fresh_provider_state, rr_fake  # noqa: F401
from wallet.services import pricing_active

pytestmark = pytest.mark.django_db


def _drive(step, limit=20):
    outcomes = []
    for _ in range(limit):
        outcomes.append(run_step(step.pk))
        if outcomes[-1] in ("finished", "failed", "not_claimed"):
            break
        PipelineStep.objects.filter(pk=step.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    return outcomes


@pytest.fixture(autouse=True)
def _no_verifier(settings):
    settings.HUNTER_API_KEY = ""


def test_form_codes_reach_rocketreach_as_its_facet_values(funded_client, rr_fake):
    body = {
        "type": "list",
        "target_count": 30,
        "criteria": {
            "seniorities": ["C_Suite"],
            "departments": ["engineering"],
            "industries": ["computer_software"],
            "countries": ["de"],
            "company_sizes": ["51-200"],
        },
    }
    cleaned = clean_order_data(body, pricing=pricing_active())
    order = place(funded_client, body=body)
    assert order.criteria == cleaned["criteria"]
    assert order.criteria["seniorities"] == ["c_suite"] and order.criteria["countries"] == ["DE"]
    step = use_provider(order, "rocketreach")
    assert _drive(step)[-1] == "finished"

    sent = [json.loads(r["body"])["query"] for r in rr_fake.requests if r["route"] == "search"]
    assert sent and all(
        query
        == {
            "management_levels": ["C-Level"],
            "department": ["Engineering"],
            "company_industry": ["Computer Software"],
            "company_size": ["51-200"],
            "geo": ["Germany"],
        }
        for query in sent
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    valid = order.leads.filter(status=Lead.Status.VALID)
    assert valid.count() == 30
    assert set(valid.values_list("seniority", flat=True)) == {"C-Level"}
    assert set(valid.values_list("industry", flat=True)) == {"Computer Software"}
    assert set(valid.values_list("country", flat=True)) == {"DE"}
    assert set(valid.values_list("company_size", flat=True)) == {"51-200"}


def test_the_default_page_size_is_capped_at_rocketreachs_100(funded_client, rr_fake, settings):
    assert not hasattr(settings, "PIPELINE_PAGE_SIZE") or settings.PIPELINE_PAGE_SIZE == 500
    assert page_size() == 500
    order = place(funded_client, target_count=150)
    step = use_provider(order, "rocketreach")
    assert _drive(step)[-1] == "finished"
    asked = [json.loads(r["body"])["page_size"] for r in rr_fake.requests if r["route"] == "search"]
    assert asked == [100, 100]
    assert max(asked) <= 100
    order.refresh_from_db()
    assert order.status == OrderStatus.LIST_QA
    assert order.leads.filter(status=Lead.Status.VALID).count() == 150
