"""Pricing and rules versions in admin: an unused version can be edited; one that an order
or top-up used meanwhile (after the form was opened) is refused and left unchanged."""

import pytest

from orders.models import RulesVersion
from tests.factories import make_staff
from wallet.models import PricingVersion

pytestmark = pytest.mark.django_db


def _form_data(response):
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = value if not isinstance(value, bool) else ("on" if value else "")
    return {k: v for k, v in data.items() if v != ""}


def _unused_copy(model):
    """A new, never used version copied from the active one (a used version cannot be made
    unused again: wallet 0006, orders 0004)."""
    active = model.objects.get(active=True)
    values = {
        f.name: getattr(active, f.name)
        for f in model._meta.concrete_fields
        if f.name not in ("id", "version", "active", "used", "created_at")
    }
    last = model.objects.order_by("-version").first().version
    return model.objects.create(version=last + 1, **values)


@pytest.mark.parametrize(
    ("model", "url", "field"),
    [
        (PricingVersion, "/admin/wallet/pricingversion/{}/change/", "list_lead_price"),
        (RulesVersion, "/admin/orders/rulesversion/{}/change/", "qa_sample_size"),
    ],
)
def test_a_version_used_after_the_form_opened_is_not_edited(client, model, url, field):
    client.force_login(make_staff(superuser=True))
    version = _unused_copy(model)
    before = getattr(version, field)
    page = client.get(url.format(version.pk))
    assert page.status_code == 200
    data = _form_data(page)
    data[field] = before + 1

    model.objects.filter(pk=version.pk).update(used=True)  # an order used it meanwhile
    assert client.post(url.format(version.pk), data).status_code == 403
    version.refresh_from_db()
    assert getattr(version, field) == before and version.used

    unused = _unused_copy(model)  # unused: the edit goes through
    page = client.get(url.format(unused.pk))
    data = _form_data(page)
    data[field] = before + 1
    response = client.post(url.format(unused.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    unused.refresh_from_db()
    assert getattr(unused, field) == before + 1 and not unused.used
