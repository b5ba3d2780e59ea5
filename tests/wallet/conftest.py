"""Wallet test helpers: funding, signed Stripe events, and the teardown of transactional tests.

Transactional tests (``django_db(transaction=True)``) end with Django's flush, a TRUNCATE of
every table, which the append-only triggers refuse. Around that teardown the user triggers
are switched off, then on again, and the rows the data migrations seed (switches, groups,
pricing v1, platform accounts, rules v1) are put back so later tests, and later runs on the
reused database, still find them.
"""

import importlib
import json
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from wallet.stripe_gateway import sign_payload

SEEDS = [
    ("solosales.core.migrations.0002_switches_and_groups", "forwards"),
    ("wallet.migrations.0002_append_only_and_seed", "seed"),
    ("orders.migrations.0002_seed_rules_v1", "seed"),
]


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return "transactional_db" in getattr(item, "fixturenames", ())
    return bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))


def _user_trigger_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND n.nspname = current_schema()
            """
        )
        return [row[0] for row in cursor.fetchall()]


def _set_triggers(enabled: bool) -> None:
    with connection.cursor() as cursor:
        for table in _user_trigger_tables():
            cursor.execute(f'ALTER TABLE "{table}" {"ENABLE" if enabled else "DISABLE"} TRIGGER USER')


def reseed() -> None:
    from django.apps import apps

    for module, func in SEEDS:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        getattr(mod, func)(apps, None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    from pytest_django.plugin import blocking_manager_key

    active = (
        settings.SERVICES["postgres"]
        and _is_transactional(item)
        and not any(m.name == "skip" for m in item.iter_markers())
    )
    blocker = item.config.stash[blocking_manager_key]
    if active:
        with blocker.unblock():
            _set_triggers(False)
    try:
        yield
    finally:
        if active:
            with blocker.unblock():
                _set_triggers(True)
                reseed()


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def fund():
    """fund(user, credits) -> TopUp: a paid top-up credited through the webhook's settle path."""
    from wallet.services import topup_seed_paid

    def _fund(user, credits):
        return topup_seed_paid(user=user, credits=credits, session_id=f"cs_test_{uuid.uuid4().hex}")

    return _fund


def make_event(event_type: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def signed(event: dict | bytes, *, timestamp: int | None = None, secret: str | None = None) -> tuple[bytes, str]:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return body, sign_payload(body, timestamp=timestamp, secret=secret)


def session_obj(topup, **extra) -> dict:
    return {
        "id": topup.stripe_session_id,
        "object": "checkout.session",
        "client_reference_id": str(topup.pk),
        "metadata": {"topup_id": str(topup.pk), "credits": str(topup.credits)},
        "payment_status": "paid",
        "status": "complete",
        "amount_total": topup.amount_minor,
        "currency": topup.currency,
        "payment_intent": f"pi_{topup.pk}_{uuid.uuid4().hex[:8]}",
        **extra,
    }


@pytest.fixture
def post_event(client):
    """post_event(event_dict_or_bytes, **sign_kwargs) -> response from /webhooks/stripe/."""

    def _post(event, *, signature: str | None = None, **kwargs):
        body, header = signed(event, **kwargs)
        headers = {} if signature == "" else {"HTTP_STRIPE_SIGNATURE": signature or header}
        return client.post("/webhooks/stripe/", data=body, content_type="application/json", **headers)

    return _post


@pytest.fixture
def deliver(post_event, django_capture_on_commit_callbacks, run_jobs):
    """Post a signed event and run the queued processing, like Stripe + a worker would."""

    def _deliver(event, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_event(event, **kwargs)
        drain()
        return response

    def drain():
        # Jobs enqueue follow-ups (deferred events) on commit: run until nothing new is queued.
        for _ in range(5):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                run_jobs(["webhooks"])
            if not callbacks:
                break

    _deliver.drain = drain
    _deliver.capture = django_capture_on_commit_callbacks

    return _deliver
