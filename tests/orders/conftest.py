"""Shared fixtures of the order engine tests: funded clients, placing and building orders,
and a scripted provider whose pages and failures a test chooses."""

import itertools

import pytest
from django.utils import timezone
from waffle.models import Switch

from orders.models import Order, PipelineStep
from orders.services import order_place
from providers.base import PersonRecord, Provider, SearchPage, register
from tests.factories import make_client
from wallet import services as wallet
from wallet.models import TopUp

_keys = itertools.count(1)

BODY = {
    "type": "list",
    "target_count": 50,
    "criteria": {"seniorities": ["director"], "countries": ["US"]},
}


def fund(user, credits: int):
    pricing = wallet.pricing_active()
    topup = TopUp.objects.create(
        user=user,
        pricing_version=pricing,
        credits=credits,
        credit_price_minor=pricing.credit_price_minor,
        amount_minor=credits * pricing.credit_price_minor,
        currency=pricing.currency,
        status=TopUp.Status.PAID,
        paid_at=timezone.now(),
    )
    wallet.topup_credit(topup=topup)
    return topup


def balances(user) -> tuple[int, int]:
    available, held = wallet.client_accounts(user)
    available.refresh_from_db()
    held.refresh_from_db()
    return available.balance, held.balance


def place(user, body=None, key=None, **changes) -> Order:
    data = {**(body or BODY), **changes}
    return order_place(user=user, data=data, idempotency_key=key or f"key-{next(_keys)}")


def build_step(order) -> PipelineStep:
    return PipelineStep.objects.get(order=order, name=PipelineStep.Name.BUILD)


def set_switch(name: str, active: bool) -> None:
    Switch.objects.update_or_create(name=name, defaults={"active": active})


@pytest.fixture
def funded_client(db):
    user = make_client()
    fund(user, 1000)
    return user


# --- a scripted provider ---------------------------------------------------------------

SCRIPT: dict = {"pages": None, "errors": [], "calls": []}


def person(i: int, *, email=None, status="valid", **fields) -> PersonRecord:
    values = {
        "provider": "scripted",
        "provider_id": f"p{i}",
        "full_name": f"Person {i}",
        "title": "Director of Marketing",
        "company": f"Company {i % 7}",
        "company_domain": f"company{i % 7}.example",
        "email": email if email is not None else f"person{i}@company{i % 7}.example",
        "email_status": status,
        "country": "US",
    }
    values.update(fields)
    return PersonRecord(**values)


@register
class ScriptedProvider(Provider):
    """Pages of ``person(i)`` (or ``SCRIPT["pages"]``); raises the queued ``SCRIPT["errors"]`` first."""

    name = "scripted"
    fallback_name = "sandbox"

    def search(self, criteria, *, cursor, page_size, context):
        SCRIPT["calls"].append(cursor)
        if SCRIPT["errors"]:
            raise SCRIPT["errors"].pop(0)
        if SCRIPT["pages"] is not None:
            index = int(cursor or 0)
            pages = SCRIPT["pages"]
            return SearchPage(pages[index], str(index + 1) if index + 1 < len(pages) else None)
        start = int(cursor or 0)
        total = SCRIPT.get("total", 10_000)
        records = [person(i) for i in range(start, min(total, start + page_size))]
        nxt = start + page_size
        return SearchPage(records, str(nxt) if nxt < total else None, total)


@pytest.fixture
def scripted(db):
    SCRIPT.update(pages=None, errors=[], calls=[], total=10_000)
    yield SCRIPT
    SCRIPT.update(pages=None, errors=[], calls=[], total=10_000)


def use_provider(order, name: str) -> PipelineStep:
    step = build_step(order)
    PipelineStep.objects.filter(pk=step.pk).update(provider=name)
    step.refresh_from_db()
    return step
