"""Wallet test helpers: funding, signed Stripe events, and the teardown of transactional tests.

Transactional tests (``django_db(transaction=True)``) end with Django's flush, a TRUNCATE of
every table, which the append-only triggers refuse. Around that teardown the user triggers
are switched off, then on again, and the rows the data migrations seed (switches, groups,
pricing v1, platform accounts, rules v1) are put back so later tests, and later runs on the
reused database, still find them.
"""

import json
import time
import uuid

import pytest

from tests.db_triggers import pytest_runtest_teardown, reseed  # noqa: E402,F401  (also registered in tests/conftest.py)
from wallet.stripe_gateway import sign_payload


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
