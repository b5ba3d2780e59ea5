"""Staff sign in to /admin/ through the portal's rate-limited login; the admin's own form
never checks a password."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, make_client, make_staff

pytestmark = pytest.mark.django_db


def test_the_admin_sends_visitors_to_the_portal_login_and_back(client):
    response = client.get("/admin/orders/order/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login") + "?next=/admin/orders/order/"
    staff = make_staff()
    response = client.post(response["Location"], {"login": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/orders/order/"
    assert client.get("/admin/orders/order/").status_code == 200


def test_a_password_posted_to_the_admin_form_is_never_checked(client):
    staff = make_staff()
    response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


def test_failed_staff_logins_are_throttled_like_everyone_elses(client):
    staff = make_staff()
    url = reverse("account_login") + "?next=/admin/"
    for _ in range(7):
        response = client.post(url, {"login": staff.email, "password": "wrong-password"})
    assert response.status_code == 429 or b"Too many failed login attempts" in response.content
    # even the right password is refused while throttled
    response = client.post(url, {"login": staff.email, "password": PASSWORD})
    assert response.status_code in (200, 429) and "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_a_signed_in_client_without_admin_access_sees_the_not_authorized_page(client):
    client.force_login(make_client())
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 200
    assert b"not authorized" in response.content
