import pytest

from tests.orders.helpers import make_order

pytestmark = pytest.mark.django_db


def test_system_timeline_reasons_show_in_the_clients_language(logged_in, client_user):
    order = make_order(client_user)
    logged_in.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    html = logged_in.get(f"/orders/{order.pk}/").content.decode()
    assert "已下单" in html
    assert "Order placed" not in html
