"""Positions published to the real Mosquitto broker (127.0.0.1:1883) are stored; malformed
messages become dead letters with a reason and affect nothing else."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from silkguard.auth import service as auth_service
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import make_engine, make_session_factory
from silkguard.migrations import upgrade
from silkguard.people import personnel
from silkguard.people.models import LatestPosition, Position, PositionReject
from silkguard.people.mqtt import PositionListener, parse_payload, topic_for

BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def factory(fresh_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_db_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _publisher(inflight: int = 20) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{secrets.token_hex(4)}")
    client.max_inflight_messages_set(inflight)
    client.connect(*BROKER)
    client.loop_start()
    return client


def _wait(predicate, timeout_s: float = 10.0, message=lambda: "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for the listener to store the messages: {message()}")


def test_published_positions_are_stored_and_bad_ones_become_dead_letters(
    factory: sessionmaker[Session],
) -> None:
    prefix = f"sgtest{secrets.token_hex(4)}"
    with factory() as session:
        org = auth_service.create_org(session, slug="mqtt-org", name="MQTT org")
        session.flush()
        who = Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4())
        engineer = personnel.create_person(
            session,
            principal=who,
            ref="m1",
            name="Engineer",
            device_id="tab-7",
            location_consent=True,
        )
        personnel.create_person(
            session, principal=who, ref="m2", name="No consent", device_id="tab-8"
        )
        session.commit()
        engineer_id = engineer.id
    listener = PositionListener(
        factory, prefix=prefix, client_id=f"sg-listener-{secrets.token_hex(4)}", flush_s=0.05
    )
    listener.start()
    pub = _publisher()
    try:
        now = utcnow()
        fixes = [
            {
                "at": (now - timedelta(seconds=30 - k)).isoformat(),
                "lat": 35.3 + k / 1000,
                "lon": 73.2,
                "acc": 10,
            }
            for k in range(5)
        ]
        pub.publish(
            topic_for("mqtt-org", "tab-7", prefix), json.dumps(fixes[:3]), qos=1
        ).wait_for_publish()
        pub.publish(
            topic_for("mqtt-org", "tab-7", prefix), json.dumps(fixes[3]), qos=1
        ).wait_for_publish()
        # the same fix again (a device re-sending): stored once
        pub.publish(
            topic_for("mqtt-org", "tab-7", prefix), json.dumps(fixes[3]), qos=1
        ).wait_for_publish()
        # an epoch time is accepted too
        epoch = {"at": fixes[4]["at"], "lat": 35.31, "lon": 73.21}
        pub.publish(
            topic_for("mqtt-org", "tab-7", prefix), json.dumps(epoch), qos=1
        ).wait_for_publish()
        bad = [
            (topic_for("mqtt-org", "tab-7", prefix), b"\x00\xffnot json"),
            (
                topic_for("mqtt-org", "tab-7", prefix),
                json.dumps({"at": now.isoformat(), "lat": 95, "lon": 73}).encode(),
            ),
            (
                topic_for("mqtt-org", "tab-7", prefix),
                json.dumps({"at": now.isoformat(), "lat": "x", "lon": 73}).encode(),
            ),
            (
                topic_for("mqtt-org", "ghost", prefix),
                json.dumps({"at": now.isoformat(), "lat": 30, "lon": 73}).encode(),
            ),
            (
                topic_for("nobody-org", "tab-7", prefix),
                json.dumps({"at": now.isoformat(), "lat": 30, "lon": 73}).encode(),
            ),
            (
                topic_for("mqtt-org", "tab-7", prefix),
                json.dumps(
                    {"at": (now + timedelta(hours=2)).isoformat(), "lat": 30, "lon": 73}
                ).encode(),
            ),
        ]
        for topic, payload in bad:
            pub.publish(topic, payload, qos=1).wait_for_publish()
        # a device without consent: dropped, not a dead letter
        pub.publish(
            topic_for("mqtt-org", "tab-8", prefix),
            json.dumps({"at": now.isoformat(), "lat": 30, "lon": 73}),
            qos=1,
        ).wait_for_publish()
        _wait(
            lambda: listener.totals.messages >= 11,
            message=lambda: f"{listener.totals} queue={len(listener._queue)}",
        )
    finally:
        pub.loop_stop()
        pub.disconnect()
        listener.stop()
    with factory() as session:
        stored = session.scalar(select(func.count()).select_from(Position))
        assert stored == 5
        latest = session.get(LatestPosition, engineer_id)
        assert latest is not None
        assert latest.latitude == pytest.approx(35.31)
        rejects = (
            session.execute(select(PositionReject).order_by(PositionReject.id)).scalars().all()
        )
        reasons = " | ".join(r.reason for r in rejects)
        assert len(rejects) == 6, reasons
        for word in (
            "not UTF-8 JSON",
            "lat: 95",
            "'x' is not a number",
            "'ghost'",
            "'nobody-org'",
            "future",
        ):
            assert word in reasons
    assert listener.totals.without_consent == 1
    assert listener.totals.duplicates == 1


def test_payload_parsing_names_the_problem() -> None:
    assert parse_payload("d", b'{"at": 1767000000, "lat": 1, "lon": 2}')[0].at.year == 2025
    for payload, word in [
        (b"[1]", "JSON object"),
        (b'{"at": "2026-01-01T00:00:00", "lat": 1, "lon": 2}', "no zone"),
        (b'{"lat": 1, "lon": 2}', "at: missing"),
        (b'{"at": 1, "lat": true, "lon": 2}', "lat"),
        (b'{"at": 1, "lat": 1, "lon": 2, "speed": 3}', "speed"),
        (b" " * (300 * 1024), "limit"),
    ]:
        with pytest.raises(Exception, match=word):
            parse_payload("d", payload)


def test_the_broker_may_send_thousands_before_the_listener_acknowledges(
    factory: sessionmaker[Session],
) -> None:
    """Acks wait for the commit, so the window of unacknowledged messages bounds the rate: the
    listener's MQTT 5 receive maximum lifts the broker's own limit (Mosquitto: 20 in flight)
    and keeps messages from piling up in the broker's queue (1,000, then dropped). Here nothing
    is committed, yet all 1,500 messages must reach the listener; afterwards all are stored."""
    prefix = f"sgtest{secrets.token_hex(4)}"
    with factory() as session:
        org = auth_service.create_org(session, slug="window-org", name="Window org")
        session.flush()
        who = Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4())
        personnel.create_person(
            session,
            principal=who,
            ref="w1",
            name="Tracker",
            device_id="trk-1",
            location_consent=True,
        )
        session.commit()
    listener = PositionListener(
        factory,
        prefix=prefix,
        client_id=f"sg-window-{secrets.token_hex(4)}",
        flush_s=3600,
        flush_at=10**6,
    )
    listener.start()
    pub = _publisher(inflight=500)
    count = 1_500
    try:
        start = utcnow() - timedelta(hours=1)
        for k in range(count):
            fix = {"at": (start + timedelta(seconds=k)).isoformat(), "lat": 25.12, "lon": 62.32}
            pub.publish(topic_for("window-org", "trk-1", prefix), json.dumps(fix), qos=1)
        _wait(
            lambda: len(listener._queue) == count,
            timeout_s=60,
            message=lambda: f"{len(listener._queue)} of {count} unacknowledged messages arrived",
        )
        assert listener.flush().accepted == count
    finally:
        listener.stop()
        pub.loop_stop()
        pub.disconnect()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Position)) == count
