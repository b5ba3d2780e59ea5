"""B1: SendCloud webhook ingest through gunicorn (2 sync workers) on loopback.

5,000 signed event deliveries (10% of them exact re-deliveries of an earlier body, as
SendCloud sends on retry) posted by a separate load process (bench/loadgen.py, 16
keep-alive client threads) to the real ``/webhooks/sendcloud/``. Baseline: the same bodies,
same clients, against a trivial Django view on the same server (``/bench/noop/``, through the
portal's full middleware). The details also give the same view behind the webhook prefix
(``/webhooks/bench-noop/``, through the lean webhook handler of solosales/wsgi.py), the
stricter comparison. The loads run alternately in three parts each (common.run_alternating).

Correct when every delivery was answered 200, every distinct event is stored exactly once
(EmailEvent rows = distinct bodies, one used token each, pending for processing) and the
re-deliveries only raised ``repeat_count``.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from urllib.parse import urlencode

from bench import common

CLIENTS = 16
EVENTS = ("deliver", "open", "open", "click", "deliver", "open")


def _bodies(unique: int, duplicates: int, *, seed: int = 9) -> tuple[list[str], int]:
    from qualification import sendcloud

    rng = random.Random(seed)
    bodies = []
    for i in range(unique):
        timestamp = sendcloud.now_ms()
        token = secrets.token_urlsafe(38)[:50]
        event = EVENTS[i % len(EVENTS)]
        fields = {
            "event": event,
            "emailId": f"1700000000000_{i}_bench.sendcloud.org0$lead{i}@example.com",
            "recipient": f"lead{i}@example.com",
            "timestamp": timestamp,
            "token": token,
            "signature": sendcloud.signature(timestamp=timestamp, token=token),
            "labelId": "0",
            "userHeaders": json.dumps({"SC-Custom-Message-Id": f"{rng.getrandbits(128):032x}"}),
        }
        if event == "click":
            fields["url"] = f"https://solosales.example/p/{i}"
        if event in ("open", "click"):
            fields.update(ip="203.0.113.7", explorerName="Chrome", oSName="Linux")
        bodies.append(urlencode(fields))
    # Re-deliveries: exact copies of earlier bodies, spread over the run.
    all_bodies = list(bodies)
    for _ in range(duplicates):
        all_bodies.append(rng.choice(bodies))
    rng.shuffle(all_bodies)
    return all_bodies, unique


def _clients(bodies: list[str], path: str) -> list[list[dict]]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    clients = [[] for _ in range(CLIENTS)]
    for i, body in enumerate(bodies):
        clients[i % CLIENTS].append({"method": "POST", "path": path, "headers": headers, "body": body})
    return clients


def run(quick: bool) -> list[dict]:
    from django.db.models import Count, Sum

    from qualification.models import EmailEvent, UsedWebhookToken

    total = 200 if quick else 5000
    duplicates = total // 10
    deadline = 60 if quick else 240

    with common.gunicorn("b1") as server:
        # Warm-up: both endpoints on both workers (imports, URL resolving, first connections).
        warm_bodies, warm_unique = _bodies(20, 0, seed=1)
        common.run_load(
            {"base_url": server.base_url, "clients": _clients(warm_bodies, "/webhooks/sendcloud/")}, timeout=60
        )
        for path in ("/bench/noop/", "/webhooks/bench-noop/"):
            common.run_load({"base_url": server.base_url, "clients": _clients(warm_bodies, path)}, timeout=60)

        bodies, unique = _bodies(total - duplicates, duplicates)
        bodies_fresh, _ = _bodies(total - duplicates, duplicates, seed=int(time.time()))
        base, load, lean = common.run_alternating(
            server.base_url,
            _clients(bodies, "/bench/noop/"),
            _clients(bodies_fresh, "/webhooks/sendcloud/"),
            _clients(bodies, "/webhooks/bench-noop/"),
            deadline=deadline,
        )

    for name, report in (("baseline", base), ("webhook", load), ("lean baseline", lean)):
        statuses = [r[0] for client in report["results"] for r in client]
        common.check(
            report["sent"] == total, f"{name}: {report['sent']} of {total} requests sent ({report['errors'][:3]})"
        )
        bad = [s for s in statuses if s != 200]
        common.check(not bad, f"{name}: {len(bad)} answers were not 200 (e.g. {sorted(set(bad))[:5]})")

    expected = unique + warm_unique
    stored = EmailEvent.objects.count()
    distinct = EmailEvent.objects.aggregate(n=Count("unique_key", distinct=True))["n"]
    repeats = EmailEvent.objects.aggregate(n=Sum("repeat_count"))["n"] or 0
    pending = EmailEvent.objects.filter(outcome=EmailEvent.Outcome.PENDING).count()
    tokens = UsedWebhookToken.objects.count()
    common.check(stored == expected, f"{stored} events stored, expected {expected} (each distinct event once)")
    common.check(distinct == stored, f"{stored - distinct} events stored twice")
    common.check(repeats == duplicates, f"repeat_count sums to {repeats}, expected {duplicates} re-deliveries")
    common.check(pending == expected, f"{pending} events pending processing, expected {expected}")
    common.check(tokens == expected, f"{tokens} used tokens recorded, expected {expected}")

    figure = total / load["elapsed_s"]
    baseline = total / base["elapsed_s"]
    ratio = figure / baseline
    lat = [r[1] for client in load["results"] for r in client]
    base_lat = [r[1] for client in base["results"] for r in client]
    return [
        common.result(
            "B1",
            f"SendCloud webhook ingest, {total:,} signed events (10% re-deliveries), gunicorn -w 2",
            figure=round(figure, 1),
            unit="events/s",
            baseline=round(baseline, 1),
            baseline_unit="req/s (no-op view)",
            ratio=round(ratio, 3),
            target="≥ 0.5",
            met=ratio >= 0.5,
            details={
                "events": total,
                "distinct": unique,
                "redeliveries": duplicates,
                "clients": CLIENTS,
                "seconds": round(load["elapsed_s"], 2),
                "baseline_seconds": round(base["elapsed_s"], 2),
                "p50_ms": round(common.percentile(lat, 50) * 1000, 1),
                "p95_ms": round(common.percentile(lat, 95) * 1000, 1),
                "baseline_p50_ms": round(common.percentile(base_lat, 50) * 1000, 1),
                # The stricter comparison: the same no-op view behind the webhook prefix, so
                # through the same lean handler as the webhook (solosales/wsgi.py).
                "lean_handler_noop_req_s": round(total / lean["elapsed_s"], 1),
                "ratio_to_lean_handler_noop": round(figure / (total / lean["elapsed_s"]), 3),
                "stored_once": True,
            },
        )
    ]
