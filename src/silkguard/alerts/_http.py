"""A minimal HTTP client on the standard library for the webhook and SMS channels, and the one
rule that turns an HTTP outcome into a delivery result."""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from silkguard.alerts.channels import DeliveryResult
from silkguard.alerts.vocab import DeliveryState
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput

__all__ = ["HttpResponse", "check_url", "outcome", "request", "transport_failure"]

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


def request(
    method: str,
    url: str,
    *,
    body: bytes | None,
    headers: dict[str, str],
    timeout_s: float,
    ssl_context: ssl.SSLContext | None = None,
) -> HttpResponse:
    """One HTTP exchange. Raises ``OSError`` (incl. timeouts) or ``http.client.HTTPException``
    when there is no usable answer."""
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout_s, context=ssl_context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_s)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(_MAX_RESPONSE_BYTES)
        return HttpResponse(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
        )
    finally:
        connection.close()


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
