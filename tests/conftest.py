import os

import pytest
from django.conf import settings

from tests.db_triggers import pytest_runtest_teardown  # noqa: F401  (transactional-test teardown)
from tests.factories import make_client, make_staff  # noqa: F401

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
_skipped: list[str] = []


def pytest_collection_modifyitems(config, items):
    services = settings.SERVICES
    for item in items:
        for service in ("postgres", "redis"):
            # With REQUIRE_SERVICES=1 a missing service already stopped the session (below).
            if item.get_closest_marker(service) and not services[service]:
                item.add_marker(pytest.mark.skip(reason=f"needs {service}, which does not answer"))
                _skipped.append(f"{item.nodeid} (needs {service})")


def pytest_sessionstart(session):
    if REQUIRE_SERVICES:
        missing = [name for name, ok in settings.SERVICES.items() if not ok]
        if missing:
            raise pytest.UsageError(f"REQUIRE_SERVICES=1 but these do not answer: {', '.join(missing)}")


def pytest_terminal_summary(terminalreporter):
    services = settings.SERVICES
    terminalreporter.write_line("services: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in services.items()))
    # From the reports, not from collection: under xdist the controller collects nothing.
    skipped = sorted(
        {
            f"{report.nodeid} ({reason.split('needs ', 1)[1].split(',')[0]})"
            for report in terminalreporter.stats.get("skipped", [])
            for reason in [str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)]
            if "which does not answer" in reason
        }
    ) or _skipped
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} tests skipped for a missing service:")
        for line in skipped:
            terminalreporter.write_line(f"  {line}")


@pytest.fixture(autouse=True)
def _flush_test_redis():
    """Each test starts with empty queues (this worker's own Redis database) and caches."""
    from django.core.cache import cache

    cache.clear()
    if settings.SERVICES["redis"]:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    yield


@pytest.fixture
def client_user(db):
    return make_client()


@pytest.fixture
def other_client(db):
    return make_client(email="outsider@example.com")


@pytest.fixture
def staff_user(db):
    return make_staff()


@pytest.fixture
def logged_in(client, client_user):
    client.force_login(client_user)
    return client


@pytest.fixture
def run_jobs():
    """Drain the queues with a non-forking worker in this process (sees the test's data)."""

    def _run(queues=None):
        if settings.JOBS_INLINE:
            return 0
        import django_rq
        from rq import SimpleWorker

        names = queues or settings.RQ_QUEUE_NAMES
        qs = [django_rq.get_queue(n) for n in names]
        worker = SimpleWorker(qs, connection=qs[0].connection)
        worker.work(burst=True, with_scheduler=False)
        return worker.successful_job_count if hasattr(worker, "successful_job_count") else 0

    return _run
