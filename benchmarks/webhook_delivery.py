"""Signed webhook deliveries to a local receiver: how long 10,000 take (issue 7).

The receiver runs in its own process (standard-library ``ThreadingHTTPServer``, HTTP/1.1,
keep-alive): it checks every signature with :func:`silkguard.alerts.webhook.verify_signature`
and counts distinct idempotency keys, so a method only counts when every delivery arrived,
verified, exactly once. Senders use a pool of worker threads, as the delivery job will.

Methods, measured in the same run on the same messages:

* ``WebhookChannel`` with kept-alive connections (the default);
* ``WebhookChannel(keep_alive=False)``: a new TCP connection per delivery;
* peer: ``requests.Session`` per thread posting the same body and headers (signed the same way),
  reported as unavailable when requests cannot be imported.

The sender and the receiver share this machine's cores, so the receiver's cost is part of the
figure. Goal from the issue: 10,000 deliveries in under 10 s (including fan-out, which is not
measured here). Results are printed and written to ``benchmarks/results/webhook_delivery.json``.
"""

from __future__ import annotations

import json
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from silkguard.alerts.channels import OutboundMessage, message_payload
from silkguard.alerts.vocab import AlertSeverity
from silkguard.alerts.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    WebhookChannel,
    signature_header,
    verify_signature,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SECRET = "benchmark-secret"
GOAL_S = 10.0


def serve(port: int) -> None:
    """The receiver process: POST /hook verifies and counts; GET /count reports; POST /reset.

    ``/count`` answers ``distinct`` (verified idempotency keys), ``total`` requests, ``bad``
    signatures, ``duplicates`` (verified requests whose key had arrived before) and ``last``
    (wall-clock time of the last verified request, to time a run from outside)."""
    lock = threading.Lock()
    keys: set[str] = set()
    state: dict[str, float] = {"bad": 0, "total": 0, "duplicates": 0, "last": 0.0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/reset":
                with lock:
                    keys.clear()
                    state.update(bad=0, total=0, duplicates=0, last=0.0)
                self._reply(204)
                return
            ok = verify_signature(SECRET, self.headers, body, 300)
            with lock:
                state["total"] += 1
                if ok:
                    key = self.headers[IDEMPOTENCY_HEADER]
                    if key in keys:
                        state["duplicates"] += 1
                    keys.add(key)
                    state["last"] = time.time()
                else:
                    state["bad"] += 1
            self._reply(200 if ok else 401)

        def do_GET(self) -> None:
            with lock:
                document = {"distinct": len(keys), **state}
            self._reply(200, json.dumps(document).encode())

    ThreadingHTTPServer.request_queue_size = 1024
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _control(base: str, method: str, path: str) -> dict[str, Any]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, path, body=b"" if method == "POST" else None)
        data = connection.getresponse().read()
    finally:
        connection.close()
    return json.loads(data) if data else {}


def _messages(url: str, n: int) -> list[OutboundMessage]:
    now = datetime.now(UTC)
    return [
        OutboundMessage(
            delivery_id=f"bench-{i:06d}",
            recipient=url,
            subject="Security alert 安全警报",
            text="Shelter in place now. 立即就地避险, 远离窗户.",
            language="zh-CN",
            alert_id="bench-alert",
            drill=False,
            severity=AlertSeverity.HIGH,
            created_at=now,
        )
        for i in range(n)
    ]


def _requests_sender() -> Callable[[OutboundMessage], bool] | None:
    try:
        import requests  # type: ignore[import-untyped]
    except ImportError:
        return None
    local = threading.local()

    def send(message: OutboundMessage) -> bool:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        body = message_payload(message)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: message.delivery_id,
            SIGNATURE_HEADER: signature_header([SECRET], timestamp, body),
        }
        response = session.post(message.recipient, data=body, headers=headers, timeout=10)
        return bool(response.status_code == 200)

    return send


def _measure(
    name: str, send: Callable[[OutboundMessage], bool], messages: list[OutboundMessage], base: str
) -> dict[str, Any]:
    _control(base, "POST", "/reset")
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        ok = sum(pool.map(send, messages))
    seconds = time.perf_counter() - start
    counts = _control(base, "GET", "/count")
    row = {
        "method": name,
        "deliveries": len(messages),
        "seconds": round(seconds, 3),
        "per_second": round(len(messages) / seconds, 1),
        "ok": ok,
        "received_distinct": counts["distinct"],
        "received_bad_signature": counts["bad"],
    }
    if ok != len(messages) or counts["distinct"] != len(messages) or counts["bad"]:
        msg = f"{name}: not every delivery arrived verified exactly once: {row}"
        raise RuntimeError(msg)
    return row


THREADS = 32


@contextmanager
def receiver() -> Iterator[str]:
    """Run the verifying receiver in its own process; yields its base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.webhook_delivery", "--serve", str(port)],
        cwd=REPO,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def raw_delivery(base: str, deliveries: int) -> dict[str, Any]:
    """The peer figure: ``WebhookChannel`` (kept-alive) sending ``deliveries`` signed messages
    from THREADS threads, without a database."""
    with WebhookChannel(SECRET) as channel:
        return _measure(
            "WebhookChannel keep-alive",
            lambda m: channel.send(m).ok,
            _messages(f"{base}/hook", deliveries),
            base,
        )


def run(deliveries: int = 10_000) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with receiver() as base:
        messages = _messages(f"{base}/hook", deliveries)
        rows = [raw_delivery(base, deliveries)]
        with WebhookChannel(SECRET, keep_alive=False) as fresh:
            rows.append(
                _measure(
                    "WebhookChannel new connection each", lambda m: fresh.send(m).ok, messages, base
                )
            )
        peer = _requests_sender()
        if peer is not None:
            rows.append(_measure("requests.Session (peer)", peer, messages, base))
    ours = rows[0]["seconds"]
    print(f"Webhook delivery: {deliveries} signed deliveries, {THREADS} sender threads")
    for row in rows:
        ratio = row["seconds"] / ours
        name, seconds, rate = row["method"], row["seconds"], row["per_second"]
        print(f"  {name:<38} {seconds:>7.2f} s {rate:>9.0f}/s  x{ratio:.2f}")
    result: dict[str, Any] = {
        "benchmark": "webhook_delivery",
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
        "threads": THREADS,
        "goal_s": GOAL_S,
        "met": {"under_goal": ours < GOAL_S},
        "runs": rows,
        "peer_available": peer is not None,
    }
    out = RESULTS / "webhook_delivery.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"met: {result['met']}\nwritten to {out.relative_to(REPO)}")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        run()
