from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from silkguard.alerts.channels import RetryPolicy
from silkguard.alerts.mqtt_channel import MqttChannel, device_alert_topic, topic_problem
from silkguard.alerts.vocab import DeliveryState
from silkguard.core.errors import InvalidInput
from tests.alerts.support import BILINGUAL, make_message


class Subscriber:
    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.arrived = threading.Event()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{secrets.token_hex(4)}"
        )

        def on_connect(client: mqtt.Client, *_: Any) -> None:
            client.subscribe(topic, qos=1)

        def on_subscribe(*_: Any) -> None:
            subscribed.set()

        def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
            self.messages.append(message)
            self.arrived.set()

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert subscribed.wait(5), "test subscriber could not subscribe"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def device_topic() -> str:
    # a fresh device id per test so runs never see each other's messages
    return device_alert_topic(f"test-{secrets.token_hex(6)}")


@pytest.fixture
def subscriber(mqtt_broker: tuple[str, int], device_topic: str) -> Iterator[Subscriber]:
    sub = Subscriber(*mqtt_broker, device_topic)
    yield sub
    sub.close()


def test_publish_reaches_the_device_topic(
    mqtt_broker: tuple[str, int], subscriber: Subscriber, device_topic: str
) -> None:
    host, port = mqtt_broker
    with MqttChannel(host=host, port=port) as channel:
        result = channel.send(make_message(device_topic))
        second = channel.send(make_message(device_topic, delivery_id="dlv-0002", drill=True))
    assert result.state is DeliveryState.SENT
    assert result.provider_message_id is not None
    assert second.ok
    assert subscriber.arrived.wait(5)
    for _ in range(50):
        if len(subscriber.messages) == 2:
            break
        threading.Event().wait(0.05)
    first, drill = subscriber.messages
    assert first.topic == device_topic
    assert first.qos == 1
    document = json.loads(first.payload.decode("utf-8"))
    assert document["text"] == BILINGUAL
    assert document["delivery_id"] == "dlv-0001"
    assert json.loads(drill.payload)["drill"] is True


def test_unreachable_broker_fails_retryably() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    channel = MqttChannel(
        host="127.0.0.1", port=port, retry=RetryPolicy(max_attempts=2, sleep=sleeps.append)
    )
    result = channel.send(make_message("silkguard/devices/d1/alerts"))
    channel.close()
    assert result.state is DeliveryState.FAILED
    assert result.retryable
    assert result.attempts == 2
    assert result.error is not None
    assert "ConnectionRefused" in result.error


def test_bad_topics_are_refused() -> None:
    assert topic_problem("") == "MQTT topic is empty"
    channel = MqttChannel()
    for topic in ["silkguard/devices/+/alerts", "a/#", "$SYS/x"]:
        assert topic_problem(topic) is not None
        result = channel.send(make_message(topic))
        assert result.state is DeliveryState.FAILED
        assert result.attempts == 0


def test_device_topic_scheme() -> None:
    assert device_alert_topic("phone-17") == "silkguard/devices/phone-17/alerts"
    with pytest.raises(InvalidInput, match="device id"):
        device_alert_topic("a/b")
    with pytest.raises(InvalidInput, match="qos"):
        MqttChannel(qos=0)


def test_many_threads_share_one_channel(
    mqtt_broker: tuple[str, int], subscriber: Subscriber, device_topic: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    host, port = mqtt_broker
    messages = [make_message(device_topic, delivery_id=f"d-{i:02d}") for i in range(40)]
    with MqttChannel(host=host, port=port) as channel, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(channel.send, messages))
    assert all(r.state is DeliveryState.SENT for r in results)
    for _ in range(100):
        if len(subscriber.messages) >= 40:
            break
        threading.Event().wait(0.05)
    got = sorted(json.loads(m.payload)["delivery_id"] for m in subscriber.messages)
    assert got == [f"d-{i:02d}" for i in range(40)]
