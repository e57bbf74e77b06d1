"""Webhook channel: a signed JSON POST, and the check a receiver runs on it.

Headers sent with every delivery::

    Content-Type: application/json; charset=utf-8
    Idempotency-Key: <delivery id>            (same on every retry of the same delivery)
    X-Silkguard-Delivery: <delivery id>
    X-Silkguard-Timestamp: <unix seconds>
    X-Silkguard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>...]

``v1`` is HMAC-SHA256 with the shared secret over the bytes ``f"{t}." + body``. While a secret
is being rotated the sender signs with each configured secret, giving several ``v1`` entries;
a receiver accepts the request when any of them matches its secret and ``t`` is within its
tolerance of its own clock (both directions), which stops replays of old captured requests.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import ssl
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from silkguard.alerts import _http
from silkguard.alerts.channels import (
    DeliveryResult,
    OutboundMessage,
    RetryPolicy,
    message_payload,
    run_with_retries,
)
from silkguard.alerts.vocab import ChannelKind, DeliveryState
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput

__all__ = [
    "DELIVERY_HEADER",
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookChannel",
    "sign",
    "signature_header",
    "signature_problem",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Silkguard-Signature"
TIMESTAMP_HEADER = "X-Silkguard-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DELIVERY_HEADER = "X-Silkguard-Delivery"
DEFAULT_TOLERANCE_S = 300.0


class _Headers(Protocol):
    def items(self) -> Iterable[tuple[str, object]]: ...


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}." + body``."""
    return hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str | bytes], timestamp: int, body: bytes) -> str:
    parts = [f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)]
    return ",".join(parts)


def _header(headers: _Headers, name: str) -> str | None:
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == wanted), None)


def signature_problem(
    secret: str | bytes,
    headers: _Headers,
    body: bytes,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    *,
    now: datetime | None = None,
) -> str | None:
    """Why the request fails verification, or None when it is genuine and fresh."""
    value = _header(headers, SIGNATURE_HEADER)
    if not value:
        return f"no {SIGNATURE_HEADER} header"
    timestamp: int | None = None
    candidates: list[str] = []
    for item in value.split(","):
        name, sep, text = item.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(text)
            except ValueError:
                return f"{SIGNATURE_HEADER} has a non-integer timestamp t={text!r}"
        elif name == "v1":
            candidates.append(text.lower())
    if timestamp is None:
        return f"{SIGNATURE_HEADER} has no t=<unix seconds>"
    if not candidates:
        return f"{SIGNATURE_HEADER} has no v1=<hex signature>"
    current = (now or utcnow()).timestamp()
    if abs(current - timestamp) > tolerance_s:
        return (
            f"timestamp {timestamp} is {current - timestamp:+.0f} s from now, outside the "
            f"tolerance of {tolerance_s:.0f} s"
        )
    expected = sign(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        return "no v1 signature matches the body and the secret"
    return None


def verify_signature(
    secret: str | bytes,
    headers: _Headers,
    body: bytes,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    *,
    now: datetime | None = None,
) -> bool:
    """True when ``body`` was signed with ``secret`` less than ``tolerance_s`` seconds ago.

    ``headers`` is any object with ``items()`` (a dict, ``http.server``'s ``self.headers``,
    a Starlette ``request.headers``); names are matched case-insensitively. ``body`` must be the
    raw bytes received, before any JSON parsing.
    """
    return signature_problem(secret, headers, body, tolerance_s, now=now) is None


class WebhookChannel:
    """POSTs :func:`~silkguard.alerts.channels.message_payload` to the recipient URL, signed.

    A 2xx answer means ``delivered``; 408/425/429/5xx and connection errors are retried with
    ``retry`` (honouring ``Retry-After``); any other 4xx fails at once.
    """

    kind: str = ChannelKind.WEBHOOK.value

    def __init__(
        self,
        secret: str | bytes | Sequence[str | bytes],
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "silkguard-webhook/1",
        keep_alive: bool = True,
    ) -> None:
        secrets = [secret] if isinstance(secret, str | bytes) else list(secret)
        if not secrets or any(not s for s in secrets):
            msg = "WebhookChannel secret is empty; give the shared secret agreed with the receiver"
            raise InvalidInput(msg)
        self._secrets: list[str | bytes] = secrets
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._user_agent = user_agent
        self._http = _http.HttpClient(
            timeout_s=timeout_s, ssl_context=ssl_context, keep_alive=keep_alive
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._http.close()

    def send(self, message: OutboundMessage) -> DeliveryResult:
        try:
            _http.check_url(message.recipient, field="webhook recipient")
        except InvalidInput as exc:
            return DeliveryResult(state=DeliveryState.FAILED, error=exc.msg, attempts=0)
        body = message_payload(message)
        return run_with_retries(lambda: self._attempt(message, body), self._retry)

    def _attempt(self, message: OutboundMessage, body: bytes) -> DeliveryResult:
        # A fresh timestamp per attempt: a retry after a long backoff must still verify.
        timestamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self._user_agent,
            IDEMPOTENCY_HEADER: message.delivery_id,
            DELIVERY_HEADER: message.delivery_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature_header(self._secrets, timestamp, body),
        }
        try:
            response = self._http.request("POST", message.recipient, body=body, headers=headers)
        except (OSError, http.client.HTTPException) as exc:
            return _http.transport_failure(exc)
        result = _http.outcome(response, ok_state=DeliveryState.DELIVERED)
        if result.ok:
            provider_id = response.headers.get("x-request-id") or _json_id(response.body)
            if provider_id:
                return DeliveryResult(state=result.state, provider_message_id=provider_id)
        return result


def _json_id(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(document, dict) and isinstance(document.get("id"), str | int):
        return str(document["id"])
    return None
