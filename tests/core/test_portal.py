import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from waffle.models import Switch

from solosales.core.flags import SWITCHES

pytestmark = pytest.mark.django_db


def test_language_switch_renders_chinese(logged_in):
    response = logged_in.post(reverse("set_language"), {"language": "zh-hans", "next": "/dashboard/"})
    assert response.status_code == 302
    response = logged_in.get("/dashboard/")
    assert response.status_code == 200
    assert "钱包" in response.content.decode()
    assert "仪表板" in response.content.decode()


def test_language_choice_is_remembered_on_the_user(logged_in, client_user):
    logged_in.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    client_user.refresh_from_db()
    assert client_user.language == "zh-hans"


def test_token_auth_on_me(client, client_user):
    from solosales.accounts.services import api_token_create

    _, key = api_token_create(user=client_user, name="CRM")
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json() == {"id": client_user.id, "email": client_user.email, "language": "en", "is_staff": False}
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token wrong")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert client.get("/api/v1/me/").status_code == 401


def test_revoked_token_no_longer_works(client, client_user):
    from solosales.accounts.services import api_token_create, api_token_revoke

    token, key = api_token_create(user=client_user, name="CRM")
    api_token_revoke(user=client_user, token_id=token.id)
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_token_page_creates_and_revokes(logged_in, client_user, other_client):
    response = logged_in.post(reverse("tokens"), {"name": "Zapier"})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key.startswith("ss_")
    token = client_user.api_tokens.get()
    assert token.key_hash != key and key not in token.key_hash
    # another client's token cannot be revoked by id
    from solosales.accounts.services import api_token_create

    theirs, _ = api_token_create(user=other_client, name="theirs")
    logged_in.post(reverse("token-revoke", args=[theirs.id]))
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    logged_in.post(reverse("token-revoke", args=[token.id]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_token_page_refuses_an_empty_name(logged_in, client_user):
    response = logged_in.post(reverse("tokens"), {"name": ""})
    assert response.status_code == 200
    assert client_user.api_tokens.count() == 0


def test_switches_exist_with_their_defaults():
    for name, (default, _) in SWITCHES.items():
        assert Switch.objects.get(name=name).active is default


def test_staff_groups_exist():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"ops_qa", "ops_arbitration", "finance"}


def test_seed_demo_twice_gives_the_same_state():
    call_command("seed_demo", "--users-only")
    User = get_user_model()
    first = sorted(User.objects.values_list("email", "is_staff", "is_superuser"))
    call_command("seed_demo", "--users-only")
    assert sorted(User.objects.values_list("email", "is_staff", "is_superuser")) == first
    assert User.objects.filter(email="demo@example.com").count() == 1


def test_api_schema_and_docs_are_served_locally(client):
    assert client.get("/api/schema/").status_code == 200
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn" not in response.content.lower()


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 20 + "production-secret-key-for-the-check-0123456789",
    "ALLOWED_HOSTS": "solosales.example",
    "STRIPE_SECRET_KEY": "sk_live_for_the_check",
    "STRIPE_WEBHOOK_SECRET": "whsec_for_the_check",
    "SENDCLOUD_APP_KEY": "sendcloud-app-key-for-the-check",
    "DJANGO_SETTINGS_MODULE": "solosales.settings",
    "PATH": "/usr/bin:/bin",
}


def _check_deploy(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = _check_deploy(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("STRIPE_WEBHOOK_SECRET", "solosales.E001"),
        ("SENDCLOUD_APP_KEY", "solosales.E002"),
        ("STRIPE_SECRET_KEY", "solosales.W001"),
    ],
)
def test_production_refuses_to_run_with_a_local_stand_in(unset, message):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != unset}
    result = _check_deploy(env)
    assert result.returncode != 0 and message in result.stdout + result.stderr


def test_production_refuses_the_test_checkout():
    result = _check_deploy({**PRODUCTION_ENV, "TEST_CHECKOUT": "1"})
    assert result.returncode != 0 and "solosales.E003" in result.stdout + result.stderr


def test_production_settings_use_argon2_secure_cookies_and_csp():
    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.PASSWORD_HASHERS[0], s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS>0,"
        " s.LANGUAGE_COOKIE_SECURE)"
    )
    env = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "y" * 60,
        "DJANGO_SETTINGS_MODULE": "solosales.settings",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "True",
        "True",
        "True",
        "True",
    ], result.stderr


def test_csp_header_is_sent(client):
    response = client.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_with_secure_cookies_every_cookie_the_portal_sets_is_secure(client, settings):
    """As in production: the session, CSRF and language cookies carry Secure (and the
    session cookie HttpOnly); passwords are stored with argon2."""
    from tests.factories import PASSWORD, make_client

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = make_client(email="secure@example.com")
    user.set_password(PASSWORD)
    user.save()
    assert user.password.startswith("argon2$")
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] and response.cookies["sessionid"]["httponly"]
    assert response.cookies["csrftoken"]["secure"]  # rotated at login
    response = client.post(reverse("preferences"), {"language": "zh-hans", "timezone": "Asia/Shanghai"})
    assert response.cookies["django_language"]["secure"]
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.cookies["django_language"]["secure"]
