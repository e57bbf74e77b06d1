"""Helpers shared by the alerts tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from silkguard.alerts.channels import OutboundMessage
from silkguard.alerts.vocab import AlertSeverity

WEBHOOK_SECRET = "test-secret-不要泄露"
BILINGUAL = "Shelter in place now. 立即就地避险，远离窗户。"  # noqa: RUF001


@dataclass
class Sleeps:
    """An injected sleep that records the backoff instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_message(recipient: str, **overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "delivery_id": "dlv-0001",
        "recipient": recipient,
        "subject": "Security alert 安全警报",
        "text": BILINGUAL,
        "language": "zh-CN",
        "alert_id": "alr-42",
        "drill": False,
        "severity": AlertSeverity.HIGH,
        "created_at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
    }
    values.update(overrides)
    return OutboundMessage(**values)
