"""From queued deliveries to real messages: the channels the settings configure, behind the
:class:`~silkguard.alerts.service.Sender` interface the delivery service calls (the jobs in
:mod:`silkguard.worker.tasks` run one delivery per job, each in its own transaction)."""

from __future__ import annotations

from silkguard.alerts.channels import Channel, OutboundMessage
from silkguard.alerts.mail import EmailChannel
from silkguard.alerts.mqtt_channel import MqttChannel, device_alert_topic
from silkguard.alerts.service import Outbound, Sender, SendResult
from silkguard.alerts.sms import SmsChannel
from silkguard.alerts.vocab import AlertSeverity
from silkguard.alerts.webhook import WebhookChannel
from silkguard.core.clock import utcnow
from silkguard.core.settings import Settings

__all__ = ["as_sender", "build_channels"]

_BCP47 = {"en": "en", "zh": "zh-CN", "ur": "ur"}


def as_sender(channel: Channel) -> Sender:
    """Adapt a channel to the service's :class:`Sender` (MQTT addresses are device ids)."""

    def send(message: Outbound) -> SendResult:
        m = message
        recipient = device_alert_topic(m.address) if channel.kind == "mqtt" else m.address
        result = channel.send(
            OutboundMessage(
                delivery_id=m.key,
                recipient=recipient,
                subject=m.subject,
                text=m.body,
                language=_BCP47.get(m.language, m.language),
                alert_id=str(m.alert_id),
                drill=m.drill,
                severity=AlertSeverity(m.severity),
                created_at=utcnow(),
            )
        )
        return SendResult(
            state=result.state.value,
            retryable=result.retryable,
            error=result.error,
            provider_id=result.provider_message_id,
        )

    return send


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels the settings configure (empty settings leave a channel off)."""
    out: dict[str, Channel] = {}
    if settings.webhook_secret:
        out["webhook"] = WebhookChannel(settings.webhook_secret)
    if settings.smtp_host:
        out["email"] = EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_addr=settings.smtp_from,
            starttls=settings.smtp_starttls,
        )
    if settings.sms_gateway_url:
        out["sms"] = SmsChannel(
            settings.sms_gateway_url, message_id_field=settings.sms_message_id_field
        )
    if settings.mqtt_host:
        out["mqtt"] = MqttChannel(host=settings.mqtt_host, port=settings.mqtt_port)
    return out
