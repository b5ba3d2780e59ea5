import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD, make_client

pytestmark = pytest.mark.django_db

STRONG = "Ledger-Credits-2026!"


def _signup(client, email="new@example.com", p1=STRONG, p2=STRONG):
    return client.post(reverse("account_signup"), {"email": email, "password1": p1, "password2": p2})


def _confirmation_link(message_body):
    match = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", message_body)
    assert match, message_body
    return match.group(0).split("testserver", 1)[-1]


def test_signup_verify_login_dashboard(client):
    response = _signup(client)
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new@example.com")
    assert len(mail.outbox) == 1
    assert "new@example.com" in mail.outbox[0].to
    # Unverified: the portal is closed.
    assert client.get(reverse("dashboard")).status_code == 302
    link = _confirmation_link(mail.outbox[0].body)
    response = client.post(link)
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    client.logout()
    response = client.post(reverse("account_login"), {"login": "new@example.com", "password": STRONG})
    assert response.status_code == 302
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert b"Welcome" in response.content


def test_unverified_user_is_kept_out_of_portal_pages(client):
    user = make_client(verified=False)
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert reverse("account_email_verification_sent") in response["Location"]
    response = client.get(reverse("api-me"))
    assert response.status_code == 403


def test_outsider_is_redirected_to_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize(
    ("email", "p1", "p2", "fragment"),
    [
        ("not-an-email", STRONG, STRONG, b"valid email"),
        ("weak@example.com", "12345", "12345", b"too short"),
        ("mismatch@example.com", STRONG, STRONG + "x", b"same password"),
    ],
)
def test_bad_signups_get_a_message_and_change_nothing(client, email, p1, p2, fragment):
    before = get_user_model().objects.count()
    response = _signup(client, email, p1, p2)
    assert response.status_code == 200
    assert fragment in response.content.lower()
    assert get_user_model().objects.count() == before
    assert mail.outbox == []


def test_taken_email_is_refused(client):
    make_client(email="taken@example.com")
    before = get_user_model().objects.count()
    response = _signup(client, email="taken@example.com")
    assert get_user_model().objects.count() == before
    # allauth does not reveal accounts by default: either a form error or a "check your mail" page,
    # and in both cases no second account.
    assert response.status_code in (200, 302)


def test_reused_or_bogus_verification_link_is_refused(client):
    _signup(client)
    link = _confirmation_link(mail.outbox[0].body)
    assert client.post(link).status_code == 302
    client.logout()
    response = client.post(link)
    # Second use: link already used, no error page crash.
    assert response.status_code in (200, 302, 404)
    response = client.get("/accounts/confirm-email/bogus-key/")
    assert response.status_code in (200, 404)
    assert b"expired or is invalid" in response.content or response.status_code == 404


def test_bad_login_gets_a_message(client):
    make_client(email="someone@example.com")
    response = client.post(reverse("account_login"), {"login": "someone@example.com", "password": "wrong-password"})
    assert response.status_code == 200
    assert b"not correct" in response.content


def test_login_is_throttled_after_repeated_failures(client):
    make_client(email="target@example.com")
    statuses = []
    for _ in range(7):
        response = client.post(reverse("account_login"), {"login": "target@example.com", "password": "nope-nope-nope"})
        statuses.append(response.status_code)
    assert 429 in statuses or b"Too many failed login attempts" in response.content
    # Even the right password is refused while throttled.
    response = client.post(reverse("account_login"), {"login": "target@example.com", "password": PASSWORD})
    assert response.status_code in (200, 429)


def test_password_reset_sends_mail(client):
    make_client(email="forgot@example.com")
    response = client.post(reverse("account_reset_password"), {"email": "forgot@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "forgot@example.com" in mail.outbox[0].to


def test_an_expired_verification_link_verifies_nothing(client, settings):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    _signup(client, email="late@example.com")
    link = _confirmation_link(mail.outbox[0].body)
    later = timezone.now() + timedelta(days=settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS, hours=1)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        response = client.post(link)
    assert not EmailAddress.objects.get(email="late@example.com").verified
    assert response.status_code in (200, 404)
    assert client.get(reverse("dashboard")).status_code == 302  # the portal stays closed


def test_change_email_needs_the_new_address_verified_before_it_counts(client):
    user = make_client(email="old@example.com")
    client.force_login(user)
    response = client.post(reverse("account_email"), {"action_add": "", "email": "new-address@example.com"})
    assert response.status_code == 302
    new = EmailAddress.objects.get(user=user, email="new-address@example.com")
    assert not new.verified and len(mail.outbox) == 1
    user.refresh_from_db()
    assert user.email == "old@example.com"  # unchanged until confirmed
    assert client.post(_confirmation_link(mail.outbox[0].body)).status_code == 302
    new.refresh_from_db()
    user.refresh_from_db()
    assert new.verified and new.primary and user.email == "new-address@example.com"
    assert not EmailAddress.objects.filter(user=user, email="old@example.com").exists()  # ACCOUNT_CHANGE_EMAIL


def test_logout_needs_a_post_and_ends_the_session(client):
    client.force_login(make_client(email="bye@example.com"))
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("account_logout"))
    assert client.get(reverse("dashboard")).status_code == 302
