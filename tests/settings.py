"""Test settings: PostgreSQL and Redis when they answer, SQLite and in-process jobs otherwise.

``DATABASE_URL`` / ``REDIS_URL`` say where the services are; ``TEST_DB_TAG`` and
``TEST_REDIS_DB`` keep concurrent runs (several checkouts, xdist workers) apart.
"""

import os
import re

from solosales.core.probe import port_open, redis_answers

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_worker_idx = int(re.sub(r"\D", "", _worker) or 0)

if "DATABASE_URL" not in os.environ and port_open("127.0.0.1", 5432):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/solosales"

_redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
_redis_db = int(os.environ.get("TEST_REDIS_DB", "10")) + _worker_idx
_redis_url = re.sub(r"/\d*$", "", _redis_base) + f"/{_redis_db}"
SERVICES = {
    "postgres": os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")),
    "redis": redis_answers(_redis_url),
}
os.environ["REDIS_URL"] = _redis_url
if not SERVICES["redis"]:
    os.environ["JOBS_INLINE"] = "1"

from solosales.settings import *  # noqa: E402,F403
from solosales.settings import DATABASES  # noqa: E402

DATABASES["default"].setdefault("TEST", {})
_tag = os.environ.get("TEST_DB_TAG", "main")
if SERVICES["postgres"]:
    DATABASES["default"]["TEST"]["NAME"] = f"test_solosales_{_tag}"
else:
    DATABASES["default"]["TEST"]["NAME"] = None  # in-memory SQLite

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

PRIVATE_ROOT = Path(tempfile.mkdtemp(prefix="solosales-test-private-"))
MEDIA_ROOT = PRIVATE_ROOT
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key"}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"user": "100000/minute"}  # noqa: F405
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405  (whitenoise warns about a missing root)
