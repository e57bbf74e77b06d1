"""Real local services for the channel tests: a threaded HTTP receiver (webhook + fake SMS
gateway), an aiosmtpd SMTP server and the local Mosquitto broker."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from silkguard.alerts.channels import RetryPolicy
from silkguard.alerts.webhook import signature_problem
from tests.alerts.support import WEBHOOK_SECRET, Sleeps

MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    signature_problem: str | None
    client_port: int


@dataclass
class Receiver:
    """What the local HTTP server got, and how it should answer next."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    # path -> list of (status, extra headers) answers to give before answering normally
    scripted: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # close each connection after answering without saying so, as idle-timeout servers do
    close_silently: bool = False

    def fail_next(
        self, path: str, times: int, status: int = 503, headers: dict[str, str] | None = None
    ) -> None:
        with self.lock:
            self.scripted.setdefault(path, []).extend([(status, headers or {})] * times)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path.split("?")[0] == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real receivers
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, document: dict[str, Any], extra: dict[str, str]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = self.path.split("?")[0]
            problem = (
                signature_problem(WEBHOOK_SECRET, self.headers, body, 300)
                if path == "/hook"
                else None
            )
            with receiver.lock:
                receiver.requests.append(
                    Received(
                        self.command,
                        self.path,
                        dict(self.headers.items()),
                        body,
                        problem,
                        self.client_address[1],
                    )
                )
                number = len(receiver.requests)
                script = receiver.scripted.get(path)
                scripted = script.pop(0) if script else None
            if scripted is not None:
                self._answer(scripted[0], {"error": "scripted failure"}, scripted[1])
            elif path == "/hook":
                if problem:
                    self._answer(401, {"error": problem}, {})
                else:
                    self._answer(200, {"id": f"hook-{number}"}, {})
            elif path == "/sms":
                self._answer(202, {"messages": [{"id": f"sms-{number}"}]}, {})
            else:
                self._answer(404, {"error": "no such path"}, {})
            if receiver.close_silently:
                self.close_connection = True

        do_POST = _handle  # noqa: N815
        do_GET = _handle  # noqa: N815

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@dataclass
class SmtpSink:
    envelopes: list[Any] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)  # SMTP replies to give to DATA first
    port: int = 0

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        if self.fail_next:
            return self.fail_next.pop(0)
        self.envelopes.append(envelope)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    try:
        socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=1).close()
    except OSError as exc:
        pytest.fail(f"the local Mosquitto broker at {MQTT_HOST}:{MQTT_PORT} is not running: {exc}")
    return MQTT_HOST, MQTT_PORT


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fast_retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=4, base_delay_s=0.5, max_delay_s=8.0, sleep=sleeps, rng=random.Random(7)
    )
