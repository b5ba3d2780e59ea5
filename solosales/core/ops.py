"""Panels of the ops dashboard on the admin index (QA queues, open disputes). Each app
registers its panels in AppConfig.ready(), so the core needs no import of a higher layer."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone


@dataclass(frozen=True)
class OpsPanel:
    order: int
    template: str
    context: Callable  # (request) -> dict | None; None hides the panel (no permission)


_PANELS: list[OpsPanel] = []


def register(*, order: int, template: str, context: Callable) -> None:
    if not any(p.template == template for p in _PANELS):
        _PANELS.append(OpsPanel(order, template, context))
        _PANELS.sort(key=lambda p: p.order)


def panels_for(request) -> list[dict]:
    panels = []
    for panel in _PANELS:
        context = panel.context(request)
        if context is not None:
            panels.append({"template": panel.template, **context})
    return panels


def sla_row(obj, since, sla: timedelta) -> dict:
    """An item waiting since ``since`` against an SLA: its age and whether it is overdue."""
    age = timezone.now() - since if since else timedelta(0)
    return {
        "obj": obj,
        "since": since,
        "age": age,
        "age_hours": round(age.total_seconds() / 3600, 1),
        "overdue": age > sla,
    }
