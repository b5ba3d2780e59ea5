"""SendCloud (sendcloud.net) mail API client and webhook signature helpers.

``send`` posts one form-encoded ``mail/send`` request with explicit timeouts. Every message
carries our own id twice: as the ``SC-Custom-Message-Id`` header (SendCloud echoes
``SC-Custom-*`` headers back in webhooks) and as ``sendRequestId`` (SendCloud sends a
repeated request id only once within an hour, so a retry after a timeout is safe).

Errors say whether retrying can help: ``SendCloudAuthError`` and ``SendCloudPermanentError``
(bad key, bad parameters, other 4xx) are permanent; ``SendCloudTransientError`` (timeouts,
connection errors, 429 and 5xx) may be retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

import requests
from django.conf import settings

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 20
AUTH_FAILED = 40005


class SendCloudError(Exception):
    permanent = False

    def __init__(self, message: str, *, status_code: int | None = None, http_status: int | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.http_status = http_status


class SendCloudTransientError(SendCloudError):
    """Timeout, connection failure, 429 or 5xx: retry later with the same sendRequestId."""


class SendCloudPermanentError(SendCloudError):
    """The request itself is wrong (parameters, recipient): retrying will not help."""

    permanent = True


class SendCloudAuthError(SendCloudPermanentError):
    """apiUser/apiKey refused (statusCode 40005, or HTTP 401/403)."""


@dataclass
class SendResult:
    email_ids: list[str]
    message: str = ""
    raw: dict = field(default_factory=dict)


def is_configured() -> bool:
    return bool(settings.SENDCLOUD_API_USER and settings.SENDCLOUD_API_KEY)


def tracking_xsmtpapi() -> str:
    return json.dumps(
        {
            "filters": {
                "open_tracking": {"settings": {"enable": "1"}},
                "click_tracking": {"settings": {"enable": "1"}},
            }
        },
        separators=(",", ":"),
    )


def send(
    *,
    to: list[str] | str,
    subject: str,
    html: str = "",
    plain: str = "",
    request_id: str,
    from_email: str | None = None,
    from_name: str = "",
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    tracking: bool = True,
    api_user: str | None = None,
    api_key: str | None = None,
    base: str | None = None,
    timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    session: requests.Session | None = None,
) -> SendResult:
    """Send one email through ``{base}/mail/send``; returns SendCloud's emailIds.

    ``request_id`` (≤128 chars) is both the ``sendRequestId`` and the
    ``SC-Custom-Message-Id`` header. Raises a SendCloudError subclass on any failure.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise SendCloudPermanentError("no recipient")
    if not (html or plain):
        raise SendCloudPermanentError("an html or plain body is required")
    all_headers = {"SC-Custom-Message-Id": request_id, **(headers or {})}
    data = {
        "apiUser": api_user if api_user is not None else settings.SENDCLOUD_API_USER,
        "apiKey": api_key if api_key is not None else settings.SENDCLOUD_API_KEY,
        "from": from_email or settings.SENDCLOUD_FROM,
        "to": ";".join(recipients),
        "subject": subject,
        "headers": json.dumps(all_headers, separators=(",", ":")),
        "sendRequestId": request_id[:128],
    }
    if from_name:
        data["fromName"] = from_name
    if reply_to:
        data["replyTo"] = reply_to
    if html:
        data["html"] = html
    if plain:
        data["plain"] = plain
    if tracking:
        data["xsmtpapi"] = tracking_xsmtpapi()
    url = (base or settings.SENDCLOUD_API_BASE).rstrip("/") + "/mail/send"
    http = session or requests
    try:
        response = http.post(url, data=data, timeout=timeout)
    except requests.Timeout as exc:
        raise SendCloudTransientError(f"SendCloud timed out: {exc.__class__.__name__}")
    except requests.RequestException as exc:
        raise SendCloudTransientError(f"SendCloud unreachable: {exc.__class__.__name__}")
    return parse_response(response)


def parse_response(response) -> SendResult:
    http_status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if http_status != 200:
        message = f"SendCloud answered HTTP {http_status}"
        if http_status in (401, 403):
            raise SendCloudAuthError(message, http_status=http_status)
        if http_status == 429 or http_status >= 500:
            raise SendCloudTransientError(message, http_status=http_status)
        raise SendCloudPermanentError(message, http_status=http_status)
    if not isinstance(body, dict):
        raise SendCloudTransientError("SendCloud answered 200 with a body that is not JSON", http_status=200)
    code = body.get("statusCode")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    message = str(body.get("message") or "")
    if body.get("result") is not True:
        text = f"SendCloud refused the request (statusCode {code}): {message}".strip()
        if code == AUTH_FAILED:
            raise SendCloudAuthError(text, status_code=code, http_status=200)
        if code is not None and code >= 50000:
            raise SendCloudTransientError(text, status_code=code, http_status=200)
        raise SendCloudPermanentError(text, status_code=code, http_status=200)
    info = body.get("info") or {}
    ids = info.get("emailIdList") if isinstance(info, dict) else None
    return SendResult(email_ids=[str(i) for i in ids or []], message=message, raw=body)


# --- webhook signatures -------------------------------------------------------------------


def signature(*, timestamp: str, token: str, app_key: str | None = None) -> str:
    key = (app_key if app_key is not None else settings.SENDCLOUD_APP_KEY).encode()
    return hmac.new(key, (str(timestamp) + str(token)).encode(), hashlib.sha256).hexdigest()


def signature_valid(*, timestamp: str, token: str, given: str, app_key: str | None = None) -> bool:
    if not (timestamp and token and given):
        return False
    if not (app_key if app_key is not None else settings.SENDCLOUD_APP_KEY):
        return False  # no key configured: nothing verifies (an empty HMAC key is public)
    expected = signature(timestamp=timestamp, token=token, app_key=app_key)
    return hmac.compare_digest(expected.encode(), str(given).strip().lower().encode())


def timestamp_seconds(value) -> float | None:
    """SendCloud timestamps are 13-digit milliseconds in the examples, 10-digit seconds in
    some readings; both are accepted. None when it is not a number."""
    text = str(value or "").strip()
    if not text or len(text) > 20:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number <= 0:  # NaN or not positive
        return None
    return number / 1000.0 if number >= 1e11 else number


def now_ms() -> str:
    return str(int(time.time() * 1000))
