"""The one audited HTTP path the real provider clients use.

Every attempt leaves a ``ProviderCall`` row, whatever happens: answered, refused by our own
rate limiter, refused by the open breaker (no request sent), timed out, or garbled. The
response is mapped onto the ``ProviderError`` family so the pipeline knows what to do:

    429 (and any status the provider uses for "slow down") -> RateLimited(retry_after)
    the status a provider uses for "quota used up"          -> QuotaExhausted (Hunter's 429)
    5xx, timeouts, connection errors, malformed JSON        -> TransientError (counts for the breaker)
    401 / 403                                                -> PermanentError (bad key / forbidden)
    other 4xx                                                -> PermanentError (bad request)

Call ``ProviderHttp.request`` outside ``transaction.atomic()``: the audit row is then
committed straight away and survives the caller's rollback, and no database lock is held
while waiting for the network.
"""

from __future__ import annotations

import codecs
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import pybreaker
import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .audit import record_call, scrub_text
from .base import CallContext, CircuitOpen, PermanentError, QuotaExhausted, RateLimited, TransientError
from .models import Outcome

log = logging.getLogger(__name__)


def _latin1_fallback(err: UnicodeDecodeError):
    # Decode just the bytes that are not UTF-8 as Latin-1 (a "Jos\xe9" from a legacy
    # database), keeping every valid UTF-8 sequence (Chinese names) intact.
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("providers_latin1_fallback", _latin1_fallback)


class MalformedResponse(ValueError):
    """The provider answered 2xx with a body we cannot use."""


@dataclass
class Parsed:
    """What a response parser hands back: the value, and figures for the audit row."""

    value: Any
    records: int = 0
    note: str = ""
    cost: Decimal | None = None


@dataclass
class HttpResult:
    status: int
    value: Any
    headers: dict
    request_id: str
    call_id: int


def decode_body(content: bytes) -> tuple[Any, str]:
    """JSON from raw bytes; non-UTF-8 bytes are tolerated and reported in the note."""
    note = ""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("utf-8", errors="providers_latin1_fallback")
        note = "response was not valid UTF-8; stray bytes read as Latin-1"
    try:
        return json.loads(text), note
    except ValueError as exc:
        raise MalformedResponse(f"response is not JSON: {exc}") from exc


def parse_retry_after(value: str | None, *, default: float = 60.0) -> float:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), capped by PROVIDER_MAX_RETRY_AFTER."""
    cap = float(getattr(settings, "PROVIDER_MAX_RETRY_AFTER", 300))
    seconds = default
    if value:
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = (parsedate_to_datetime(value) - timezone.now()).total_seconds()
            except (TypeError, ValueError, IndexError, OverflowError):
                seconds = default
    return max(0.0, min(seconds, cap))


def provider_message(data: Any) -> str:
    """The human message in an error body: RocketReach ``{"message"}`` or Hunter ``{"errors": [...]}``."""
    if not isinstance(data, dict):
        return ""
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        parts = []
        for err in errors[:3]:
            if isinstance(err, dict):
                parts.append(" ".join(str(err.get(k, "")) for k in ("id", "details") if err.get(k)))
        return "; ".join(p for p in parts if p)
    for key in ("message", "detail", "error"):
        if data.get(key):
            return str(data[key])
    return ""


class ProviderHttp:
    """A ``requests.Session`` wrapped with timeouts, rate limit, breaker and the audit trail."""

    def __init__(
        self,
        provider: str,
        *,
        base_url: str,
        headers: dict | None = None,
        auth_params: dict | None = None,
        secrets: tuple[str, ...] = (),
        limiter=None,
        breaker: pybreaker.CircuitBreaker | None = None,
        rate_limit_statuses: tuple[int, ...] = (429,),
        quota_statuses: tuple[int, ...] = (),
        session: requests.Session | None = None,
    ):
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.auth_params = auth_params or {}
        self.secrets = tuple(s for s in secrets if s)
        self.limiter = limiter
        self.breaker = breaker
        self.rate_limit_statuses = rate_limit_statuses
        self.quota_statuses = quota_statuses
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "SoloSales/1.0"})
        self.session.headers.update(headers or {})

    @property
    def timeout(self) -> tuple[float, float]:
        return (
            float(getattr(settings, "PROVIDER_CONNECT_TIMEOUT", 3.05)),
            float(getattr(settings, "PROVIDER_READ_TIMEOUT", 20)),
        )

    def _record(self, operation, outcome, context, summary, **fields):
        return record_call(
            provider=self.provider,
            operation=operation,
            outcome=outcome,
            context=context,
            request_summary=summary,
            secrets=self.secrets,
            **fields,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        context: CallContext | None = None,
        params: dict | None = None,
        json_body: dict | None = None,
        parse: Callable[[Any, int], Parsed] | None = None,
        cost: Decimal | int | float = 0,
        accept_statuses: tuple[int, ...] = (),
    ) -> HttpResult:
        """Send one request (no retries here: the pipeline reschedules) and audit it.

        ``parse(data, status)`` turns a 2xx body (or one of ``accept_statuses``) into a
        ``Parsed``; raising ``MalformedResponse`` makes the call a ``TransientError``.
        """
        context = context or CallContext()
        summary = {"method": method, "path": path}
        if params:
            summary["params"] = params
        if json_body is not None:
            summary["body"] = json_body

        if self.breaker is not None and self._breaker_refuses():
            raise self._circuit_open(operation, context, summary)
        if self.limiter is not None:
            try:
                self.limiter.acquire()
            except RateLimited as exc:
                self._record(
                    operation,
                    Outcome.RATE_LIMITED,
                    context,
                    summary,
                    retry_after=exc.retry_after,
                    error_message="client-side rate limit (no request sent)",
                )
                raise

        def attempt():
            return self._send(
                method, path, operation, context, summary, params, json_body, parse, cost, accept_statuses
            )

        if self.breaker is None:
            return attempt()
        try:
            return self.breaker.call(attempt)
        except pybreaker.CircuitBreakerError:
            raise self._circuit_open(operation, context, summary)

    def _breaker_refuses(self) -> bool:
        from .breakers import breaker_state_of

        return breaker_state_of(self.breaker) == pybreaker.STATE_OPEN

    def _circuit_open(self, operation, context, summary) -> CircuitOpen:
        self._record(operation, Outcome.CIRCUIT_OPEN, context, summary, error_message="breaker open: no request sent")
        return CircuitOpen(provider=self.provider)

    def _send(self, method, path, operation, context, summary, params, json_body, parse, cost, accept_statuses):
        url = f"{self.base_url}/{path.lstrip('/')}"
        started = time.monotonic()

        def elapsed_ms():
            return int((time.monotonic() - started) * 1000)

        try:
            response = self.session.request(
                method,
                url,
                params={**(params or {}), **self.auth_params} or None,
                json=json_body,
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            self._record(operation, Outcome.TIMEOUT, context, summary, latency_ms=elapsed_ms(), error_message=str(exc))
            raise TransientError(_("The data provider did not answer in time."), provider=self.provider)
        except requests.RequestException as exc:
            self._record(operation, Outcome.ERROR, context, summary, latency_ms=elapsed_ms(), error_message=str(exc))
            raise TransientError(_("The data provider could not be reached."), provider=self.provider)

        latency = elapsed_ms()
        status = response.status_code
        request_id = response.headers.get("RR-Request-ID") or response.headers.get("X-Request-Id") or ""
        audit = {"http_status": status, "latency_ms": latency, "provider_request_id": request_id}

        if status in self.quota_statuses:
            message = self._error_text(response)
            self._record(
                operation,
                Outcome.RATE_LIMITED,
                context,
                summary,
                error_message=f"usage limit reached (quota, not a rate limit): {message}"[:4000],
                **audit,
            )
            raise QuotaExhausted(provider=self.provider, http_status=status)
        if status in self.rate_limit_statuses:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            message = self._error_text(response)
            self._record(
                operation, Outcome.RATE_LIMITED, context, summary, retry_after=wait, error_message=message, **audit
            )
            raise RateLimited(retry_after=wait, provider=self.provider, http_status=status)
        if status >= 500:
            self._record(operation, Outcome.ERROR, context, summary, error_message=self._error_text(response), **audit)
            raise TransientError(
                _("The data provider had a server error (HTTP %(status)s).") % {"status": status},
                provider=self.provider,
                http_status=status,
            )
        if status in (401, 403):
            message = self._error_text(response)
            self._record(operation, Outcome.ERROR, context, summary, error_message=message, **audit)
            reason = (
                _("The data provider rejected our API key (HTTP 401). Check the key in the settings.")
                if status == 401
                else _("The data provider refused access (HTTP 403): the plan may not include this call.")
            )
            raise PermanentError(reason, provider=self.provider, http_status=status)
        if status >= 300 and status not in accept_statuses:
            message = self._error_text(response)
            self._record(operation, Outcome.ERROR, context, summary, error_message=message, **audit)
            raise PermanentError(
                _("The data provider refused the request (HTTP %(status)s): %(message)s")
                % {"status": status, "message": scrub_text(message, self.secrets)},
                provider=self.provider,
                http_status=status,
            )

        try:
            data, note = decode_body(response.content) if response.content else (None, "")
            parsed = parse(data, status) if parse else Parsed(data)
        except MalformedResponse as exc:
            self._record(
                operation, Outcome.ERROR, context, summary, error_message=f"malformed response: {exc}", **audit
            )
            raise TransientError(_("The data provider sent a response we could not read."), provider=self.provider)
        call = self._record(
            operation,
            Outcome.OK,
            context,
            summary,
            records_returned=parsed.records,
            estimated_cost=parsed.cost if parsed.cost is not None else cost,
            error_message="; ".join(n for n in (note, parsed.note) if n),
            **audit,
        )
        return HttpResult(status, parsed.value, dict(response.headers), request_id, call.pk)

    def _error_text(self, response) -> str:
        try:
            data, _note = decode_body(response.content)
            message = provider_message(data)
        except MalformedResponse:
            message = ""
        if not message:
            message = response.content[:300].decode("utf-8", errors="replace")
        return scrub_text(message, self.secrets)
