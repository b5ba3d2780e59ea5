"""Dashboard panels. Each app registers its panels in AppConfig.ready(), so the core page
needs no import of a higher layer."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    order: int
    template: str
    context: Callable  # (request) -> dict


_PANELS: list[Panel] = []


def register(*, order: int, template: str, context: Callable) -> None:
    if not any(p.template == template for p in _PANELS):
        _PANELS.append(Panel(order, template, context))
        _PANELS.sort(key=lambda p: p.order)


def panels_for(request) -> list[dict]:
    return [{"template": p.template, **p.context(request)} for p in _PANELS]
