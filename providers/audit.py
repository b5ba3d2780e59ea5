"""Writing ``ProviderCall`` rows, with secrets scrubbed from everything that is stored."""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from django.db import connection

from .models import ProviderCall

log = logging.getLogger(__name__)

SECRET_KEY_NAMES = re.compile(r"(api[_-]?key|apikey|token|secret|password|authorization|signature)", re.I)
MASK = "***"


def scrub(value, secrets: tuple[str, ...] = ()):
    """A JSON-serialisable copy of ``value`` with secret-named keys dropped and secret values masked."""
    secrets = tuple(s for s in secrets if s)
    if isinstance(value, dict):
        return {str(k): scrub(v, secrets) for k, v in value.items() if not SECRET_KEY_NAMES.search(str(k))}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub_text(str(value), secrets)


def scrub_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    # Query strings in exception messages (e.g. "...?api_key=abc&email=...").
    return re.sub(r"(?i)(api[_-]?key=)[^&\s'\"]+", r"\1" + MASK, text)


def record_call(
    *,
    provider: str,
    operation: str,
    outcome: str,
    context=None,
    request_summary: dict | None = None,
    http_status: int | None = None,
    latency_ms: int = 0,
    retry_after: float | None = None,
    records_returned: int = 0,
    provider_request_id: str = "",
    estimated_cost: Decimal | int | float = 0,
    error_message: str = "",
    secrets: tuple[str, ...] = (),
) -> ProviderCall:
    """Append one audit row.

    Call this outside ``transaction.atomic()``: the row is then committed at once
    (autocommit) and survives whatever the caller rolls back. Provider HTTP calls belong
    outside transactions anyway, so that no lock is held across the network.
    """
    if connection.in_atomic_block:
        log.debug("ProviderCall written inside an atomic block; it will roll back with it")
    return ProviderCall.objects.create(
        provider=provider,
        operation=operation,
        outcome=outcome,
        order_id=getattr(context, "order_id", None),
        step=(getattr(context, "step", "") or "")[:64],
        attempt=max(1, int(getattr(context, "attempt", 1) or 1)),
        request_summary=scrub(request_summary or {}, secrets),
        http_status=http_status,
        latency_ms=max(0, int(latency_ms)),
        retry_after=retry_after,
        records_returned=max(0, int(records_returned)),
        provider_request_id=(provider_request_id or "")[:128],
        estimated_cost=Decimal(str(estimated_cost)).quantize(Decimal("0.01")),
        error_message=scrub_text(str(error_message or ""), secrets)[:4000],
    )
