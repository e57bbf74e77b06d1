"""MQTT channel: publish the alert JSON to a device's topic (paho-mqtt 2.x).

Device topic scheme: ``silkguard/devices/<device id>/alerts`` (:func:`device_alert_topic`);
a person's MQTT address is that topic. Messages go with QoS 1 and are not retained; the channel
waits for the broker's PUBACK, which means ``sent`` (the broker holds the message for the
device's persistent session). The connection is opened on first use and reopened after a failure.
"""

from __future__ import annotations

import secrets
import ssl
import threading
from types import TracebackType
from typing import Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from silkguard.alerts.channels import (
    DeliveryResult,
    OutboundMessage,
    RetryPolicy,
    message_payload,
    run_with_retries,
)
from silkguard.alerts.vocab import ChannelKind, DeliveryState
from silkguard.core.errors import InvalidInput

__all__ = ["DEVICE_TOPIC_TEMPLATE", "MqttChannel", "device_alert_topic", "topic_problem"]

DEVICE_TOPIC_TEMPLATE = "silkguard/devices/{device_id}/alerts"
_MAX_TOPIC_BYTES = 65535


def topic_problem(topic: str) -> str | None:
    """Why ``topic`` cannot be published to, or None."""
    if not topic:
        return "MQTT topic is empty"
    if any(c in topic for c in "+#\x00"):
        return f"MQTT topic {topic!r} contains a wildcard (+ or #) or NUL; publish to a plain topic"
    if topic.startswith("$"):
        return f"MQTT topic {topic!r} starts with $, reserved for the broker"
    if len(topic.encode()) > _MAX_TOPIC_BYTES:
        return "MQTT topic is longer than 65535 bytes"
    return None


def device_alert_topic(device_id: str) -> str:
    """The topic a device subscribes to for its alerts."""
    if not device_id or any(c in device_id for c in "/+#\x00$"):
        msg = (
            f"device id {device_id!r} is empty or contains one of / + # $ NUL; "
            "give the device's plain identifier"
        )
        raise InvalidInput(msg)
    return DEVICE_TOPIC_TEMPLATE.format(device_id=device_id)


class _Unreachable(Exception):
    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class MqttChannel:
    """Publishes to the recipient topic on one broker. Use as a context manager or call
    :meth:`close` to end the connection."""

    kind: str = ChannelKind.MQTT.value

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        qos: int = 1,
        ack_timeout_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        keepalive_s: int = 30,
        retry: RetryPolicy | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if qos not in (1, 2):
            msg = f"MqttChannel qos is {qos}; alerts need an acknowledgement, use 1 or 2"
            raise InvalidInput(msg)
        self._host = host
        self._port = port
        self._client_id = client_id or f"silkguard-alerts-{secrets.token_hex(4)}"
        self._username = username
        self._password = password
        self._qos = qos
        self._ack_timeout_s = ack_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._keepalive_s = keepalive_s
        self._retry = retry or RetryPolicy()
        self._tls_context = tls_context
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

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
        with self._lock:
            self._drop()

    def send(self, message: OutboundMessage) -> DeliveryResult:
        problem = topic_problem(message.recipient)
        if problem:
            return DeliveryResult(state=DeliveryState.FAILED, error=problem, attempts=0)
        payload = message_payload(message)
        return run_with_retries(lambda: self._attempt(message.recipient, payload), self._retry)

    def _attempt(self, topic: str, payload: bytes) -> DeliveryResult:
        client: mqtt.Client | None = None
        try:
            with self._lock:
                client = self._connected()
                info = client.publish(topic, payload, qos=self._qos, retain=False)
            # Waiting outside the lock lets several threads' messages be in flight at once.
            info.wait_for_publish(self._ack_timeout_s)
            if not info.is_published():
                raise _Unreachable(
                    f"no PUBACK from {self._host}:{self._port} within {self._ack_timeout_s:g} s",
                    retryable=True,
                )
        except _Unreachable as exc:
            self._drop_if_current(client)
            return DeliveryResult(
                state=DeliveryState.FAILED, retryable=exc.retryable, error=exc.reason
            )
        except (OSError, RuntimeError, ValueError) as exc:
            self._drop_if_current(client)
            return DeliveryResult(
                state=DeliveryState.FAILED,
                retryable=True,
                error=f"MQTT {self._host}:{self._port}: {type(exc).__name__}: {exc}",
            )
        return DeliveryResult(state=DeliveryState.SENT, provider_message_id=str(info.mid))

    def _drop_if_current(self, client: mqtt.Client | None) -> None:
        """Drop the connection after a failure, unless another thread has replaced it."""
        with self._lock:
            if client is None or self._client is client:
                self._drop()

    def _connected(self) -> mqtt.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        self._drop()
        connack = threading.Event()
        outcome: list[ReasonCode] = []

        def on_connect(
            _client: mqtt.Client,
            _userdata: object,
            _flags: mqtt.ConnectFlags,
            reason_code: ReasonCode,
            _properties: Properties | None,
        ) -> None:
            outcome.append(reason_code)
            connack.set()

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        client.on_connect = on_connect
        if self._username is not None:
            client.username_pw_set(self._username, self._password)
        if self._tls_context is not None:
            client.tls_set_context(self._tls_context)
        client.connect(self._host, self._port, keepalive=self._keepalive_s)
        client.loop_start()
        self._client = client
        if not connack.wait(self._connect_timeout_s):
            raise _Unreachable(
                f"no CONNACK from {self._host}:{self._port} within {self._connect_timeout_s:g} s",
                retryable=True,
            )
        if outcome[0].is_failure:
            raise _Unreachable(
                f"MQTT broker {self._host}:{self._port} refused the connection: {outcome[0]}",
                retryable=False,
            )
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
