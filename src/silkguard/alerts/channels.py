"""Notification channels behind one interface.

A channel takes one :class:`OutboundMessage` (one person, one channel, one language) and
returns a :class:`DeliveryResult`. It never raises for a delivery problem: a refused, timed
out or unreachable delivery is a ``failed`` result that says whether trying again may help.
Channels retry transient failures themselves (:class:`RetryPolicy`); the caller escalates to the
person's next channel with :func:`deliver_with_escalation` when one fails for good.

The concrete channels live in ``webhook.py``, ``mail.py``, ``sms.py`` and ``mqtt_channel.py``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, runtime_checkable

from silkguard.alerts.vocab import AlertSeverity, DeliveryState
from silkguard.core.errors import InvalidInput

__all__ = [
    "DRILL_MARKERS",
    "Channel",
    "DeliveryResult",
    "EscalationOutcome",
    "OutboundMessage",
    "RetryPolicy",
    "deliver_with_escalation",
    "marked_subject",
    "marked_text",
    "message_payload",
    "run_with_retries",
]

# Every drill message carries this marker in the reader's language, first thing in the text.
DRILL_MARKERS: dict[str, str] = {
    "en": "[DRILL - EXERCISE ONLY]",
    "zh": "[演习 - 仅为演练]",
    "ur": "[مشق - صرف تربیتی]",
}


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message for one person over one channel.

    ``delivery_id`` is the idempotency key: the same delivery retried, or re-sent after a crash,
    keeps it, so receivers can drop duplicates. ``recipient`` is the address on this channel
    (webhook URL, e-mail address, phone number in E.164, MQTT topic). ``text`` is already in the
    person's ``language`` (BCP 47: ``en``, ``zh-CN``, ``ur``).
    """

    delivery_id: str
    recipient: str
    subject: str
    text: str
    language: str
    alert_id: str
    drill: bool
    severity: AlertSeverity
    created_at: datetime

    def __post_init__(self) -> None:
        for name in ("delivery_id", "recipient", "alert_id", "language"):
            if not getattr(self, name).strip():
                msg = f"OutboundMessage.{name} is empty; give a non-empty value"
                raise InvalidInput(msg)
        if self.created_at.utcoffset() is None:
            msg = (
                f"OutboundMessage.created_at {self.created_at.isoformat()} has no time zone; "
                "give an aware datetime (UTC)"
            )
            raise InvalidInput(msg)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one delivery after all of a channel's attempts.

    ``retryable`` on a failure means a later try may succeed (timeout, 5xx, 429, broker down);
    ``False`` means the message or the address was refused (4xx, unknown mailbox) and retrying
    the same message is pointless.
    """

    state: DeliveryState
    retryable: bool = False
    error: str | None = None
    provider_message_id: str | None = None
    attempts: int = 1
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.state in (DeliveryState.SENT, DeliveryState.DELIVERED)


@runtime_checkable
class Channel(Protocol):
    """A way to reach a person. ``kind`` is one of :class:`~silkguard.alerts.vocab.ChannelKind`."""

    kind: str

    def send(self, message: OutboundMessage) -> DeliveryResult: ...


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter.

    Before attempt ``n`` (n >= 2) the channel waits a random time in
    ``[0, min(max_delay_s, base_delay_s * 2 ** (n - 2))]``; a server's ``Retry-After`` raises the
    wait to at least that many seconds (still capped by ``max_delay_s``). ``sleep`` and ``rng`` are
    injectable so tests run without waiting and deterministically.
    """

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    sleep: Callable[[float], None] = field(default=_sleep, compare=False)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            msg = f"RetryPolicy.max_attempts is {self.max_attempts}; give 1 or more"
            raise InvalidInput(msg)
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            msg = "RetryPolicy delays must be >= 0 seconds"
            raise InvalidInput(msg)

    def delay_before(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before ``attempt`` (2, 3, ...)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 2))
        delay = self.rng.uniform(0.0, ceiling)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.max_delay_s))
        return delay


def run_with_retries(attempt: Callable[[], DeliveryResult], policy: RetryPolicy) -> DeliveryResult:
    """Call ``attempt`` until it succeeds, fails permanently, or the attempts run out.

    The returned result carries the number of attempts made.
    """
    result = attempt()
    count = 1
    while not result.ok and result.retryable and count < policy.max_attempts:
        count += 1
        policy.sleep(policy.delay_before(count, result.retry_after_s))
        result = attempt()
    return replace(result, attempts=count)


@dataclass(frozen=True, slots=True)
class EscalationOutcome:
    """Per-channel results in the order tried; channels after the successful one are not tried."""

    results: tuple[tuple[Channel, OutboundMessage, DeliveryResult], ...]

    @property
    def delivered(self) -> bool:
        return any(r.ok for _, _, r in self.results)

    @property
    def channel(self) -> Channel | None:
        """The channel that reached the person, or None."""
        return next((c for c, _, r in self.results if r.ok), None)


def deliver_with_escalation(
    channels_in_order: Sequence[Channel],
    message_per_channel: Sequence[OutboundMessage],
) -> EscalationOutcome:
    """Try the person's channels in order and stop at the first that succeeds.

    ``message_per_channel[i]`` is the message for ``channels_in_order[i]`` (own recipient address
    and delivery id). A channel that fails, after its own retries, hands over to the next one,
    whether the failure was permanent or retries ran out.
    """
    if len(channels_in_order) != len(message_per_channel):
        msg = (
            f"deliver_with_escalation got {len(channels_in_order)} channels but "
            f"{len(message_per_channel)} messages; give one message per channel"
        )
        raise InvalidInput(msg)
    results: list[tuple[Channel, OutboundMessage, DeliveryResult]] = []
    for channel, message in zip(channels_in_order, message_per_channel, strict=True):
        result = channel.send(message)
        results.append((channel, message, result))
        if result.ok:
            break
    return EscalationOutcome(results=tuple(results))


def _marker(language: str) -> str:
    return DRILL_MARKERS.get(language.split("-", maxsplit=1)[0].lower(), DRILL_MARKERS["en"])


def marked_text(message: OutboundMessage) -> str:
    """The text as sent: a drill starts with the drill marker in the message's language."""
    if not message.drill:
        return message.text
    marker = _marker(message.language)
    return message.text if message.text.startswith(marker) else f"{marker} {message.text}"


def marked_subject(message: OutboundMessage) -> str:
    if not message.drill:
        return message.subject
    marker = _marker(message.language)
    return message.subject if message.subject.startswith(marker) else f"{marker} {message.subject}"


def message_payload(message: OutboundMessage) -> bytes:
    """The JSON body used by the webhook and MQTT channels: UTF-8, sorted keys, no spaces, so
    the same message always gives the same bytes."""
    document = {
        "type": "silkguard.alert",
        "version": 1,
        "delivery_id": message.delivery_id,
        "alert_id": message.alert_id,
        "drill": message.drill,
        "severity": message.severity.value,
        "language": message.language,
        "subject": marked_subject(message),
        "text": marked_text(message),
        "created_at": message.created_at.isoformat(),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
