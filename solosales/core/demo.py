"""Demo data seeders. Each app registers its seeder in AppConfig.ready(); `seed_demo` runs
them in order. Every seeder must be idempotent (running twice gives the same state)."""

from collections.abc import Callable

_SEEDERS: list[tuple[int, str, Callable]] = []


def register(*, order: int, name: str, func: Callable) -> None:
    if not any(n == name for _, n, _ in _SEEDERS):
        _SEEDERS.append((order, name, func))
        _SEEDERS.sort(key=lambda s: s[0])


def seeders() -> list[tuple[int, str, Callable]]:
    return list(_SEEDERS)
