"""End to end on the real services: an alert raised through the API reaches a local webhook
receiver (signature verified), a local SMTP server (aiosmtpd), an SMS gateway and an MQTT
subscriber; a webhook that refuses escalates to e-mail; answers by link and by SMS bring the
board to zero unaccounted; closing records who was never reached."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from silkguard.alerts.service import rollcall_token
from silkguard.api.app import create_app
from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from silkguard.auth.tokens import create_access_token
from silkguard.core.access import Principal
from silkguard.core.db import make_engine, make_session_factory, session_scope
from silkguard.core.settings import Environment, Settings
from silkguard.migrations import upgrade
from silkguard.people import personnel
from silkguard.people import positions as pos
from silkguard.people import service as sites
from tests.alerts.conftest import Receiver, SmtpSink
from tests.alerts.support import WEBHOOK_SECRET

SECRET = "e2e-secret-" + "s" * 40
GATEWAY_TOKEN = "gateway-token-123"
DASU = (35.2917, 73.2251)


class Subscriber:
    def __init__(self, device: str) -> None:
        self.messages: list[bytes] = []
        self.ready = threading.Event()
        self.got = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sub-{secrets.token_hex(4)}"
        )
        topic = f"silkguard/devices/{device}/alerts"
        self.client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert self.ready.wait(10), "no MQTT subscription"

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self.messages.append(bytes(msg.payload))
        self.got.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def app_client(
    fresh_db_url: str, receiver: Receiver, smtp_sink: SmtpSink, mqtt_broker: tuple[str, int]
) -> Iterator[tuple[TestClient, dict[str, uuid.UUID], str]]:
    engine = make_engine(fresh_db_url)
    upgrade(engine)
    ids: dict[str, uuid.UUID] = {}
    device = f"tab-{secrets.token_hex(3)}"
    with session_scope(make_session_factory(engine)) as session:
        org = auth_service.create_org(session, slug="e2e-ops", name="E2E operator")
        admin = auth_service.create_user(
            session,
            org_id=org.id,
            username="e2e.admin",
            password="correct-horse-battery-9",
            role=Role.ADMIN,
        )
        who = Principal(org_id=org.id, role="admin", user_id=admin.id)
        site = sites.create_site(
            session,
            org_id=org.id,
            slug="dasu",
            name="Dasu camp",
            kind="camp",
            latitude=DASU[0],
            longitude=DASU[1],
        )
        mk = personnel.create_person
        ids["hook"] = mk(
            session,
            principal=who,
            ref="h",
            name="Hook person",
            home_site_id=site.id,
            webhook_url=f"{receiver.base_url}/hook",
            channels=["webhook"],
        ).id
        ids["refused"] = mk(
            session,
            principal=who,
            ref="r",
            name="Refused hook",
            home_site_id=site.id,
            webhook_url=f"{receiver.base_url}/gone",
            email="refused@example.org",
            channels=["webhook", "email"],
            languages=["zh"],
        ).id
        ids["sms"] = mk(
            session,
            principal=who,
            ref="s",
            name="SMS person",
            home_site_id=site.id,
            phone="+923001112223",
            channels=["sms"],
            languages=["ur", "en"],
        ).id
        ids["mqtt"] = mk(
            session,
            principal=who,
            ref="m",
            name="Tablet person",
            device_id=device,
            channels=["mqtt"],
            location_consent=True,
        ).id
        ids["nobody"] = mk(
            session, principal=who, ref="n", name="No channel", home_site_id=site.id
        ).id
        pos.ingest_positions(
            session,
            org_id=org.id,
            source="http",
            items=[
                pos.PositionIn(
                    person=device,
                    at=datetime.now(UTC) - timedelta(minutes=1),
                    lat=DASU[0] + 0.01,
                    lon=DASU[1],
                ),
            ],
        )
        ids["org"], ids["admin"] = org.id, admin.id
    engine.dispose()
    settings = Settings(
        database_url=fresh_db_url,
        secret_key=SECRET,
        environment=Environment.TEST,
        webhook_secret=WEBHOOK_SECRET,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        sms_gateway_url=f"{receiver.base_url}/sms",
        mqtt_host="127.0.0.1",
        sms_inbound_token=GATEWAY_TOKEN,
        public_base_url="https://silkguard.example",
    )
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = "Bearer " + create_access_token(
            user_id=ids["admin"],
            org_id=ids["org"],
            role=Role.ADMIN,
            secret=SECRET,
            ttl_s=900,
            now=datetime.now(UTC),
        )
        yield client, ids, device


def test_an_alert_reaches_every_channel_and_the_board_reaches_zero(
    app_client: tuple[TestClient, dict[str, uuid.UUID], str],
    receiver: Receiver,
    smtp_sink: SmtpSink,
) -> None:
    client, ids, device = app_client
    receiver.fail_next("/gone", 10, status=410)
    sub = Subscriber(device)
    try:
        made = client.post(
            "/api/v1/alerts",
            json={
                "area": {"type": "Circle", "center": [DASU[1], DASU[0]], "radius_km": 5},
                "severity": "high",
                "category": "security",
                "messages": {
                    "en": {"headline": "Gunfire at Dasu gate", "body": "Stay inside."},
                    "zh": {"headline": "达苏大门发生枪击", "body": "请留在室内。"},
                    "ur": {"headline": "داسو گیٹ پر فائرنگ", "body": "اندر رہیں"},
                },
            },
        )
        assert made.status_code == 201, made.text
        alert = made.json()
        jobs = client.app.state.jobs  # type: ignore[attr-defined]
        jobs.drain(30)
        assert sub.got.wait(10), "no MQTT alert arrived"
    finally:
        sub.close()
    hooks = receiver.on("/hook")
    assert len(hooks) == 1
    assert hooks[0].signature_problem is None
    assert "Gunfire at Dasu gate" in hooks[0].body.decode()
    assert len(receiver.on("/gone")) == 1  # refused once (410), then e-mail
    assert len(smtp_sink.envelopes) == 1
    mail = smtp_sink.envelopes[0].content.decode("utf-8", "replace")
    assert "Content-Type: multipart/alternative" in mail
    assert "refused@example.org" in smtp_sink.envelopes[0].rcpt_tos
    sms = receiver.on("/sms")
    assert len(sms) == 1
    assert "داسو" in sms[0].body.decode()
    assert "Gunfire at Dasu gate" in sub.messages[0].decode()

    board = client.get(f"/api/v1/alerts/{alert['id']}/board").json()
    assert board["total"] == 5
    assert board["deliveries"] == {"delivered": 1, "sent": 3, "failed": 1}
    alert_id = uuid.UUID(alert["id"])
    for key in ("hook", "refused", "mqtt"):
        token = rollcall_token(SECRET, alert_id, ids[key])
        r = client.post(
            f"/api/v1/rollcall/{token}", json={"answer": "safe"}, headers={"Authorization": ""}
        )
        assert r.status_code == 200, r.text
    refused = client.post(
        "/api/v1/sms/inbound",
        json={"from": "+923001112223", "text": "HELP"},
        headers={"X-Silkguard-Gateway-Token": "wrong"},
    )
    assert refused.status_code == 401
    answered = client.post(
        "/api/v1/sms/inbound",
        json={"from": "+923001112223", "text": "HELP"},
        headers={"X-Silkguard-Gateway-Token": GATEWAY_TOKEN},
    )
    assert answered.json() == {"recorded": True, "answer": "need_help"}
    board = client.get(f"/api/v1/alerts/{alert['id']}/board").json()
    assert board["unaccounted"] == [str(ids["nobody"])]
    assert board["never_reached"] == [str(ids["nobody"])]
    closed = client.post(f"/api/v1/alerts/{alert['id']}/close").json()
    assert closed["status"] == "closed"
    assert closed["never_reached"] == [str(ids["nobody"])]
    again = client.post(
        f"/api/v1/rollcall/{rollcall_token(SECRET, alert_id, ids['nobody'])}",
        json={"answer": "safe"},
    )
    assert again.status_code == 409
