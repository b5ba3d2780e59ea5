"""``manage.py simulate --seed N --steps M``: a seeded, replayable fault simulation.

Many clients and orders go through random lifecycles — Stripe top-ups (signed webhooks,
duplicated, delayed, async pairs delivered in reverse), order placement over the API (with
idempotent replays), QA#1/QA#2 pass and fail, cancels, nurture emails with signed SendCloud
events (duplicated, shuffled, stale, reused tokens), provider 429/5xx/timeouts from the fake
RocketReach server on 127.0.0.1, enqueues lost after commit, and real ``rqworker``
subprocesses SIGKILLed mid-job and replaced. After every step the database is compared with
a shadow model of every balance and order status; at the end ``ledger_check`` runs. A
failure names the step and the seed that replays it.

Why this lives in disputes (the highest layer): the simulation drives every app, and only
the top layer may import all of them at module level (solosales.core must not).

Needs Redis: jobs run on the real queues and are drained in-process between steps (with
the sweepers, time fast-forwarded), so a run is deterministic for its seed apart from where
a SIGKILL lands. It creates its own clients (``sim-<seed>-<run>-<n>@sim.example``) and
checks only their balances and orders, so it may run on the demo database too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from io import StringIO
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from orders.models import Lead, Order, OrderStatus, PipelineStep
from orders.pipeline import sweep
from orders.services import order_qa_decide
from providers.breakers import reset_breakers
from providers.fakes import Fault, serve
from providers.fakes.rocketreach import FakeRocketReach
from providers.ratelimit import reset_limiters
from qualification import sendcloud
from qualification import services as qualification
from qualification.models import EmailEvent, EmailMessage
from solosales.accounts.services import api_token_create
from solosales.core import jobs as core_jobs
from solosales.core.probe import redis_answers
from wallet import services as wallet
from wallet.models import StripeEvent, TopUp
from wallet.stripe_events import stripe_events_sweep
from wallet.stripe_gateway import sign_payload

S = OrderStatus
St = PipelineStep.Status
QUEUES = ["default", "providers", "email", "webhooks"]
FAKE_KEY = "sim-rocketreach-key"
ACTIVE_STEPS = (St.PENDING, St.RUNNING, St.WAITING)
BUILDING = (S.QUEUED, S.BUILDING, S.PAUSED)
PAGE_SIZE = 10


class SimulationFailed(AssertionError):
    pass


@dataclass
class ShadowOrder:
    pk: int
    client: int
    type: str
    unit: int
    hold: int
    status: str = S.QUEUED.value
    charged: int = 0


@dataclass
class ShadowTopUp:
    pk: int
    client: int
    credits: int
    paid: bool = False
    expired: bool = False


@dataclass
class Shadow:
    available: dict[int, int] = field(default_factory=dict)
    held: dict[int, int] = field(default_factory=dict)
    orders: dict[int, ShadowOrder] = field(default_factory=dict)
    topups: dict[int, ShadowTopUp] = field(default_factory=dict)
    stripe_events: dict[str, int] = field(default_factory=dict)  # event id -> deliveries
    sc_tokens: dict[str, int] = field(default_factory=dict)  # accepted token -> deliveries of its body
    sc_refused: dict[str, str] = field(default_factory=dict)  # token -> expected refusal outcome


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


class World:
    def __init__(self, *, seed: int, steps: int, clients: int, kill_workers: bool, fake, fake_url: str, out):
        self.seed, self.steps, self.kill_workers = seed, steps, kill_workers
        self.rng = random.Random(seed)
        self.fake, self.fake_url, self.out = fake, fake_url, out
        self.shadow = Shadow()
        self.backlog: list[tuple[str, bytes]] = []  # delayed Stripe deliveries (event id, body)
        self.counts: dict[str, int] = {}
        self.run_tag = uuid.uuid4().hex[:6]
        self.pricing = wallet.pricing_active()
        self.users = [self._persona(i) for i in range(clients)]
        self.apis = []
        for user in self.users:
            _token, key = api_token_create(user=user, name="simulation")
            self.apis.append(Client(HTTP_AUTHORIZATION=f"Token {key}"))
            self.shadow.available[user.pk] = 0
            self.shadow.held[user.pk] = 0
        self.web = Client()
        self._sc_bodies: dict[str, dict] = {}
        self.engaged: set[int] = set()
        self.staff = self._persona("staff", staff=True)

    def _persona(self, n, *, staff=False):
        email = f"sim-{self.seed}-{self.run_tag}-{n}@sim.example"
        user = get_user_model().objects.create_user(email=email, password=secrets.token_urlsafe(12), is_staff=staff)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        if staff:
            user.groups.set(Group.objects.filter(name__in=["ops_qa", "ops_arbitration", "finance"]))
        return user

    # --- running -------------------------------------------------------------------------

    def run(self) -> dict:
        actions = [
            (self.topup, 14),
            (self.place, 16),
            (self.replay_place, 3),
            (self.cancel, 6),
            (self.qa1, 14),
            (self.engage, 8),
            (self.finish_nurture, 4),
            (self.qa2, 5),
            (self.provider_fault, 6),
            (self.lost_enqueue, 3),
            (self.deliver_backlog, 4),
            (self.drain_action, 10),
            (self.kill_worker, 3 if self.kill_workers else 0),
        ]
        funcs = [a for a, w in actions for _ in range(w)]
        started = time.monotonic()
        for step in range(1, self.steps + 1):
            action = self.rng.choice(funcs)
            name = action.__name__
            try:
                action()
                self.check()
            except Exception as exc:
                raise SimulationFailed(
                    f"step {step} ({name}) failed: {exc.__class__.__name__}: {exc}\n"
                    f"replay with: manage.py simulate --seed {self.seed} --steps {self.steps}"
                ) from exc
            self.counts[name] = self.counts.get(name, 0) + 1
        try:
            self.deliver_backlog(all_of_it=True)
            self.drain()
            self.check()
            out = StringIO()
            call_command("ledger_check", stdout=out, stderr=out)
        except Exception as exc:
            raise SimulationFailed(
                f"final check failed: {exc.__class__.__name__}: {exc}\n"
                f"replay with: manage.py simulate --seed {self.seed} --steps {self.steps}"
            ) from exc
        elapsed = time.monotonic() - started
        return {"elapsed": elapsed, "steps_per_second": self.steps / elapsed if elapsed else 0.0}

    def _pick(self, statuses, type_=None):
        candidates = [
            o for o in self.shadow.orders.values() if o.status in statuses and (type_ is None or o.type == type_)
        ]
        return self.rng.choice(candidates) if candidates else None

    # --- money in ---------------------------------------------------------------------------

    def _event(self, event_type: str, topup: TopUp, **session) -> tuple[str, bytes]:
        event_id = f"evt_sim_{uuid.uuid4().hex}"
        obj = {
            "id": topup.stripe_session_id,
            "object": "checkout.session",
            "mode": "payment",
            "client_reference_id": str(topup.pk),
            "metadata": {"topup_id": str(topup.pk), "credits": str(topup.credits)},
            "amount_total": topup.amount_minor,
            "currency": topup.currency,
            **session,
        }
        body = {"id": event_id, "object": "event", "created": int(time.time()), "type": event_type, "livemode": False}
        body["data"] = {"object": obj}
        return event_id, json.dumps(body, separators=(",", ":")).encode()

    def _deliver(self, event_id: str, body: bytes) -> None:
        # Signed at delivery time, as Stripe does for every retry.
        response = self.web.post(
            "/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign_payload(body)
        )
        if response.status_code != 200:
            raise SimulationFailed(f"Stripe webhook answered {response.status_code}: {response.content[:300]!r}")
        self.shadow.stripe_events[event_id] = self.shadow.stripe_events.get(event_id, 0) + 1

    def topup(self):
        i = self.rng.randrange(len(self.users))
        user = self.users[i]
        credits = self.rng.randint(self.pricing.min_topup_credits, self.pricing.min_topup_credits * 8)
        topup = wallet.topup_start(user=user, credits=credits)
        shadow = ShadowTopUp(topup.pk, user.pk, credits)
        self.shadow.topups[topup.pk] = shadow
        pi = f"pi_sim_{topup.pk}"
        roll = self.rng.random()
        if roll < 0.1:  # abandoned: the session expires, nothing is credited
            deliveries = [self._event("checkout.session.expired", topup, status="expired", payment_status="unpaid")]
            shadow.expired = True
        elif roll < 0.3:  # async payment method: both events, delivered in reverse order
            deliveries = [
                self._event(
                    "checkout.session.async_payment_succeeded", topup, payment_status="paid", payment_intent=pi
                ),
                self._event("checkout.session.completed", topup, payment_status="unpaid", payment_intent=pi),
            ]
        else:
            deliveries = [self._event("checkout.session.completed", topup, payment_status="paid", payment_intent=pi)]
        if self.rng.random() < 0.3:  # Stripe retries: the same event again, later
            deliveries.append(self.rng.choice(deliveries))
        if self.rng.random() < 0.25:  # held back: arrives after later top-ups
            self.backlog.extend(deliveries)
            return
        for event_id, body in deliveries:
            self._deliver(event_id, body)
        self.drain()

    def deliver_backlog(self, all_of_it: bool = False):
        if not self.backlog:
            return
        self.rng.shuffle(self.backlog)
        n = len(self.backlog) if all_of_it else self.rng.randint(1, len(self.backlog))
        batch, self.backlog = self.backlog[:n], self.backlog[n:]
        for event_id, body in batch:
            self._deliver(event_id, body)
        self.drain()

    def _settle_topups(self):
        """After a drain, every delivered paid event has been applied exactly once."""
        paid_ids = set(
            TopUp.objects.filter(pk__in=self.shadow.topups, status=TopUp.Status.PAID).values_list("pk", flat=True)
        )
        for pk, shadow in self.shadow.topups.items():
            if pk in paid_ids and not shadow.paid:
                if shadow.expired:
                    raise SimulationFailed(f"top-up {pk} was credited but its session only expired")
                shadow.paid = True
                self.shadow.available[shadow.client] += shadow.credits

    # --- orders -----------------------------------------------------------------------------

    def _order_body(self):
        order_type = "mql" if self.rng.random() < 0.45 else "list"
        country = self.rng.choice(["US", "DE", "GB", "FR"])
        target = self.rng.randint(self.pricing.min_order_size, self.pricing.min_order_size + 25)
        return {"type": order_type, "target_count": target, "criteria": {"countries": [country]}}

    def _unit(self, order_type):
        return self.pricing.mql_lead_price if order_type == "mql" else self.pricing.list_lead_price

    def place(self, body=None, key=None, *, lost_enqueue=False):
        i = self.rng.randrange(len(self.users))
        user, api = self.users[i], self.apis[i]
        body = body or self._order_body()
        key = key or f"sim-{uuid.uuid4().hex}"
        cost = body["target_count"] * self._unit(body["type"])
        response = api.post("/api/v1/orders/", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        if self.shadow.available[user.pk] < cost:
            if response.status_code != 400 or response.json()["error"]["code"] != "insufficient_credits":
                raise SimulationFailed(f"placing without credits answered {response.status_code}")
            return None
        if response.status_code != 201:
            raise SimulationFailed(f"placing answered {response.status_code}: {response.content[:300]!r}")
        pk = response.json()["id"]
        self.shadow.orders[pk] = ShadowOrder(pk, user.pk, body["type"], self._unit(body["type"]), cost)
        self.shadow.available[user.pk] -= cost
        self.shadow.held[user.pk] += cost
        if self.rng.random() < 0.4:  # build from the fake RocketReach server instead of the sandbox
            PipelineStep.objects.filter(order_id=pk).update(provider="rocketreach")
            Order.objects.filter(pk=pk).update(provider="rocketreach")
        self._last_placed = (i, body, key, pk)
        return pk

    def replay_place(self):
        """The same Idempotency-Key again (a client retrying): the first order, no second hold."""
        last = getattr(self, "_last_placed", None)
        if last is None:
            return
        i, body, key, pk = last
        response = self.apis[i].post(
            "/api/v1/orders/", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
        )
        if response.status_code not in (200, 201) or response.json()["id"] != pk:
            raise SimulationFailed(f"idempotent replay answered {response.status_code}: {response.content[:200]!r}")

    def lost_enqueue(self):
        """The process dies between the commit and the enqueue: the build job never reaches
        Redis. The sweeper must find the step and build the order anyway."""
        real = core_jobs.enqueue_now

        def lost(*args, **kwargs):
            raise ConnectionError("simulated crash between commit and enqueue")

        core_jobs.enqueue_now = lost
        jobs_log = logging.getLogger(core_jobs.__name__)
        level = jobs_log.level
        jobs_log.setLevel(logging.CRITICAL)
        try:
            pk = self.place()
        finally:
            core_jobs.enqueue_now = real
            jobs_log.setLevel(level)
        if pk is not None:
            step = PipelineStep.objects.get(order_id=pk, name=PipelineStep.Name.BUILD)
            if step.status != St.PENDING or Order.objects.get(pk=pk).status != S.QUEUED:
                raise SimulationFailed(f"order {pk} moved although its job was never enqueued")

    def cancel(self):
        order = self._pick(list(S.values))
        if order is None:
            return
        i = next(n for n, u in enumerate(self.users) if u.pk == order.client)
        response = self.apis[i].post(f"/api/v1/orders/{order.pk}/cancel/")
        if order.status in BUILDING:
            if response.status_code != 200:
                raise SimulationFailed(f"cancel of {order.status} order {order.pk} answered {response.status_code}")
            self._release(order, S.CANCELLED)
        elif response.status_code != 409:
            raise SimulationFailed(f"cancel of {order.status} order {order.pk} answered {response.status_code}")

    def _release(self, order: ShadowOrder, status: str, charged: int = 0):
        self.shadow.held[order.client] -= order.hold
        self.shadow.available[order.client] += order.hold - charged
        order.status, order.charged = status, charged

    def qa1(self):
        order = self._pick([S.LIST_QA])
        if order is None:
            return
        if self.rng.random() < 0.2:
            order_qa_decide(order=Order(pk=order.pk), gate="list", decision="fail", actor=self.staff, notes="sim")
            self._release(order, S.FAILED)
            return
        valid = Lead.objects.filter(order_id=order.pk, status=Lead.Status.VALID).count()
        target = Order.objects.get(pk=order.pk).target_count
        accepted = self.rng.randint(1, min(valid, target))
        order_qa_decide(
            order=Order(pk=order.pk), gate="list", decision="pass", accepted_count=accepted, actor=self.staff
        )
        if order.type == "list":
            self._release(order, S.DELIVERED, charged=accepted * order.unit)
        else:
            order.status = S.NURTURING
        self.drain()  # nurture starts on commit; its first step renders and sends

    def engage(self):
        """Signed SendCloud events for an order in nurture: duplicated, shuffled, some stale,
        some reusing a token."""
        order = self._pick([S.NURTURING])
        if order is None:
            return
        # The nurture clock runs fast here: every rendered email of the order is due now.
        EmailMessage.objects.filter(order_id=order.pk, status=EmailMessage.Status.RENDERED).update(
            scheduled_for=timezone.now() - timedelta(seconds=1)
        )
        self.drain()
        messages = list(EmailMessage.objects.filter(order_id=order.pk, status=EmailMessage.Status.SENT).order_by("id"))
        if not messages:
            return
        posts = []
        for message in self.rng.sample(messages, min(len(messages), 6)):
            for kind in self.rng.sample(["deliver", "open", "click", "open", "unsubscribe"], self.rng.randint(1, 3)):
                posts.append(self._sc_event(kind, message))
        self.rng.shuffle(posts)  # out of order: clicks before deliveries
        extra = []
        for data in posts:
            if self.rng.random() < 0.25:
                extra.append(data)  # SendCloud retries the same body
        if posts and self.rng.random() < 0.3:
            forged = dict(self.rng.choice(posts), event="open", timestamp=str(int(time.time() * 1000) + 7))
            forged["signature"] = sendcloud.signature(timestamp=forged["timestamp"], token=forged["token"])
            extra.append(forged)  # a different body with a token already used: refused
            self.shadow.sc_refused[forged["token"] + "#reuse"] = EmailEvent.Outcome.REJECTED_REUSED_TOKEN
        if posts and self.rng.random() < 0.3:
            stale = self._sc_event("open", messages[0], age_seconds=qualification.WEBHOOK_MAX_AGE_SECONDS + 3600)
            extra.append(stale)
            self.shadow.sc_refused[stale["token"]] = EmailEvent.Outcome.REJECTED_STALE
        for data in posts + extra:
            self._post_sc(data)
        self.engaged.add(order.pk)
        self.drain()

    def _sc_event(self, kind, message, age_seconds=0):
        timestamp = str(int((time.time() - age_seconds) * 1000) - self.rng.randint(0, 5000))
        token = secrets.token_hex(25)
        data = {
            "event": kind,
            "emailId": message.sendcloud_email_id,
            "recipient": message.to_email,
            "timestamp": timestamp,
            "token": token,
            "signature": sendcloud.signature(timestamp=timestamp, token=token),
            "labelId": "0",
            "userHeaders": json.dumps({"SC-Custom-Message-Id": str(message.message_id)}),
        }
        if kind == "click":
            data["url"] = "https://solosales.example/"
        return data

    def _post_sc(self, data):
        response = self.web.post(
            "/webhooks/sendcloud/", data=urlencode(data), content_type="application/x-www-form-urlencoded"
        )
        token = data["token"]
        refused = token in self.shadow.sc_refused or (
            token in self.shadow.sc_tokens and self._sc_bodies.get(token) != data
        )
        if response.status_code >= 500:
            raise SimulationFailed(f"SendCloud webhook answered {response.status_code}")
        if refused:
            if response.status_code not in (400, 403):
                raise SimulationFailed(f"a stale or reused-token SendCloud event answered {response.status_code}")
            return
        if response.status_code != 200:
            raise SimulationFailed(
                f"a good SendCloud event answered {response.status_code}: {response.content[:200]!r}"
            )
        self._sc_bodies[token] = data
        self.shadow.sc_tokens[token] = self.shadow.sc_tokens.get(token, 0) + 1

    def finish_nurture(self):
        order = self._pick([S.NURTURING])
        if order is None or (order.pk not in self.engaged and self.rng.random() < 0.8):
            return  # most orders see some engagement before their window ends
        qualification.nurture_finish(order=Order(pk=order.pk), force=True)
        order.status = S.MQL_QA

    def qa2(self):
        order = self._pick([S.MQL_QA])
        if order is None:
            return
        if self.rng.random() < 0.2:
            qualification.qa2_decide(order=Order(pk=order.pk), decision="fail", actor=self.staff, notes="sim")
            self._release(order, S.FAILED)
            return
        qualified = Lead.objects.filter(order_id=order.pk, accepted=True, qualified=True).count()
        qualification.qa2_decide(order=Order(pk=order.pk), decision="pass", actor=self.staff)
        self._release(order, S.DELIVERED, charged=qualified * order.unit)

    # --- faults -----------------------------------------------------------------------------

    def provider_fault(self):
        """429 with Retry-After, 5xx and read timeouts from the fake RocketReach server. At most
        three in a row, below the retry limit and the breaker's threshold, so every build still
        finishes: a build that fails or stays paused is a bug."""
        if any(self.fake._faults.values()):
            return
        faults = []
        for _ in range(self.rng.randint(1, 3)):
            kind = self.rng.choice(["429", "500", "502", "503", "timeout"])
            if kind == "429":
                faults.append(Fault.error(429, retry_after=1))
            elif kind == "timeout":
                faults.append(Fault.slow(0.6))
            else:
                faults.append(Fault.error(int(kind)))
        self.fake.inject("search", *faults)

    def _worker_env(self):
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="solosales.core.simulation.worker_settings",
            DATABASE_URL=_database_url(),
            REDIS_URL=settings.REDIS_URL,
            JOBS_INLINE="0",
            ROCKETREACH_API_BASE=f"{self.fake_url}/api/v2",
            ROCKETREACH_API_KEY=FAKE_KEY,
            SIM_PAGE_SIZE=str(PAGE_SIZE),
            PYTHONPATH=os.pathsep.join(p for p in [str(settings.BASE_DIR), env.get("PYTHONPATH", "")] if p),
        )
        env.pop("PYTEST_XDIST_WORKER", None)
        return env

    def kill_worker(self):
        """A real rqworker takes the queued work and is SIGKILLed mid-job; the next drain is
        the restart (leases expire, the sweepers re-enqueue, a new worker finishes)."""
        self.place()
        self.place()
        cmd = [
            sys.executable,
            str(settings.BASE_DIR / "manage.py"),
            "rqworker",
            *QUEUES,
            "--burst",
            "--worker-class",
            "rq.worker.SimpleWorker",  # the job runs in this process, so SIGKILL kills it mid-job
        ]
        worker = subprocess.Popen(
            cmd, env=self._worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            time.sleep(self.rng.uniform(0.8, 2.5))  # start-up takes most of a second
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        self.counts["sigkill"] = self.counts.get("sigkill", 0) + 1
        self.drain(restart=True)

    # --- the worker, between steps --------------------------------------------------------------

    def drain_action(self):
        self.drain()

    def drain(self, restart: bool = False):
        """Runs everything due, as a worker plus the periodic sweepers would, fast-forwarding
        time: scheduled retries become due, and (after a kill) dead workers' leases expire."""
        import django_rq

        queues = [django_rq.get_queue(n) for n in QUEUES]
        mine = Order.objects.filter(pk__in=list(self.shadow.orders))
        for _ in range(60):
            now = timezone.now()
            steps = PipelineStep.objects.filter(order__in=mine, status__in=ACTIVE_STEPS)
            steps.filter(status=St.WAITING).update(not_before=now - timedelta(minutes=5))
            if restart:
                steps.filter(status=St.RUNNING).update(lease_until=now - timedelta(seconds=1))
                EmailMessage.objects.filter(order__in=mine, status=EmailMessage.Status.QUEUED).update(
                    claimed_at=now - timedelta(hours=1)
                )
            sweep(pending_grace=0)
            stripe_events_sweep(older_than=timedelta(0))
            qualification.nurture_tick(now=now + timedelta(minutes=3))
            self._work(queues)
            if not steps.exists() and not any(q.count for q in queues):
                pending = StripeEvent.objects.filter(status=StripeEvent.Status.RECEIVED).exists()
                unsent = EmailMessage.objects.filter(
                    order__in=mine.filter(status=S.NURTURING),
                    status__in=[EmailMessage.Status.RENDERED, EmailMessage.Status.QUEUED],
                    scheduled_for__lte=now,
                ).exists()
                if not pending and not unsent:
                    break
            restart = False
        # Builds finished: the shadow follows (every build must reach QA#1 — see provider_fault).
        for pk, status in Order.objects.filter(pk__in=list(self.shadow.orders)).values_list("pk", "status"):
            shadow = self.shadow.orders[pk]
            if shadow.status in BUILDING and status not in BUILDING:
                if status != S.LIST_QA:
                    raise SimulationFailed(f"order {pk} ended its build as {status}, expected list_qa")
                shadow.status = S.LIST_QA
        self._settle_topups()

    def _work(self, queues):
        """A burst worker in this process, without RQ's per-run set-up and tear-down (pub/sub,
        registries), which would cost a third of a second per drain. A job that raises is a bug."""
        from rq import Queue

        for _ in range(10_000):
            found = Queue.dequeue_any(queues, None, connection=queues[0].connection)
            if found is None:
                return
            job, _queue = found
            try:
                job.perform()
            except Exception as exc:
                raise SimulationFailed(f"job {job.func_name}{job.args} raised {exc.__class__.__name__}: {exc}")

    # --- the check --------------------------------------------------------------------------

    def check(self):
        self._settle_topups()
        for user in self.users:
            available, held = wallet.client_accounts(user)
            available.refresh_from_db()
            held.refresh_from_db()
            want = (self.shadow.available[user.pk], self.shadow.held[user.pk])
            if (available.balance, held.balance) != want:
                raise SimulationFailed(
                    f"client {user.email}: balances (available, held) = {(available.balance, held.balance)}, "
                    f"shadow says {want}"
                )
        rows = Order.objects.filter(pk__in=list(self.shadow.orders)).values_list("pk", "status", "charged_credits")
        for pk, status, charged in rows:
            shadow = self.shadow.orders[pk]
            ok = status == shadow.status or (shadow.status in BUILDING and status in BUILDING)
            if not ok:
                raise SimulationFailed(f"order {pk} is {status}, shadow says {shadow.status}")
            if shadow.status in (S.DELIVERED, S.FAILED, S.CANCELLED) and charged != shadow.charged:
                raise SimulationFailed(f"order {pk} charged {charged}, shadow says {shadow.charged}")
        for event_id, deliveries in self.shadow.stripe_events.items():
            stored = StripeEvent.objects.filter(event_id=event_id).count()
            if stored != 1:
                raise SimulationFailed(f"Stripe event {event_id} delivered {deliveries}x is stored {stored}x")
        for token, deliveries in self.shadow.sc_tokens.items():
            rows = list(EmailEvent.objects.filter(token=token).values_list("repeat_count", "outcome"))
            accepted = [r for r in rows if r[1] != EmailEvent.Outcome.REJECTED_REUSED_TOKEN]
            if len(accepted) != 1 or accepted[0][0] != deliveries - 1:
                raise SimulationFailed(f"SendCloud token {token[:8]} delivered {deliveries}x is stored as {rows}")
        for token, outcome in self.shadow.sc_refused.items():
            rows = EmailEvent.objects.filter(token=token.removesuffix("#reuse"), outcome=outcome).count()
            if rows != 1:
                raise SimulationFailed(f"refused SendCloud event {token[:8]} ({outcome}) stored {rows}x")


class Command(BaseCommand):
    help = "Seeded fault simulation checked against a shadow model after every step (needs Redis)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--steps", type=int, default=300)
        parser.add_argument("--clients", type=int, default=6)
        parser.add_argument("--no-kill", action="store_true", help="no real rqworker subprocesses killed")

    def handle(self, *args, **options):
        seed, steps = options["seed"], options["steps"]
        if settings.JOBS_INLINE or not redis_answers(settings.REDIS_URL):
            raise CommandError("simulate needs Redis (jobs run on the real queues); start redis-server first.")
        fake = FakeRocketReach(api_key=FAKE_KEY, seed=seed, population=5000)
        with (
            serve(fake) as url,
            override_settings(
                ROCKETREACH_API_BASE=f"{url}/api/v2",
                ROCKETREACH_API_KEY=FAKE_KEY,
                ROCKETREACH_PER_SECOND=1000,
                ROCKETREACH_PER_MINUTE=100_000,
                PROVIDER_READ_TIMEOUT=0.3,
                PIPELINE_PAGE_SIZE=PAGE_SIZE,
            ),
        ):
            reset_breakers()
            reset_limiters()
            world = World(
                seed=seed,
                steps=steps,
                clients=options["clients"],
                kill_workers=not options["no_kill"],
                fake=fake,
                fake_url=url,
                out=self.stdout,
            )
            try:
                result = world.run()
            except SimulationFailed as exc:
                raise CommandError(f"simulation seed {seed} FAILED: {exc}")
            finally:
                reset_breakers()
                reset_limiters()
        orders = world.shadow.orders.values()
        by_status: dict[str, int] = {}
        for o in orders:
            by_status[str(o.status)] = by_status.get(str(o.status), 0) + 1
        self.stdout.write(
            f"simulation seed {seed}: {steps} steps OK in {result['elapsed']:.1f}s "
            f"({result['steps_per_second']:.1f} steps/s); orders {dict(sorted(by_status.items()))}; "
            f"top-ups {len(world.shadow.topups)}, Stripe events {len(world.shadow.stripe_events)}, "
            f"SendCloud events {len(world.shadow.sc_tokens)} (+{len(world.shadow.sc_refused)} refused), "
            f"provider requests {fake.count()}; actions {dict(sorted(world.counts.items()))}; ledger_check clean"
        )
