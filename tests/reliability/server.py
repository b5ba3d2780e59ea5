"""A real gunicorn on 127.0.0.1 against the test's own database and Redis database, for the
tests that need production request handling (persistent connections with health checks,
the soak, schemathesis). Stopped by its own pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def server_env(**extra) -> dict:
    env = dict(os.environ)
    env.pop("PYTEST_XDIST_WORKER", None)
    env.update(
        DJANGO_SETTINGS_MODULE="solosales.settings",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        DEBUG="0",
        JOBS_INLINE="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        API_RATE_LIMIT="1000000/minute",
        PYTHONPATH=str(BASE_DIR),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextlib.contextmanager
def gunicorn(*, workers: int = 2, threads: int = 1, **env) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "solosales.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    (BASE_DIR / "var").mkdir(exist_ok=True)  # ignored by git: absent in a fresh clone
    log = open(BASE_DIR / "var" / f"reliability-gunicorn-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=BASE_DIR, env=server_env(**env), stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(log.name).read_text()[-2000:]}")
            try:
                requests.get(url + "/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not answer within 30 s")
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()
        with contextlib.suppress(OSError):
            Path(log.name).unlink()
