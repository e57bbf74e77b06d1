"""A minimal HTTP client on the standard library for the webhook and SMS channels, and the one
rule that turns an HTTP outcome into a delivery result."""

from __future__ import annotations

import http.client
import ssl
import threading
import weakref
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from silkguard.alerts.channels import DeliveryResult
from silkguard.alerts.vocab import DeliveryState
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput

__all__ = ["HttpClient", "HttpResponse", "check_url", "outcome", "transport_failure"]

_ERROR_BODY_CHARS = 200
_MAX_RESPONSE_BYTES = 64 * 1024
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def check_url(url: str, *, field: str) -> None:
    """Only absolute http(s) URLs with a host are accepted."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{field}: {url!r} is not an absolute http:// or https:// URL; give one"
        raise InvalidInput(msg)


_Key = tuple[str, str, int | None]
# Errors that mean a kept-alive connection was closed by the server while idle.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def _close_all(connections: list[http.client.HTTPConnection]) -> None:
    for connection in list(connections):
        connection.close()
    connections.clear()


class HttpClient:
    """HTTP/1.1 with one kept-alive connection per thread and origin.

    A channel sends from many worker threads; each thread reuses its own connection to the
    same host, which saves a TCP (and TLS) handshake per delivery. A request that fails on a
    reused connection because the server had closed it is sent once more on a new connection:
    the receiver drops the duplicate, if any, by its idempotency key. :meth:`close` closes every
    connection the client opened.
    """

    def __init__(
        self,
        *,
        timeout_s: float,
        ssl_context: ssl.SSLContext | None = None,
        keep_alive: bool = True,
    ) -> None:
        self._timeout_s = timeout_s
        self._ssl_context = ssl_context
        self._keep_alive = keep_alive
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        # A channel dropped without close() still closes its sockets when collected.
        weakref.finalize(self, _close_all, self._all)

    def close(self) -> None:
        with self._lock:
            _close_all(self._all)

    def _pool(self) -> dict[_Key, http.client.HTTPConnection]:
        pool: dict[_Key, http.client.HTTPConnection] | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = {}
            self._local.pool = pool
        return pool

    def _open(self, key: _Key) -> http.client.HTTPConnection:
        scheme, host, port = key
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=self._timeout_s, context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._timeout_s)
        with self._lock:
            self._all.append(connection)
        return connection

    def _discard(self, key: _Key, connection: http.client.HTTPConnection) -> None:
        connection.close()
        self._pool().pop(key, None)
        with self._lock:
            if connection in self._all:
                self._all.remove(connection)

    def request(
        self, method: str, url: str, *, body: bytes | None, headers: dict[str, str]
    ) -> HttpResponse:
        """One HTTP exchange. Raises ``OSError`` (incl. timeouts) or
        ``http.client.HTTPException`` when there is no usable answer."""
        parts = urlsplit(url)
        key: _Key = (parts.scheme, parts.hostname or "", parts.port)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        headers = {**headers, "Connection": "keep-alive" if self._keep_alive else "close"}
        pool = self._pool()
        connection = pool.get(key)
        if connection is not None:
            try:
                return self._exchange(key, connection, method, target, body, headers)
            except _STALE:
                pass  # the server closed the idle connection; try once on a new one
        connection = self._open(key)
        if self._keep_alive:
            pool[key] = connection
        return self._exchange(key, connection, method, target, body, headers)

    def _exchange(
        self,
        key: _Key,
        connection: http.client.HTTPConnection,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> HttpResponse:
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read(_MAX_RESPONSE_BYTES)
        except BaseException:
            self._discard(key, connection)
            raise
        # A connection can only be reused once the whole answer has been read.
        if not self._keep_alive or response.will_close or not response.isclosed():
            self._discard(key, connection)
        return HttpResponse(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
        )


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.utcoffset() is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


def outcome(response: HttpResponse, *, ok_state: DeliveryState) -> DeliveryResult:
    """2xx is success; 408/425/429/5xx are worth retrying; any other status is permanent."""
    if 200 <= response.status < 300:
        return DeliveryResult(state=ok_state)
    snippet = response.body[:_ERROR_BODY_CHARS].decode("utf-8", "replace").strip()
    error = f"HTTP {response.status}" + (f": {snippet}" if snippet else "")
    retryable = response.status in _RETRY_STATUSES
    return DeliveryResult(
        state=DeliveryState.FAILED,
        retryable=retryable,
        error=error,
        retry_after_s=_retry_after_s(response.headers.get("retry-after")) if retryable else None,
    )


def transport_failure(exc: BaseException) -> DeliveryResult:
    """A connection error or timeout: always worth retrying."""
    return DeliveryResult(
        state=DeliveryState.FAILED,
        retryable=True,
        error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
    )
