"""Load generator for the HTTP benchmarks, run as its own process (python bench/loadgen.py
SPEC OUT). Standard library only: one thread per client, http.client over loopback.

SPEC (JSON): {"base_url": "http://127.0.0.1:PORT", "deadline_s": 120,
              "clients": [[{"method", "path", "headers", "body"}, ...], ...]}
Each client sends its requests in order over one keep-alive connection (re-opened when the
server closes it). All clients start together behind a barrier; nothing is sent after the
deadline (bounded in count and in time).

OUT (JSON): {"elapsed_s", "sent", "errors", "results": [[status, latency_s, body], ...] per
client, in request order} (bodies clipped to 2,000 characters).
"""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def main(spec_path: str, out_path: str) -> int:
    with open(spec_path) as f:
        spec = json.load(f)
    url = urlsplit(spec["base_url"])
    host, port = url.hostname, url.port
    clients = spec["clients"]
    deadline_s = float(spec.get("deadline_s", 120))
    barrier = threading.Barrier(len(clients) + 1)
    results = [[] for _ in clients]
    errors = []
    state = {"stop_at": None}

    def worker(index: int, requests: list[dict]) -> None:
        conn = None
        barrier.wait()
        for req in requests:
            if time.monotonic() > state["stop_at"]:
                break
            body = req.get("body")
            payload = body.encode() if isinstance(body, str) else None
            for attempt in range(2):
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=120)
                started = time.perf_counter()
                try:
                    conn.request(req.get("method", "GET"), req["path"], body=payload, headers=req.get("headers", {}))
                    response = conn.getresponse()
                    data = response.read()
                    latency = time.perf_counter() - started
                    results[index].append([response.status, latency, data[:2000].decode("utf-8", "replace")])
                    if response.will_close:
                        conn.close()
                        conn = None
                    break
                except (http.client.HTTPException, OSError) as exc:
                    conn.close()
                    conn = None
                    if attempt == 1:
                        errors.append(f"client {index}: {type(exc).__name__}: {exc}")
                        results[index].append([0, time.perf_counter() - started, str(exc)[:200]])
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i, reqs), daemon=True) for i, reqs in enumerate(clients)]
    for t in threads:
        t.start()
    state["stop_at"] = time.monotonic() + deadline_s
    started = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join(timeout=max(1.0, deadline_s + 60))
    elapsed = time.perf_counter() - started
    report = {
        "elapsed_s": elapsed,
        "sent": sum(len(r) for r in results),
        "errors": errors[:50],
        "results": results,
    }
    with open(out_path, "w") as f:
        json.dump(report, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
