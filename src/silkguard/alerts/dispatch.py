"""From queued deliveries to real messages: the configured channels behind the
:class:`~silkguard.alerts.service.Sender` interface, and a dispatcher that sends an alert's
deliveries (and the escalations they lead to) in the background, each in its own
transaction, so a crash leaves every delivery either sent or still queued."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from silkguard.alerts.channels import Channel, OutboundMessage
from silkguard.alerts.mail import EmailChannel
from silkguard.alerts.mqtt_channel import MqttChannel, device_alert_topic
from silkguard.alerts.service import Outbound, Sender, SendResult, deliver, queued_deliveries
from silkguard.alerts.sms import SmsChannel
from silkguard.alerts.vocab import AlertSeverity
from silkguard.alerts.webhook import WebhookChannel
from silkguard.core.clock import utcnow
from silkguard.core.errors import SilkguardError
from silkguard.core.settings import Settings

__all__ = ["Dispatcher", "as_sender", "build_channels"]

_log = logging.getLogger(__name__)
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
        out["sms"] = SmsChannel(settings.sms_gateway_url)
    if settings.mqtt_host:
        out["mqtt"] = MqttChannel(host=settings.mqtt_host, port=settings.mqtt_port)
    return out


class Dispatcher:
    """Sends queued deliveries in background threads (the embedded default's worker)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        senders: Mapping[str, Sender],
        *,
        secret: str,
        base_url: str,
        workers: int = 4,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.factory = factory
        self.senders = dict(senders)
        self.secret = secret
        self.base_url = base_url
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver")
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self._on_error = on_error

    def _one(self, delivery_id: int) -> None:
        try:
            with self.factory() as session:
                nxt = deliver(
                    session,
                    delivery_id=delivery_id,
                    senders=self.senders,
                    secret=self.secret,
                    base_url=self.base_url,
                )
                session.commit()
        except (SQLAlchemyError, SilkguardError) as exc:  # stays queued for the next sweep
            _log.exception("delivery %s failed to run", delivery_id)
            if self._on_error is not None:
                self._on_error(exc)
            return
        for d in nxt:
            self.submit(d)

    def submit(self, delivery_id: int) -> None:
        with self._lock:
            fut = self._pool.submit(self._one, delivery_id)
            self._pending.add(fut)
            fut.add_done_callback(self._done)

    def _done(self, fut: Future[None]) -> None:
        with self._lock:
            self._pending.discard(fut)

    def dispatch(self, alert_id: uuid.UUID | None = None) -> int:
        """Send every queued delivery (of one alert, or all); returns how many were started."""
        with self.factory() as session:
            ids = queued_deliveries(session, alert_id=alert_id)
        for d in ids:
            self.submit(d)
        return len(ids)

    def wait(self, timeout_s: float = 30.0) -> None:
        """Block until every submitted delivery (and its escalations) has run."""
        deadline = threading.Event()
        timer = threading.Timer(timeout_s, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                with self._lock:
                    pending = list(self._pending)
                if not pending:
                    return
                for fut in pending:
                    fut.result(timeout=timeout_s)
        finally:
            timer.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
