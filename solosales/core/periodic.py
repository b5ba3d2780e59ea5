"""Periodic tasks (sweeper, closing orders, nurture ticks). Apps register them in
AppConfig.ready(); `manage.py tick` runs the due ones once, or forever with --loop."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    func: Callable  # called with no arguments; must be idempotent
    every_seconds: int
    queue: str = "default"


_TASKS: dict[str, PeriodicTask] = {}


def register(*, name: str, func: Callable, every_seconds: int, queue: str = "default") -> None:
    _TASKS[name] = PeriodicTask(name, func, every_seconds, queue)


def tasks() -> list[PeriodicTask]:
    return list(_TASKS.values())
