from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from silkguard.alerts.channels import (
    Channel,
    DeliveryResult,
    OutboundMessage,
    RetryPolicy,
    deliver_with_escalation,
    message_payload,
    run_with_retries,
)
from silkguard.alerts.mail import EmailChannel
from silkguard.alerts.sms import SmsChannel
from silkguard.alerts.vocab import DeliveryState
from silkguard.alerts.webhook import WebhookChannel
from silkguard.core.errors import InvalidInput
from tests.alerts.conftest import Receiver, SmtpSink
from tests.alerts.support import WEBHOOK_SECRET, Sleeps, make_message


@dataclass
class Scripted:
    """A channel that answers from a script, for the escalation rules alone."""

    kind: str
    answers: list[DeliveryResult]
    sent: list[OutboundMessage] = field(default_factory=list)

    def send(self, message: OutboundMessage) -> DeliveryResult:
        self.sent.append(message)
        return self.answers.pop(0)


FAILED_RETRYABLE = DeliveryResult(DeliveryState.FAILED, retryable=True, error="timeout")
FAILED_FOR_GOOD = DeliveryResult(DeliveryState.FAILED, retryable=False, error="HTTP 410")
SENT = DeliveryResult(DeliveryState.SENT)


def test_concrete_channels_satisfy_the_protocol() -> None:
    assert isinstance(WebhookChannel("s"), Channel)
    assert isinstance(EmailChannel(host="h", from_addr="a@b"), Channel)
    assert isinstance(SmsChannel("http://127.0.0.1:9/sms"), Channel)


def test_backoff_ceilings_double_and_cap() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, rng=random.Random(1))
    for attempt, ceiling in [(2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (9, 5.0)]:
        delays = [policy.delay_before(attempt) for _ in range(200)]
        assert max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole range
    assert policy.delay_before(2, retry_after_s=3.0) >= 3.0
    assert policy.delay_before(2, retry_after_s=60.0) == 5.0


def test_run_with_retries_stops_on_permanent_failure() -> None:
    answers = [FAILED_RETRYABLE, FAILED_FOR_GOOD, SENT]
    sleeps = Sleeps()
    result = run_with_retries(lambda: answers.pop(0), RetryPolicy(max_attempts=5, sleep=sleeps))
    assert result.error == "HTTP 410"
    assert result.attempts == 2
    assert len(sleeps.calls) == 1


def test_bad_policy() -> None:
    with pytest.raises(InvalidInput, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_escalation_moves_on_after_failure_and_stops_at_success() -> None:
    webhook = Scripted("webhook", [FAILED_RETRYABLE])
    email = Scripted("email", [FAILED_FOR_GOOD])
    sms = Scripted("sms", [SENT])
    mqtt = Scripted("mqtt", [SENT])
    messages = [make_message(f"addr-{i}", delivery_id=f"d-{i}") for i in range(4)]
    outcome = deliver_with_escalation([webhook, email, sms, mqtt], messages)
    assert outcome.delivered
    assert outcome.channel is sms
    assert [m.delivery_id for _, m, _ in outcome.results] == ["d-0", "d-1", "d-2"]
    assert mqtt.sent == []


def test_escalation_reports_every_failure_when_nothing_works() -> None:
    channels = [Scripted("webhook", [FAILED_RETRYABLE]), Scripted("email", [FAILED_FOR_GOOD])]
    outcome = deliver_with_escalation(channels, [make_message("a"), make_message("b")])
    assert not outcome.delivered
    assert outcome.channel is None
    assert [r.error for _, _, r in outcome.results] == ["timeout", "HTTP 410"]


def test_escalation_needs_one_message_per_channel() -> None:
    with pytest.raises(InvalidInput, match="one message per channel"):
        deliver_with_escalation([Scripted("sms", [])], [])


def test_payload_is_deterministic_utf8_json() -> None:
    message = make_message("x")
    assert message_payload(message) == message_payload(make_message("x"))
    assert "立即".encode() in message_payload(message)


def test_message_needs_aware_time_and_ids() -> None:
    with pytest.raises(InvalidInput, match="no time zone"):
        make_message("x", created_at=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(InvalidInput, match="delivery_id is empty"):
        make_message("x", delivery_id=" ")


# --- end to end over the real local services -------------------------------------------------


def test_webhook_down_escalates_to_email(
    receiver: Receiver, smtp_sink: SmtpSink, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    receiver.fail_next("/hook", 10, 503)
    webhook = WebhookChannel(WEBHOOK_SECRET, retry=fast_retry)
    email = EmailChannel(
        host="127.0.0.1", port=smtp_sink.port, from_addr="alerts@sg.example", retry=fast_retry
    )
    outcome = deliver_with_escalation(
        [webhook, email],
        [
            make_message(f"{receiver.base_url}/hook", delivery_id="p1-webhook"),
            make_message("p1@example.com", delivery_id="p1-email"),
        ],
    )
    (_, _, webhook_result), (_, _, email_result) = outcome.results
    assert webhook_result.state is DeliveryState.FAILED
    assert webhook_result.attempts == fast_retry.max_attempts
    assert len(receiver.on("/hook")) == fast_retry.max_attempts
    assert email_result.state is DeliveryState.SENT
    assert outcome.channel is email
    assert len(smtp_sink.envelopes) == 1
    assert len(sleeps.calls) == fast_retry.max_attempts - 1


def test_webhook_gone_escalates_to_sms_at_once(
    receiver: Receiver, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    receiver.fail_next("/hook", 1, 410)
    outcome = deliver_with_escalation(
        [WebhookChannel(WEBHOOK_SECRET, retry=fast_retry), SmsChannel(f"{receiver.base_url}/sms")],
        [make_message(f"{receiver.base_url}/hook"), make_message("+923001234567")],
    )
    assert [r.state for _, _, r in outcome.results] == [DeliveryState.FAILED, DeliveryState.SENT]
    assert outcome.results[0][2].attempts == 1
    assert sleeps.calls == []
