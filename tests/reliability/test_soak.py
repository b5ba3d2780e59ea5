"""Soak on loopback: a real gunicorn and rqworker against this test's database; threads of
browsing clients, order placement over the API, top-ups paid by signed Stripe webhooks, and
SendCloud event bursts (with re-deliveries). Afterwards: zero 5xx, every webhook accounted
for, balances exact, ledger_check clean; p95 latencies printed.

CI runs it for SOAK_SECONDS (default 15); ``make soak`` runs 60 s."""

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from io import StringIO
from urllib.parse import urlencode

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from orders.models import Order
from qualification import sendcloud
from qualification.models import EmailEvent
from solosales.accounts.services import api_token_create
from tests.factories import make_client
from tests.orders.conftest import balances, fund
from tests.reliability.server import BASE_DIR, gunicorn, server_env
from wallet.models import StripeEvent, TopUp
from wallet.stripe_gateway import sign_payload

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SECONDS = float(os.environ.get("SOAK_SECONDS", "15"))
CLIENTS = 6


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)
        self.status = defaultdict(int)
        self.errors = []

    def call(self, kind, session, method, url, **kwargs):
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors.append(f"{kind}: {exc.__class__.__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latency[kind].append(elapsed)
            self.status[response.status_code // 100 * 100] += 1
            if response.status_code >= 500:
                self.errors.append(f"{kind} {method} {url}: {response.status_code} {response.text[:200]}")
        return response

    def table(self) -> str:
        lines = [f"{'request':<18}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"]
        for kind, raw in sorted(self.latency.items()):
            values = sorted(raw)
            p50, p95 = (values[min(len(values) - 1, int(q * len(values)))] * 1000 for q in (0.5, 0.95))
            lines.append(f"{kind:<18}{len(values):>7}{p50:>9.1f}{p95:>9.1f}{values[-1] * 1000:>9.1f}")
        return "\n".join(lines)


@contextlib.contextmanager
def rqworker():
    cmd = [sys.executable, str(BASE_DIR / "manage.py"), "rqworker", "default", "providers", "email", "webhooks"]
    proc = subprocess.Popen(
        [*cmd, "--with-scheduler"],
        cwd=BASE_DIR,
        env=server_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _stripe_body(topup_id, amount_minor, currency, event_id):
    session = {
        "object": "checkout.session",
        "client_reference_id": str(topup_id),
        "amount_total": amount_minor,
        "currency": currency,
        "payment_status": "paid",
        "payment_intent": f"pi_soak_{topup_id}",
    }
    event = {"id": event_id, "object": "event", "type": "checkout.session.completed", "created": int(time.time())}
    event["data"] = {"object": session}
    return json.dumps(event).encode()


def _sendcloud_event(n):
    timestamp = str(int(time.time() * 1000))
    token = secrets.token_hex(25)
    return {
        "event": ["deliver", "open", "click"][n % 3],
        "emailId": f"soak{n}0$lead{n}@example.com",
        "recipient": f"lead{n}@example.com",
        "timestamp": timestamp,
        "token": token,
        "signature": sendcloud.signature(timestamp=timestamp, token=token),
    }


@pytest.mark.django_db(transaction=True)
def test_soak_has_no_5xx_and_accounts_for_everything():
    users = [make_client() for _ in range(CLIENTS)]
    for user in users:
        fund(user, 2000)
    keys = [api_token_create(user=u, name="soak")[1] for u in users]
    cookies = []
    for user in users:
        c = Client()
        c.force_login(user)
        cookies.append(c.cookies["sessionid"].value)
    rec = Recorder()
    placed = defaultdict(list)  # user index -> order ids
    topups = defaultdict(list)  # user index -> (topup id, credits)
    sendcloud_sent = {}  # token -> deliveries
    stripe_sent = defaultdict(int)
    stop = threading.Event()
    lock = threading.Lock()

    def browser(i, base):
        s = requests.Session()
        s.cookies.set("sessionid", cookies[i])
        pages = ["/dashboard/", "/orders/", "/wallet/", "/orders/new/", "/disputes/", "/settings/tokens/"]
        n = 0
        while not stop.is_set():
            rec.call("page", s, "GET", base + pages[n % len(pages)])
            with lock:
                mine = list(placed[i][-3:])
            for pk in mine:
                rec.call("order page", s, "GET", f"{base}/orders/{pk}/")
            n += 1

    def buyer(i, base):
        s = requests.Session()
        s.headers["Authorization"] = f"Token {keys[i]}"
        n = 0
        while not stop.is_set():
            body = {"type": "list", "target_count": 10 + n % 5, "criteria": {"countries": ["US"]}}
            r = rec.call(
                "api place",
                s,
                "POST",
                base + "/api/v1/orders/",
                json=body,
                headers={"Idempotency-Key": f"soak-{i}-{n}"},
            )
            if r is not None and r.status_code == 201:
                with lock:
                    placed[i].append(r.json()["id"])
            rec.call("api orders", s, "GET", base + "/api/v1/orders/")
            r = rec.call("api topup", s, "POST", base + "/api/v1/wallet/topups/", json={"credits": 50 + n})
            if r is not None and r.status_code == 201:
                t = r.json()
                event_id = f"evt_soak_{t['id']}"
                body = _stripe_body(t["id"], t["amount_minor"], t["currency"], event_id)
                for _ in range(2 if n % 3 == 0 else 1):  # Stripe re-delivers some events
                    w = rec.call(
                        "stripe webhook",
                        requests,
                        "POST",
                        base + "/webhooks/stripe/",
                        data=body,
                        headers={"Stripe-Signature": sign_payload(body), "Content-Type": "application/json"},
                    )
                    if w is not None and w.status_code == 200:
                        with lock:
                            stripe_sent[event_id] += 1
                with lock:
                    topups[i].append((t["id"], t["credits"]))
            n += 1

    def sendcloud_burst(base):
        s = requests.Session()
        n = 0
        while not stop.is_set():
            burst = [_sendcloud_event(n + k) for k in range(20)]
            n += 20
            for data in burst + burst[:5]:  # five re-deliveries per burst
                r = rec.call(
                    "sendcloud webhook",
                    s,
                    "POST",
                    base + "/webhooks/sendcloud/",
                    data=urlencode(data),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                if r is not None and r.status_code == 200:
                    with lock:
                        sendcloud_sent[data["token"]] = sendcloud_sent.get(data["token"], 0) + 1
            time.sleep(0.2)

    with gunicorn(workers=2, threads=4, CONN_MAX_AGE=60) as base, rqworker():
        threads = [threading.Thread(target=browser, args=(i, base)) for i in range(CLIENTS)]
        threads += [threading.Thread(target=buyer, args=(i, base)) for i in range(CLIENTS)]
        threads += [threading.Thread(target=sendcloud_burst, args=(base,))]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        elapsed = time.monotonic() - started
        # let the worker finish what the load queued (bounded)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not StripeEvent.objects.filter(status=StripeEvent.Status.RECEIVED).exists() and not (
                EmailEvent.objects.filter(outcome=EmailEvent.Outcome.PENDING).exists()
            ):
                break
            time.sleep(0.5)

    total = sum(len(v) for v in rec.latency.values())
    print(f"\nsoak: {elapsed:.0f} s, {total} requests ({total / elapsed:.0f}/s), statuses {dict(rec.status)}")
    print(rec.table())
    assert not rec.errors, rec.errors[:10]
    assert total > 50
    # every Stripe event stored once and applied once; balances exact
    assert StripeEvent.objects.filter(event_id__in=list(stripe_sent)).count() == len(stripe_sent)
    assert not StripeEvent.objects.exclude(status=StripeEvent.Status.PROCESSED).filter(event_id__in=list(stripe_sent))
    for i, user in enumerate(users):
        paid = [t for t in topups[i] if f"evt_soak_{t[0]}" in stripe_sent]
        assert TopUp.objects.filter(pk__in=[t[0] for t in paid], status=TopUp.Status.PAID).count() == len(paid)
        held = sum(o.max_cost for o in Order.objects.filter(user=user))
        available, held_now = balances(user)
        assert held_now == held - sum(
            o.max_cost for o in Order.objects.filter(user=user, status__in=["cancelled", "failed", "delivered"])
        )
        assert available + held_now == 2000 + sum(c for _pk, c in paid) - sum(
            o.charged_credits for o in Order.objects.filter(user=user)
        )
    # every SendCloud delivery accounted for: one row per distinct body, re-deliveries counted on it
    rows = dict(EmailEvent.objects.filter(token__in=list(sendcloud_sent)).values_list("token", "repeat_count"))
    assert len(rows) == len(sendcloud_sent)
    assert all(rows[t] == n - 1 for t, n in sendcloud_sent.items())
    assert not EmailEvent.objects.filter(token__in=list(sendcloud_sent), outcome=EmailEvent.Outcome.PENDING).exists()
    call_command("ledger_check", stdout=StringIO())
