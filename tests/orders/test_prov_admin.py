# ruff: noqa: F811  (the fake server and the breaker reset are fixtures imported from the providers suite)
"""The order's admin page shows its provider calls and their cost per lead beside the credits charged."""

import re
from decimal import Decimal

import pytest
from django.utils import translation

from orders.models import Order
from orders.pipeline import run_step
from orders.services import order_qa_decide
from providers.models import ProviderCall
from providers.selectors import cost_summary_for_order
from tests.factories import make_staff
from tests.orders.conftest import place, use_provider
from tests.providers.conftest import _fresh_provider_state, rr_fake  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(funded_client, rr_fake, settings):
    settings.HUNTER_API_KEY = ""
    order = place(funded_client, target_count=40)
    assert run_step(use_provider(order, "rocketreach").pk) == "finished"
    return order_qa_decide(order=Order.objects.get(pk=order.pk), gate="list", decision="pass", accepted_count=32)


def _cells(html: str) -> dict[str, str]:
    table = html[html.index('<table class="provider-costs">') :]
    table = table[: table.index("</table>")]
    return dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", table))


def test_the_order_page_shows_provider_cost_per_lead_against_credits_charged(client, delivered):
    client.force_login(make_staff())
    response = client.get(f"/admin/orders/order/{delivered.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    summary = cost_summary_for_order(delivered.pk)
    assert summary["calls"] >= 1 and summary["cost"] > 0
    cells = _cells(html)
    assert cells["Provider calls"] == str(summary["calls"])
    assert cells["Estimated provider cost (US cents)"] == f"{summary['cost']:.2f}"
    assert cells["Leads (delivered)"] == "32"
    assert cells["Provider cost per lead (US cents)"] == f"{summary['cost'] / 32:.2f}"
    assert cells["Credits charged"] == str(delivered.charged_credits) == str(32 * delivered.unit_price)
    assert cells["Credits charged per lead"] == f"{Decimal(delivered.unit_price):.2f}"
    assert "rocketreach" in cells
    # Every call of the order is listed, read-only.
    calls = ProviderCall.objects.filter(order_id=delivered.pk)
    listing = html[html.index('<table class="provider-calls">') :]
    listing = listing[: listing.index("</table>")]
    assert listing.count("<tr><td>") == calls.count()
    assert 'name="provider_costs"' not in html and "<input" not in listing


@pytest.fixture
def _back_to_english():
    yield
    translation.activate("en")  # the locale middleware leaves the request's language active


def test_an_order_without_calls_says_so_in_chinese_too(client, funded_client, settings, _back_to_english):
    settings.HUNTER_API_KEY = ""
    order = place(funded_client, target_count=20)
    client.force_login(make_staff())
    html = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "No provider calls were made for this order." in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    html = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "No provider calls were made for this order." not in html
    assert "每条线索的数据源成本" in html
