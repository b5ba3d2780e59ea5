"""Browser journeys: a real gunicorn server, a real RQ worker and the ticker, on a scratch
PostgreSQL database and their own Redis database, driven by Playwright with Debian's
Chromium. Screenshots go to test-artifacts/e2e/."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.redis)


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    import psycopg

    tag = os.environ.get("TEST_DB_TAG", "main")
    dbname = f"solosales_e2e_{tag}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    private = tmp_path_factory.mktemp("e2e-private")
    redis_db = int(os.environ.get("TEST_REDIS_DB", "10")) + 5
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "solosales.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{dbname}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "DEBUG": "0",
        "DEMO_OUTBOX_PUBLIC": "1",
        "SITE_URL": base_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PRIVATE_ROOT": str(private),
        "NURTURE_SECONDS_PER_DAY": os.environ.get("E2E_SECONDS_PER_DAY", "3"),
        "JOBS_INLINE": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    py = sys.executable
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "text": True, "timeout": 300}
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v0"], **run)
    subprocess.run([py, "manage.py", "collectstatic", "--noinput", "-v0"], **run)
    subprocess.run([py, "manage.py", "seed_demo", "--users-only"], **run)
    log_dir = ARTIFACTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = []

    def spawn(name, args):
        log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append((proc, log))
        return proc

    gunicorn = str(Path(py).parent / "gunicorn")
    spawn(
        "web", [gunicorn, "solosales.wsgi", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}", "--timeout", "60"]
    )
    spawn("worker", [py, "manage.py", "rqworker", "default", "providers", "email", "webhooks", "--with-scheduler"])
    spawn("tick", [py, "manage.py", "tick", "--loop", "--interval", "2"])
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base_url + "/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the e2e server did not become healthy; see test-artifacts/e2e/logs/")
        time.sleep(0.3)
    yield {"base_url": base_url, "env": env, "dbname": dbname}
    for proc, _log in procs:
        proc.terminate()
    for proc, log in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Journey:
    """A browser context for one person, with numbered screenshots under test-artifacts/e2e/<name>/."""

    def __init__(self, browser, base_url, name, locale="en-US", timezone_id="Asia/Shanghai"):
        self.base_url = base_url
        self.name = name
        self.context = browser.new_context(
            locale=locale, timezone_id=timezone_id, viewport={"width": 1280, "height": 900}
        )
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.shots = 0
        self.dir = ARTIFACTS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def go(self, path):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status < 500, f"{path}: {response and response.status}"
        return response

    def shot(self, label):
        self.shots += 1
        safe = re.sub(r"[^a-z0-9_-]+", "-", label.lower())
        self.page.screenshot(path=str(self.dir / f"{self.shots:02d}-{safe}.png"), full_page=True)

    def close(self):
        self.context.close()


@pytest.fixture
def journey(browser, e2e_server):
    made = []

    def _make(name, **kwargs):
        j = Journey(browser, e2e_server["base_url"], name, **kwargs)
        made.append(j)
        return j

    yield _make
    for j in made:
        j.close()
