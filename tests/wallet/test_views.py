import csv
import io

import pytest
from django.urls import reverse

from tests.factories import make_staff
from wallet import services
from wallet.models import StripeEvent, TopUp

pytestmark = pytest.mark.django_db


def test_the_test_checkout_tops_up_500_credits_end_to_end(logged_in, client_user, deliver):
    response = logged_in.post(reverse("wallet:topup_new"), {"credits": "500"})
    topup = TopUp.objects.get(user=client_user)
    assert response.status_code == 302 and response.url == f"/wallet/test-checkout/{topup.pk}/"
    page = logged_in.get(response.url)
    assert page.status_code == 200 and "500.00 CNY" in page.content.decode()

    with deliver.capture(execute=True):
        paid = logged_in.post(response.url, {"action": "pay"})
    deliver.drain()
    assert paid.status_code == 302 and paid.url.startswith(f"/wallet/topups/{topup.pk}/success/?session_id=cs_local_")
    event = StripeEvent.objects.get()
    assert (event.type, event.status) == ("checkout.session.completed", "processed")

    topup.refresh_from_db()
    assert topup.status == "paid"
    wallet = logged_in.get(reverse("wallet:index"))
    assert 'id="available-balance">500<' in wallet.content.decode()
    assert logged_in.get("/api/v1/wallet/").json()["available"] == 500
    success = logged_in.get(paid.url)
    assert "500 credits were added" in success.content.decode()


def test_the_test_checkout_cancel_expires_the_topup(logged_in, client_user, deliver):
    topup = services.topup_start(user=client_user, credits=100)
    with deliver.capture(execute=True):
        response = logged_in.post(f"/wallet/test-checkout/{topup.pk}/", {"action": "cancel"})
    deliver.drain()
    assert response.status_code == 302 and response.url == f"/wallet/topups/{topup.pk}/cancel/"
    topup.refresh_from_db()
    assert topup.status == "expired"
    assert services.client_accounts(client_user)[0].balance == 0


def test_the_success_page_never_credits(logged_in, client_user):
    topup = services.topup_start(user=client_user, credits=100)
    response = logged_in.get(f"/wallet/topups/{topup.pk}/success/?session_id={topup.stripe_session_id}")
    assert response.status_code == 200 and "waiting for the payment confirmation" in response.content.decode()
    topup.refresh_from_db()
    assert topup.status == "pending" and services.client_accounts(client_user)[0].balance == 0


def test_the_test_checkout_is_gone_when_stripe_is_configured(logged_in, client_user, settings):
    topup = services.topup_start(user=client_user, credits=100)
    settings.STRIPE_SECRET_KEY = "sk_test_real"
    assert logged_in.get(f"/wallet/test-checkout/{topup.pk}/").status_code == 404


def test_without_the_test_checkout_nothing_stands_in_for_stripe(logged_in, client_user, settings):
    """Production (TEST_CHECKOUT off, no STRIPE_SECRET_KEY): no local checkout page, and no
    top-up can be started, so nothing can be credited without a payment."""
    topup = services.topup_start(user=client_user, credits=100)
    settings.TEST_CHECKOUT = False
    assert logged_in.get(f"/wallet/test-checkout/{topup.pk}/").status_code == 404
    assert logged_in.post(f"/wallet/test-checkout/{topup.pk}/", {"action": "pay"}).status_code == 404
    response = logged_in.post(reverse("wallet:topup_new"), {"credits": "100"})
    assert response.status_code == 400
    assert TopUp.objects.count() == 1
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.PENDING
    assert services.client_accounts(client_user)[0].balance == 0


@pytest.mark.parametrize("credits", ["", "abc", "12.5", "49", "100001"])
def test_the_topup_form_refuses_bad_amounts(logged_in, credits):
    response = logged_in.post(reverse("wallet:topup_new"), {"credits": credits})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert TopUp.objects.count() == 0


def test_the_topup_form_says_when_topups_are_off(logged_in):
    from waffle.models import Switch

    Switch.objects.filter(name="stripe_topups").update(active=False)
    response = logged_in.post(reverse("wallet:topup_new"), {"credits": "100"})
    assert response.status_code == 400
    assert "switched off" in response.content.decode()


def test_outsiders_get_404_on_another_clients_topup(client, client_user, other_client):
    topup = services.topup_start(user=client_user, credits=100)
    client.force_login(other_client)
    for path in (
        f"/wallet/topups/{topup.pk}/",
        f"/wallet/topups/{topup.pk}/success/",
        f"/wallet/topups/{topup.pk}/cancel/",
        f"/wallet/test-checkout/{topup.pk}/",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/wallet/test-checkout/{topup.pk}/", {"action": "pay"}).status_code == 404
    assert client.get(f"/api/v1/wallet/topups/{topup.pk}/").status_code == 404
    assert client.get(f"/api/v1/wallet/topups/{topup.pk}/").json()["error"]["code"] == "not_found"


def test_wallet_page_shows_statement_low_balance_and_topups(
    logged_in, client_user, fund, django_assert_max_num_queries
):
    topup = fund(client_user, 40)
    services.hold_place(user=client_user, amount=15, key="order:77:hold", order_id=77)
    with django_assert_max_num_queries(12):
        response = logged_in.get(reverse("wallet:index"))
    html = response.content.decode()
    assert "Your balance is low: 25 credits left" in html
    assert f"top-up #{topup.pk}" in html and "order #77" in html
    assert "+40" in html and "−15" in html
    assert 'id="held-balance">15<' in html
    assert "badge-ok" in html


def test_statement_is_paginated(logged_in, client_user, fund):
    fund(client_user, 100)
    for i in range(30):
        services.hold_place(user=client_user, amount=1, key=f"h:{i}", order_id=i)
    first = logged_in.get(reverse("wallet:index"))
    assert len(first.context["page"].object_list) == 25
    second = logged_in.get(reverse("wallet:index") + "?page=2")
    assert len(second.context["page"].object_list) == 6


def test_statement_csv_is_streamed_and_neutralises_formulas(logged_in, client_user, fund):
    staff = make_staff()
    fund(client_user, 100)
    services.adjustment_post(
        user=client_user, amount=5, reason_code="goodwill", actor=staff, key="adj:csv", memo='=HYPERLINK("http://x")'
    )
    services.adjustment_post(
        user=client_user, amount=-2, reason_code="correction", actor=staff, key="adj:csv2", memo="@SUM(A1)"
    )
    response = logged_in.get(reverse("wallet:statement_csv"))
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["Date", "Kind", "Reference", "Account", "Direction", "Credits", "Balance after", "Note"]
    assert rows[1][1:] == ["Adjustment", "", "available", "out", "2", "103", "'@SUM(A1)"]
    assert rows[2][1:] == ["Adjustment", "", "available", "in", "5", "105", '\'=HYPERLINK("http://x")']
    assert rows[3][1] == "Top-up" and rows[3][5:7] == ["100", "100"]


def test_csv_safe_covers_every_formula_prefix():
    from wallet.views import csv_safe

    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_safe(prefix + "1").startswith("'")
    assert csv_safe("plain") == "plain" and csv_safe(12) == "12"


def test_dashboard_shows_the_wallet_panel(logged_in, client_user, fund):
    fund(client_user, 321)
    html = logged_in.get("/dashboard/").content.decode()
    assert "321" in html and reverse("wallet:index") in html


def test_wallet_pages_need_a_verified_client(client):
    assert client.get(reverse("wallet:index")).status_code == 302


def test_wallet_page_in_chinese(logged_in):
    logged_in.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = logged_in.get(reverse("wallet:index")).content.decode()
    assert "可用" in html and "购买积分" in html


def test_the_wallet_page_shows_each_hold_with_what_was_charged_and_returned(logged_in, client_user, fund):
    fund(client_user, 300)
    settled = services.hold_place(user=client_user, amount=200, key="order:7:hold", order_id=7)
    services.hold_capture(hold=settled, amount=150, key="order:7:qa1")
    services.hold_place(user=client_user, amount=40, key="order:8:hold", order_id=8)

    page = logged_in.get(reverse("wallet:index")).content.decode()
    holds = page[page.index('id="holds"') :]
    holds = holds[: holds.index("</table>")]
    rows = holds.split("<tr>")[2:]
    assert len(rows) == 2
    newest, oldest = rows
    assert "order #8" in newest and '<td class="num">40</td>' in newest and "Held" in newest
    assert "order #7" in oldest and "Settled" in oldest
    held, charged, returned = (oldest.index(f'<td class="num">{n}</td>') for n in (200, 150, 50))
    assert held < charged < returned
    assert 'id="available-balance">110<' in page and 'id="held-balance">40<' in page


def test_a_client_never_sees_another_clients_holds(logged_in, other_client, fund):
    other = other_client
    fund(other, 100)
    services.hold_place(user=other, amount=30, key="order:9:hold", order_id=9)
    page = logged_in.get(reverse("wallet:index")).content.decode()
    assert "order #9" not in page and "No credits held yet." in page


def test_the_statement_shows_what_an_order_was_charged_out_of_held_credits(logged_in, client_user, fund):
    fund(client_user, 100)
    hold = services.hold_place(user=client_user, amount=30, key="order:9:hold", order_id=9)
    services.hold_capture(hold=hold, amount=12, key="order:9:qa1")
    page = logged_in.get(reverse("wallet:index"))
    kinds = [t.kind for t in page.context["page"]]
    assert kinds == ["release", "capture", "hold", "topup"]
    charge = next(t for t in page.context["page"] if t.kind == "capture")
    assert (charge.account, charge.direction, charge.amount, charge.balance_after) == ("held", "out", 12, 18)
    html = page.content.decode()
    assert ">Charge<" in html and "held</span>" in html  # the kind's label, and the account
