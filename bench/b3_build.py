"""B3: list building, one 20,000-lead order from the sandbox provider, one worker.

The order is placed through ``orders.services.order_place`` (which enqueues the build step
on commit); then an RQ ``SimpleWorker`` in this process works the ``providers`` queue in
burst mode, through the real job path (``orders.jobs.run_step`` → pipeline: claim, provider
page, normalise, dedupe, validate, bulk insert, checkpoint; automated QA checks and the
sample at the end) until the order reaches ``list_qa``.
Baseline: ``Lead.objects.bulk_create`` of 20,000 rows with the same values (prepared
beforehand, batch size 500 as in the pipeline) in one process.

Correct when the order is in ``list_qa`` with exactly the target of valid leads, no e-mail
twice among them, the order's counters equal the stored rows and the step is done.
"""

from __future__ import annotations

import logging
import time

from bench import common

CRITERIA = {"countries": ["US"], "seniorities": ["director", "vp"]}


def run(quick: bool) -> list[dict]:
    import django_rq
    from django.db import transaction
    from django.db.models import Count
    from rq.worker import SimpleWorker

    from orders.models import Lead, Order, OrderStatus, PipelineStep
    from orders.services import order_place
    from providers.models import ProviderCall

    target = 2000 if quick else 20000
    deadline = 90 if quick else 600
    user = common.make_client("builder@bench.example", credits=target + 1000)
    order = order_place(
        user=user,
        data={"type": "list", "target_count": target, "criteria": CRITERIA},
        idempotency_key="bench-b3",
    )

    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    worker = django_rq.get_worker("providers", worker_class=SimpleWorker)
    started = time.perf_counter()
    rounds = 0
    while True:
        rounds += 1
        worker.work(burst=True, with_scheduler=False)
        order.refresh_from_db()
        if order.status != OrderStatus.BUILDING and order.status != OrderStatus.QUEUED:
            break
        if time.perf_counter() - started > deadline:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started

    common.check(order.status == OrderStatus.LIST_QA, f"order ended in {order.status}, not list_qa")
    valid = Lead.objects.filter(order=order, status=Lead.Status.VALID)
    valid_count = valid.count()
    invalid_count = Lead.objects.filter(order=order, status=Lead.Status.INVALID).count()
    common.check(valid_count == target, f"{valid_count} valid leads for a target of {target}")
    dup = valid.exclude(email="").values("email").annotate(n=Count("id")).filter(n__gt=1).count()
    common.check(dup == 0, f"{dup} e-mails appear twice among the valid leads")
    common.check(order.found_count == valid_count, f"found_count {order.found_count} ≠ {valid_count} valid rows")
    step = PipelineStep.objects.get(order=order, name=PipelineStep.Name.BUILD)
    common.check(step.status == PipelineStep.Status.DONE, f"build step is {step.status}")
    calls = ProviderCall.objects.filter(order_id=order.pk).count()
    common.check(calls == step.pages_done, f"{calls} provider calls audited for {step.pages_done} pages")

    # Baseline: the same rows, bulk_create into a second order, timed alone.
    other = order_place(
        user=user,
        data={"type": "list", "target_count": 10, "criteria": CRITERIA},
        idempotency_key="bench-b3-baseline",
    )
    django_rq.get_queue("providers").empty()  # the baseline order is never built
    fields = [f.name for f in Lead._meta.concrete_fields if f.name not in ("id", "order", "created_at")]
    rows = list(valid.order_by("id").values(*fields)[:target])
    objs = [
        Lead(order_id=other.pk, **{**row, "dedupe_key": f"b:{i}:{row['dedupe_key']}"}) for i, row in enumerate(rows)
    ]
    t0 = time.perf_counter()
    with transaction.atomic():
        Lead.objects.bulk_create(objs, batch_size=500)
    base_seconds = time.perf_counter() - t0
    stored = Lead.objects.filter(order=other).count()
    common.check(stored == target, f"baseline stored {stored} of {target} rows")
    Order.objects.filter(pk=other.pk).count()

    figure = target / seconds
    baseline = target / base_seconds
    ratio = figure / baseline
    return [
        common.result(
            "B3",
            f"list building, one {target:,}-lead sandbox order, one worker (RQ SimpleWorker), to list_qa",
            figure=round(figure, 1),
            unit="leads/s",
            baseline=round(baseline, 1),
            baseline_unit="rows/s (bulk_create)",
            ratio=round(ratio, 3),
            target="≥ 0.3",
            met=ratio >= 0.3,
            details={
                "target": target,
                "seconds": round(seconds, 2),
                "baseline_seconds": round(base_seconds, 2),
                "valid": valid_count,
                "invalid": invalid_count,
                "duplicates_skipped": order.duplicate_count,
                "pages": step.pages_done,
                "worker_rounds": rounds,
            },
        )
    ]
