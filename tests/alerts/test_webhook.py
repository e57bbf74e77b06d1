from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silkguard.alerts.channels import DRILL_MARKERS, RetryPolicy
from silkguard.alerts.vocab import DeliveryState
from silkguard.alerts.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    WebhookChannel,
    sign,
    signature_header,
    signature_problem,
    verify_signature,
)
from silkguard.core.errors import InvalidInput
from tests.alerts.conftest import Receiver
from tests.alerts.support import BILINGUAL, WEBHOOK_SECRET, Sleeps, make_message

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
BODY = '{"text":"立即就地避险"}'.encode()


def _headers(timestamp: int, body: bytes = BODY, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {SIGNATURE_HEADER: signature_header([secret], timestamp, body)}


# --- the signature scheme -------------------------------------------------------------------


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign("k", 1700000000, BODY) == expected
    assert signature_header(["k"], 1700000000, BODY) == f"t=1700000000,v1={expected}"


def test_fresh_genuine_request_verifies_with_case_insensitive_headers() -> None:
    ts = int(NOW.timestamp())
    headers = {SIGNATURE_HEADER.lower(): _headers(ts)[SIGNATURE_HEADER]}
    assert verify_signature(WEBHOOK_SECRET, headers, BODY, 300, now=NOW)


def test_tampered_body_fails() -> None:
    ts = int(NOW.timestamp())
    tampered = BODY.replace("避险".encode(), "撤离".encode())
    assert not verify_signature(WEBHOOK_SECRET, _headers(ts), tampered, 300, now=NOW)
    assert signature_problem(WEBHOOK_SECRET, _headers(ts), tampered, now=NOW) == (
        "no v1 signature matches the body and the secret"
    )


def test_wrong_secret_fails() -> None:
    ts = int(NOW.timestamp())
    assert not verify_signature("other", _headers(ts), BODY, 300, now=NOW)


@pytest.mark.parametrize("offset_s", [-301, 301])
def test_timestamp_outside_tolerance_fails_both_ways(offset_s: int) -> None:
    ts = int(NOW.timestamp()) + offset_s
    problem = signature_problem(WEBHOOK_SECRET, _headers(ts), BODY, 300, now=NOW)
    assert problem is not None
    assert "outside the tolerance of 300 s" in problem
    # the same request inside a wider tolerance is fine: only the age was wrong
    assert verify_signature(WEBHOOK_SECRET, _headers(ts), BODY, 400, now=NOW)


def test_changing_the_timestamp_breaks_the_signature() -> None:
    ts = int(NOW.timestamp())
    header = _headers(ts - 1000)[SIGNATURE_HEADER].replace(f"t={ts - 1000}", f"t={ts}")
    assert not verify_signature(WEBHOOK_SECRET, {SIGNATURE_HEADER: header}, BODY, now=NOW)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no X-Silkguard-Signature header"),
        ("v1=abc", "has no t=<unix seconds>"),
        ("t=1772353800", "has no v1=<hex signature>"),
        ("t=soon,v1=abc", "non-integer timestamp"),
    ],
)
def test_malformed_headers_are_refused_with_a_reason(header: str | None, reason: str) -> None:
    headers = {} if header is None else {SIGNATURE_HEADER: header}
    problem = signature_problem(WEBHOOK_SECRET, headers, BODY, now=NOW)
    assert problem is not None
    assert reason in problem


@settings(max_examples=80, derandomize=True, deadline=None)
@given(body=st.binary(min_size=1, max_size=300), data=st.data())
def test_any_single_byte_change_breaks_the_signature(body: bytes, data: st.DataObject) -> None:
    ts = int(NOW.timestamp())
    headers = _headers(ts, body)
    assert verify_signature(WEBHOOK_SECRET, headers, body, now=NOW)
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    assert not verify_signature(WEBHOOK_SECRET, headers, tampered, now=NOW)


def test_rotation_any_of_several_v1_matches() -> None:
    ts = int(NOW.timestamp())
    header = signature_header(["old-secret", "new-secret"], ts, BODY)
    assert header.count("v1=") == 2
    for secret in ("old-secret", "new-secret"):
        assert verify_signature(secret, {SIGNATURE_HEADER: header}, BODY, now=NOW)
    assert not verify_signature("third", {SIGNATURE_HEADER: header}, BODY, now=NOW)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(InvalidInput, match="secret is empty"):
        WebhookChannel("")


# --- against a real local receiver ----------------------------------------------------------


def test_delivery_reaches_receiver_signed_and_bilingual(
    receiver: Receiver, fast_retry: RetryPolicy
) -> None:
    channel = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry, timeout_s=5)
    result = channel.send(make_message(f"{receiver.base_url}/hook"))
    assert result.state is DeliveryState.DELIVERED
    assert result.attempts == 1
    assert result.provider_message_id == "hook-1"
    (got,) = receiver.on("/hook")
    assert got.signature_problem is None
    assert got.headers[IDEMPOTENCY_HEADER] == "dlv-0001"
    document = json.loads(got.body.decode("utf-8"))
    assert document["text"] == BILINGUAL
    assert document["alert_id"] == "alr-42"
    assert document["drill"] is False


def test_drill_is_marked_in_the_readers_language(
    receiver: Receiver, fast_retry: RetryPolicy
) -> None:
    channel = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry)
    channel.send(make_message(f"{receiver.base_url}/hook", drill=True))
    document = json.loads(receiver.on("/hook")[0].body)
    assert document["drill"] is True
    assert document["text"].startswith(DRILL_MARKERS["zh"])
    assert document["subject"].startswith(DRILL_MARKERS["zh"])


def test_503_is_retried_with_growing_backoff_then_delivered(
    receiver: Receiver, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    receiver.fail_next("/hook", 3, 503)
    result = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry).send(
        make_message(f"{receiver.base_url}/hook")
    )
    assert result.state is DeliveryState.DELIVERED
    assert result.attempts == 4
    assert len(sleeps.calls) == 3
    # full jitter under ceilings 0.5, 1, 2 seconds
    for delay, ceiling in zip(sleeps.calls, [0.5, 1.0, 2.0], strict=True):
        assert 0.0 <= delay <= ceiling
    hooks = receiver.on("/hook")
    assert len(hooks) == 4
    # every attempt carries the same idempotency key, and each is freshly signed
    assert {h.headers[IDEMPOTENCY_HEADER] for h in hooks} == {"dlv-0001"}
    assert all(h.signature_problem is None for h in hooks)


def test_retries_run_out_on_persistent_5xx(
    receiver: Receiver, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    receiver.fail_next("/hook", 10, 502)
    result = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry).send(
        make_message(f"{receiver.base_url}/hook")
    )
    assert result.state is DeliveryState.FAILED
    assert result.retryable
    assert result.attempts == 4
    assert result.error is not None
    assert result.error.startswith("HTTP 502")
    assert len(receiver.on("/hook")) == 4


def test_4xx_is_not_retried(receiver: Receiver, fast_retry: RetryPolicy, sleeps: Sleeps) -> None:
    receiver.fail_next("/hook", 1, 400)
    result = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry).send(
        make_message(f"{receiver.base_url}/hook")
    )
    assert result.state is DeliveryState.FAILED
    assert not result.retryable
    assert result.attempts == 1
    assert sleeps.calls == []


def test_429_retry_after_is_honoured(
    receiver: Receiver, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    receiver.fail_next("/hook", 1, 429, {"Retry-After": "5"})
    result = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry).send(
        make_message(f"{receiver.base_url}/hook")
    )
    assert result.state is DeliveryState.DELIVERED
    assert sleeps.calls[0] == 5.0


def test_stale_sender_clock_is_rejected_by_the_receiver(
    receiver: Receiver, fast_retry: RetryPolicy
) -> None:
    def clock() -> datetime:
        return datetime.now(UTC) - timedelta(hours=1)

    result = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry, clock=clock).send(
        make_message(f"{receiver.base_url}/hook")
    )
    assert result.state is DeliveryState.FAILED
    assert not result.retryable  # 401
    assert result.error is not None
    assert "outside the tolerance" in result.error


def test_connection_refused_is_retryable(fast_retry: RetryPolicy, sleeps: Sleeps) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry, timeout_s=2).send(
        make_message(f"http://127.0.0.1:{port}/hook")
    )
    assert result.state is DeliveryState.FAILED
    assert result.retryable
    assert result.attempts == 4
    assert result.error is not None
    assert "ConnectionRefused" in result.error


def test_bad_url_fails_without_an_attempt(fast_retry: RetryPolicy) -> None:
    result = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry).send(make_message("ftp://x/y"))
    assert result.state is DeliveryState.FAILED
    assert result.attempts == 0
    assert not result.retryable


def test_keep_alive_reuses_one_connection_per_thread(
    receiver: Receiver, fast_retry: RetryPolicy
) -> None:
    with WebhookChannel(WEBHOOK_SECRET, retry=fast_retry) as channel:
        for i in range(3):
            assert channel.send(make_message(f"{receiver.base_url}/hook", delivery_id=f"d{i}")).ok
    assert len({r.client_port for r in receiver.on("/hook")}) == 1


def test_without_keep_alive_each_delivery_has_its_own_connection(
    receiver: Receiver, fast_retry: RetryPolicy
) -> None:
    with WebhookChannel(WEBHOOK_SECRET, retry=fast_retry, keep_alive=False) as channel:
        for i in range(3):
            assert channel.send(make_message(f"{receiver.base_url}/hook", delivery_id=f"d{i}")).ok
    assert len({r.client_port for r in receiver.on("/hook")}) == 3


def test_server_closing_idle_connections_costs_no_retry(
    receiver: Receiver, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    receiver.close_silently = True
    with WebhookChannel(WEBHOOK_SECRET, retry=fast_retry) as channel:
        results = [
            channel.send(make_message(f"{receiver.base_url}/hook", delivery_id=f"d{i}"))
            for i in range(4)
        ]
    assert all(r.ok and r.attempts == 1 for r in results)
    assert sleeps.calls == []
    hooks = receiver.on("/hook")
    assert [h.headers[IDEMPOTENCY_HEADER] for h in hooks] == ["d0", "d1", "d2", "d3"]
    assert len({h.client_port for h in hooks}) == 4
