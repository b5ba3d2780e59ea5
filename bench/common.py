"""Shared machinery of the benchmark suite.

- Scratch database lifecycle: one template database is created and migrated once per run
  (``solosales_bench_tpl``); each benchmark gets a fresh ``solosales_bench`` copied from it
  (``CREATE DATABASE ... TEMPLATE``, about a second) and drops it when done, so every data
  set is dropped with its database and no benchmark sees another's rows. Redis db 13.
- Django set-up in this process (``bench.settings``, DATABASE_URL at the scratch database).
- A gunicorn start/stop helper (the bench URLconf adds the baseline no-op views), a load
  generator run as a separate process (bench/loadgen.py), timers, percentiles, RSS sampling.
- Helpers that build data through the apps' real services (clients, tokens, top-ups) and
  fast bulk loaders (COPY) for the large data sets.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(Path(sys.executable))
VENV_BIN = Path(sys.executable).parent
DB_NAME = os.environ.get("BENCH_DB", "solosales_bench")
TEMPLATE_DB = f"{DB_NAME}_tpl"
PG_HOST = os.environ.get("BENCH_PG", "postgres@127.0.0.1:5432")
PG_ADMIN = f"postgresql://{PG_HOST}/postgres"
DATABASE_URL = f"postgres://{PG_HOST}/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WORK_DIR = Path(tempfile.mkdtemp(prefix="solosales-bench-"))
LOG_DIR = WORK_DIR / "logs"


class CorrectnessError(AssertionError):
    """A benchmark's own correctness check failed: its figure is not reported."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CorrectnessError(message)


# --- environment and Django -------------------------------------------------------------


def server_env() -> dict[str, str]:
    """The environment of this process, gunicorn and management commands alike.

    ``BENCH_SERVER_ENV="CONN_MAX_AGE=60,LOG_LEVEL=INFO"`` overrides settings for an
    experiment (the published table uses the project's defaults)."""
    extra = dict(item.split("=", 1) for item in os.environ.get("BENCH_SERVER_ENV", "").split(",") if "=" in item)
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "0",
        "DJANGO_ENV": "development",
        "JOBS_INLINE": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "PRIVATE_ROOT": str(WORK_DIR / "private"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def configure() -> None:
    """Points this process at the scratch database and sets Django up (call once, first)."""
    os.environ.update(server_env())
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()


def admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


def _close_django() -> None:
    from django.db import connections

    connections.close_all()


def create_template() -> float:
    """Creates and migrates the template database once; returns the seconds it took."""
    started = time.perf_counter()
    _close_django()
    admin_sql(
        f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)',
        f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)',
        f'CREATE DATABASE "{TEMPLATE_DB}"',
    )
    env = {**os.environ, **server_env(), "DATABASE_URL": f"postgres://{PG_HOST}/{TEMPLATE_DB}"}
    subprocess.run(
        [PY, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
    )
    return time.perf_counter() - started


def fresh_db() -> None:
    """A new, empty (migrated) scratch database for the next benchmark; Redis db flushed."""
    _close_django()
    admin_sql(
        f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)',
        f'CREATE DATABASE "{DB_NAME}" TEMPLATE "{TEMPLATE_DB}"',
    )
    flush_redis()
    _reset_process_caches()


def drop_db() -> None:
    _close_django()
    admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    flush_redis()


def drop_all() -> None:
    with contextlib.suppress(Exception):
        drop_db()
    with contextlib.suppress(Exception):
        admin_sql(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def _reset_process_caches() -> None:
    from django.core.cache import caches

    for cache in caches.all():
        with contextlib.suppress(Exception):
            cache.clear()


def machine() -> dict:
    import psycopg

    with psycopg.connect(PG_ADMIN) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import django

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "postgresql": pg,
        "python": platform.python_version(),
        "django": django.get_version(),
        "os": platform.platform(),
    }


# --- timing ----------------------------------------------------------------------------


class Timer:
    def __enter__(self):
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        return False


def percentile(values: Iterable[float], p: float) -> float:
    data = sorted(values)
    if not data:
        return 0.0
    k = (len(data) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def best_of(func, repeat: int) -> tuple[float, object]:
    """The fastest of ``repeat`` timed runs of ``func()`` (seconds, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - started)
    return best, result


# --- RSS sampling -------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


class RssSampler:
    """Samples the resident set size of ``pids`` every ``interval`` seconds in a thread."""

    def __init__(self, pids: list[int], interval: float = 0.01):
        self.pids = list(pids)
        self.interval = interval
        self.start_kb = {pid: rss_kb(pid) for pid in self.pids}
        self.peak_kb = dict(self.start_kb)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak_kb[pid] = max(self.peak_kb[pid], rss_kb(pid))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False

    def growth_kb(self) -> dict[int, int]:
        return {pid: self.peak_kb[pid] - self.start_kb[pid] for pid in self.pids}


# --- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    task_dir = Path(f"/proc/{pid}/task")
    with contextlib.suppress(OSError):
        for task in task_dir.iterdir():
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return sorted(set(out))


class Server:
    def __init__(self, base_url: str, proc: subprocess.Popen, log_path: Path):
        self.base_url = base_url
        self.port = int(base_url.rsplit(":", 1)[1])
        self.proc = proc
        self.log_path = log_path

    @property
    def worker_pids(self) -> list[int]:
        return _children(self.proc.pid)


@contextlib.contextmanager
def gunicorn(name: str, *, workers: int = 2, timeout: int = 120) -> Iterator[Server]:
    """gunicorn as deployed (the shipped ``gunicorn.conf.py``: gthread workers with threads,
    README "Deploying") with ``workers`` processes, serving ``bench.settings`` on a free
    loopback port; stopped (SIGTERM, then SIGKILL) on exit. The benchmark figure and its
    baseline always run on the same server, so they share the deployment shape."""
    import requests

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = LOG_DIR / f"{name}.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    args = [
        str(VENV_BIN / "gunicorn"),
        "solosales.wsgi",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        str(timeout),
        "--backlog",
        "2048",
        *os.environ.get("BENCH_GUNICORN_ARGS", "").split(),  # experiments only, e.g. "--threads 4"
    ]
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **server_env()}, stdout=log, stderr=subprocess.STDOUT)
    server = Server(base_url, proc, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {log_path}")
            try:
                if requests.get(base_url + "/bench/noop/", timeout=2).status_code == 200 and (
                    len(server.worker_pids) >= workers
                ):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s; see {log_path}")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


# --- load generator (a separate process) --------------------------------------------------------


def run_load(spec: dict, *, timeout: float) -> dict:
    """Runs bench/loadgen.py with ``spec`` in its own process; returns its JSON report.

    spec: {"base_url", "clients": [[request, ...], ...], "deadline_s"} where each request is
    {"method", "path", "headers", "body"}; each client is one thread sending its requests
    in order over a keep-alive connection (re-opened when the server closes it)."""
    spec_path = WORK_DIR / f"load-{time.monotonic_ns()}.json"
    out_path = spec_path.with_suffix(".out.json")
    spec = {**spec, "deadline_s": min(float(spec.get("deadline_s", timeout)), timeout)}
    spec_path.write_text(json.dumps(spec))
    try:
        subprocess.run(
            [PY, str(ROOT / "bench" / "loadgen.py"), str(spec_path), str(out_path)],
            check=True,
            timeout=timeout + 30,
            capture_output=True,
        )
        return json.loads(out_path.read_text())
    finally:
        spec_path.unlink(missing_ok=True)
        out_path.unlink(missing_ok=True)


ROUNDS = 3  # HTTP benchmarks alternate baseline and figure this many times (see run_alternating)


def run_alternating(base_url: str, *loads: list[list[dict]], deadline: float, rounds: int = ROUNDS) -> tuple[dict, ...]:
    """Each load (the baseline's, the figure's, …), split into ``rounds`` equal parts per
    client and run alternately (part 1 of each, then part 2 of each, …): all see the same
    machine, whose speed here drifts by up to 2× over a minute (other tenants), so a ratio
    does not depend on which of them ran in a fast moment. Returns one merged report per
    load (elapsed and sent summed, each client's results concatenated in order)."""
    reports: tuple[list[dict], ...] = tuple([] for _ in loads)
    for k in range(rounds):
        for side, clients in enumerate(loads):
            part = [reqs[k * len(reqs) // rounds : (k + 1) * len(reqs) // rounds] for reqs in clients]
            spec = {"base_url": base_url, "clients": part, "deadline_s": deadline / rounds}
            reports[side].append(run_load(spec, timeout=deadline / rounds))
    return tuple(_merged(r) for r in reports)


def _merged(reports: list[dict]) -> dict:
    return {
        "elapsed_s": sum(r["elapsed_s"] for r in reports),
        "sent": sum(r["sent"] for r in reports),
        "errors": [e for r in reports for e in r["errors"]][:50],
        "results": [sum((r["results"][c] for r in reports), []) for c in range(len(reports[0]["results"]))],
    }


# --- data through the real services ----------------------------------------------------------------


def make_client(email: str, *, credits: int = 0):
    """A verified client (allauth EmailAddress), funded through the real top-up settle path."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from wallet import services as wallet

    user = get_user_model().objects.create_user(email=email, password=None)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    if credits:
        wallet.topup_seed_paid(user=user, credits=credits, session_id=f"cs_bench_{user.pk}_{credits}")
    return user


def api_token(user, name: str = "bench") -> str:
    from solosales.accounts.services import api_token_create

    _token, key = api_token_create(user=user, name=name)
    return key


def session_cookie(user) -> str:
    """A real session for ``user`` (database session store), usable against gunicorn."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def ledger_check() -> tuple[int, str]:
    """``manage.py ledger_check`` in this process: (exit code, output)."""
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ledger_check", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue() + err.getvalue()


# --- bulk loading --------------------------------------------------------------------------------


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = value if isinstance(value, str) else str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_rows(table: str, columns: list[str], rows: Iterable[Iterable], *, chunk_rows: int = 20000) -> int:
    """COPY ``rows`` into ``table`` (text format, written in chunks); returns the row count."""
    from django.db import connection

    sql = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        buf = []
        for row in rows:
            buf.append("\t".join(_copy_text(v) for v in row))
            count += 1
            if len(buf) >= chunk_rows:
                copy.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            copy.write("\n".join(buf) + "\n")
    return count


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def vacuum_analyze(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'VACUUM ANALYZE "{table}"')


def result(
    bid: str,
    what: str,
    *,
    figure: float | None,
    unit: str,
    baseline: float | None = None,
    baseline_unit: str = "",
    ratio: float | None = None,
    target: str = "",
    met: bool | None = None,
    details: dict | None = None,
) -> dict:
    return {
        "id": bid,
        "what": what,
        "figure": figure,
        "unit": unit,
        "baseline": baseline,
        "baseline_unit": baseline_unit,
        "ratio": ratio,
        "target": target,
        "met": met,
        "details": details or {},
    }


def _copy_value(value):
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def copy_model(model, fields: list[str], rows: Iterable[Iterable], **constants) -> int:
    """COPY ``rows`` (tuples in ``fields`` order) into ``model``'s table. Every other
    concrete column (but the primary key) gets ``constants[name]``, else the field's
    default (``auto_now``/``auto_now_add``: now). Dicts and lists are written as JSON."""
    from django.utils import timezone

    now = timezone.now()
    extra_cols, extra_vals = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name in fields or f.attname in fields:
            continue
        if f.name in constants or f.attname in constants:
            value = constants.get(f.name, constants.get(f.attname))
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default():
            value = f.get_default()
        elif f.null:
            value = None
        elif f.empty_strings_allowed:
            value = ""
        else:
            raise ValueError(f"{model.__name__}.{f.name} needs a value")
        extra_cols.append(f.column)
        extra_vals.append(_copy_value(value))
    columns = [model._meta.get_field(name).column for name in fields] + extra_cols
    extra = tuple(extra_vals)
    return copy_rows(
        model._meta.db_table,
        columns,
        ((*(_copy_value(v) for v in row), *extra) for row in rows),
    )


LEAD_FIELDS = [
    "order",
    "provider",
    "provider_id",
    "dedupe_key",
    "full_name",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "company",
    "company_domain",
    "industry",
    "company_size",
    "email",
    "email_status",
    "phone",
    "linkedin_url",
    "country",
    "region",
    "city",
    "raw",
]


def load_leads(order_id: int, count: int, *, criteria: dict | None = None, start: int = 0, **constants) -> int:
    """COPY ``count`` realistic leads (the sandbox provider's people) into an order."""
    from providers.base import Criteria
    from providers.sandbox import PersonGenerator

    gen = PersonGenerator(1, Criteria.from_dict(criteria or {"countries": ["US"]}))

    def rows():
        for begin in range(start, start + count, 5000):
            for p in gen.page(begin, min(5000, start + count - begin)):
                yield (
                    order_id,
                    p.provider,
                    p.provider_id,
                    f"sandbox:{p.provider_id}",
                    p.full_name,
                    p.first_name,
                    p.last_name,
                    p.title,
                    p.seniority,
                    p.department,
                    p.company,
                    p.company_domain,
                    p.industry,
                    p.company_size,
                    p.email.lower(),
                    p.email_status,
                    p.phone,
                    p.linkedin_url,
                    p.country,
                    p.region,
                    p.city,
                    p.raw,
                )

    return copy_model(_lead_model(), LEAD_FIELDS, rows(), **constants)


def _lead_model():
    from orders.models import Lead

    return Lead


def make_order(user, *, status: str, target: int, order_type: str = "list", key: str = "", **fields):
    """An order row in ``status`` (bench data set: written directly, no money moved)."""
    from orders.models import Order, RulesVersion
    from wallet.models import PricingVersion

    pricing = PricingVersion.objects.get(active=True)
    rules = RulesVersion.objects.get(active=True)
    unit = pricing.mql_lead_price if order_type == "mql" else pricing.list_lead_price
    return Order.objects.create(
        user=user,
        type=order_type,
        status=status,
        criteria={"countries": ["US"]},
        target_count=target,
        pricing_version=pricing,
        rules_version=rules,
        unit_price=unit,
        idempotency_key=key or f"bench-{time.monotonic_ns()}",
        **fields,
    )
