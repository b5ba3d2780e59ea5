import pytest
from django.urls import reverse

from tests.factories import make_staff
from tests.wallet.conftest import make_event, session_obj
from wallet import services
from wallet.models import StripeEvent, Transfer

pytestmark = pytest.mark.django_db

ADJUST = "/admin/wallet/transfer/adjust/"


@pytest.fixture
def finance(client):
    client.force_login(make_staff(groups=("finance",)))
    return client


def test_finance_sees_the_ledger_read_only(finance, client_user, fund):
    topup = fund(client_user, 100)
    for name in ("account", "transfer", "hold", "topup", "stripeevent"):
        assert finance.get(f"/admin/wallet/{name}/").status_code == 200, name
    transfer = Transfer.objects.get(topup=topup)
    page = finance.get(f"/admin/wallet/transfer/{transfer.pk}/change/")
    assert page.status_code == 200 and b'name="amount"' not in page.content
    assert finance.get("/admin/wallet/transfer/add/").status_code == 403
    assert finance.post(f"/admin/wallet/transfer/{transfer.pk}/delete/").status_code == 403
    assert finance.get(f"/admin/wallet/topup/{topup.pk}/history/").status_code == 200
    assert finance.get("/admin/wallet/transfer/?q=" + client_user.email).status_code == 200
    assert finance.get("/admin/wallet/topup/?status__exact=paid").status_code == 200


def test_finance_posts_an_adjustment_through_the_form(finance, client_user):
    form = finance.get(ADJUST)
    assert form.status_code == 200
    key = form.context["form"].initial["key"]
    data = {"email": client_user.email, "amount": "25", "reason_code": "goodwill", "memo": "late delivery", "key": key}
    response = finance.post(ADJUST, data)
    assert response.status_code == 302
    transfer = Transfer.objects.get(kind="adjustment")
    assert (transfer.amount, transfer.reason_code, transfer.memo) == (25, "goodwill", "late delivery")
    assert transfer.actor.groups.filter(name="finance").exists()
    finance.post(ADJUST, data)  # a double submit posts nothing twice
    assert Transfer.objects.filter(kind="adjustment").count() == 1
    assert services.client_accounts(client_user)[0].balance == 25


def test_adjustment_form_errors(finance, client_user):
    base = {"email": client_user.email, "amount": "-10", "reason_code": "clawback", "memo": "x", "key": "adjustment:k"}
    response = finance.post(ADJUST, base)
    assert response.status_code == 200 and "Not enough credits" in response.content.decode()
    response = finance.post(ADJUST, {**base, "amount": "0"})
    assert response.context["form"].errors["amount"]
    response = finance.post(ADJUST, {**base, "email": "nobody@example.com", "amount": "5"})
    assert response.context["form"].errors["email"]
    assert not Transfer.objects.filter(kind="adjustment").exists()


def test_ops_qa_cannot_post_adjustments(client, client_user):
    client.force_login(make_staff(groups=("ops_qa",)))
    assert client.get(ADJUST).status_code == 403
    data = {"email": client_user.email, "amount": "25", "reason_code": "goodwill", "memo": "x", "key": "adjustment:q"}
    assert client.post(ADJUST, data).status_code == 403
    assert not Transfer.objects.filter(kind="adjustment").exists()
    assert client.get("/admin/wallet/transfer/").status_code == 403


def test_reprocess_action_applies_a_failed_event(finance, client_user, deliver):
    topup = services.topup_start(user=client_user, credits=100)
    obj = session_obj(topup, client_reference_id=None, metadata={}, id="cs_typo")
    deliver(make_event("checkout.session.completed", obj))
    event = StripeEvent.objects.get()
    assert event.status == "failed"
    # ops find the cause (here: the session id was not recorded) and re-process
    type(topup).objects.filter(pk=topup.pk).update(stripe_session_id="cs_typo")
    response = finance.post(
        reverse("admin:wallet_stripeevent_changelist"), {"action": "reprocess", "_selected_action": [event.pk]}
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == "processed" and event.attempts == 2
    assert services.client_accounts(client_user)[0].balance == 100


def test_ledger_lists_link_each_transfer_and_hold_to_its_order(finance, client_user, fund):
    from tests.orders.helpers import make_order

    order = make_order(client_user, status="delivered", leads=2)
    link = f'href="/admin/orders/order/{order.pk}/change/"'
    assert link in finance.get(f"/admin/wallet/transfer/?q={order.pk}").content.decode()
    assert link in finance.get("/admin/wallet/hold/").content.decode()
    assert finance.get("/admin/wallet/pricingversion/?q=1").status_code in (200, 302)
