"""Local stand-ins for the provider APIs, used by the tests and the demo.

Each fake is a small WSGI app speaking the provider's wire format over a deterministic
population (the sandbox generator). Faults can be queued per route: the next requests to
that route get them in order, then normal service resumes. Every request is counted per
route, so a test can prove that no request was sent (for example while a breaker is open).

    app = FakeRocketReach(api_key="k")
    app.inject("search", Fault.status(429, retry_after=7), Fault.status(500))
    with serve(app) as base_url:
        ...
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Fault:
    """One scripted answer. ``delay`` sleeps first (a slow provider); ``passthrough`` then answers normally."""

    status: int = 500
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    passthrough: bool = False

    @classmethod
    def error(cls, status: int, payload: dict | None = None, retry_after: float | None = None) -> Fault:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = json.dumps(payload if payload is not None else {"status": status, "message": "Injected error"})
        return cls(status=status, body=body.encode(), headers=headers)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls(status=200, delay=seconds, passthrough=True)

    @classmethod
    def raw(cls, body: bytes, status: int = 200) -> Fault:
        return cls(status=status, body=body)

    @classmethod
    def malformed_json(cls) -> Fault:
        return cls(status=200, body=b'{"profiles": [{"id": 1, "name": "Trunc')


class FakeServer:
    """Routing, authentication, fault injection and request counting shared by the fakes."""

    routes: dict[tuple[str, str], str] = {}  # (method, path below ``prefix``) -> route name
    prefix = ""  # the API's path prefix, e.g. "/api/v2"

    def __init__(self, api_key: str = "test-key", seed: int = 1):
        self.api_key = api_key
        self.seed = seed
        self.counts: Counter = Counter()
        self.requests: list[dict] = []
        self._faults: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def inject(self, route: str, *faults: Fault) -> None:
        with self._lock:
            self._faults[route].extend(faults)

    def count(self, route: str | None = None) -> int:
        with self._lock:
            return self.counts[route] if route else sum(self.counts.values())

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.requests.clear()
            self._faults.clear()

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        route = self.routes.get((request.method, path.rstrip("/") or "/"))
        with self._lock:
            self.counts[route or "unknown"] += 1
            self.requests.append(
                {
                    "route": route,
                    "method": request.method,
                    "path": request.path,
                    "args": request.args.to_dict(),
                    "headers": dict(request.headers),
                    "body": request.get_data(as_text=True),
                }
            )
            fault = self._faults[route].popleft() if route and self._faults[route] else None
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if not fault.passthrough:
                return self._respond(fault.status, fault.body or b"", fault.headers)(environ, start_response)
        if route is None:
            return self.json(404, self.not_found_body())(environ, start_response)
        denied = self.authenticate(request)
        if denied is not None:
            return denied(environ, start_response)
        return getattr(self, f"handle_{route}")(request)(environ, start_response)

    # --- helpers for subclasses -----------------------------------------------------------
    def _respond(self, status, body: bytes, headers=None) -> Response:
        response = Response(body, status=status, content_type="application/json")
        for k, v in (headers or {}).items():
            response.headers[k] = v
        response.headers.setdefault("X-Request-Id", uuid.uuid4().hex)
        return response

    def json(self, status: int, payload, headers=None) -> Response:
        return self._respond(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers)

    def not_found_body(self):
        return {"status": 404, "message": "Not found"}

    def authenticate(self, request):
        return None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # tests assert on counts, not on stderr noise
        pass


@contextlib.contextmanager
def serve(app, host: str = "127.0.0.1", port: int = 0):
    """Run ``app`` on a local port in a background thread; yields the base URL."""
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


__all__ = ["Fault", "FakeServer", "serve"]
