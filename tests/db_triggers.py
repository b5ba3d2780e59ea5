"""Transactional tests (``django_db(transaction=True)``) end with Django's flush, a TRUNCATE of
every table, which the append-only triggers (ledger transfers, provider calls, evidence) refuse.
Around that teardown the user triggers are switched off, then on again, and the rows the data
migrations seed (switches, groups, pricing v1, platform accounts, rules v1) are put back so later
tests, and later runs on the reused database, still find them. Registered in tests/conftest.py."""

import importlib

import pytest
from django.conf import settings
from django.db import connection

SEEDS = [
    ("solosales.core.migrations.0002_switches_and_groups", "forwards"),
    ("wallet.migrations.0002_append_only_and_seed", "seed"),
    ("orders.migrations.0002_seed_rules_v1", "seed"),
]


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return "transactional_db" in getattr(item, "fixturenames", ())
    return bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))


def _user_trigger_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND n.nspname = current_schema()
            """
        )
        return [row[0] for row in cursor.fetchall()]


def _set_triggers(enabled: bool) -> None:
    with connection.cursor() as cursor:
        for table in _user_trigger_tables():
            cursor.execute(f'ALTER TABLE "{table}" {"ENABLE" if enabled else "DISABLE"} TRIGGER USER')


def reseed() -> None:
    from django.apps import apps

    for module, func in SEEDS:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        getattr(mod, func)(apps, None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    from pytest_django.plugin import blocking_manager_key

    active = (
        not getattr(item, "_solosales_trigger_teardown", False)
        and settings.SERVICES["postgres"]
        and _is_transactional(item)
        and not any(m.name == "skip" for m in item.iter_markers())
    )
    blocker = item.config.stash[blocking_manager_key]
    item._solosales_trigger_teardown = True  # once per item, however many conftests import this
    if active:
        with blocker.unblock():
            _set_triggers(False)
    try:
        yield
    finally:
        if active:
            with blocker.unblock():
                _set_triggers(True)
                reseed()
