"""SMS delivery reports through the real app: the gateway's webhook moves a sent SMS to
delivered, or to failed with the gateway's error and on to the person's next channel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from silkguard.api.app import create_app
from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from silkguard.auth.tokens import create_access_token
from silkguard.core.access import Principal
from silkguard.core.db import make_engine, make_session_factory, session_scope
from silkguard.core.settings import Environment, Settings
from silkguard.migrations import upgrade
from silkguard.people import personnel
from silkguard.people import service as sites
from tests.alerts.conftest import Receiver
from tests.alerts.support import WEBHOOK_SECRET

SECRET = "sms-report-secret-0123456789abcdef"
GATEWAY_TOKEN = "gw-token-5e1f-42"
DASU = (35.2911, 73.2156)
REPORTS = "/api/v1/sms/delivery-reports"


@pytest.fixture
def app_client(
    fresh_db_url: str, receiver: Receiver
) -> Iterator[tuple[TestClient, dict[str, uuid.UUID]]]:
    engine = make_engine(fresh_db_url)
    upgrade(engine)
    ids: dict[str, uuid.UUID] = {}
    with session_scope(make_session_factory(engine)) as session:
        org = auth_service.create_org(session, slug="sms-ops", name="SMS operator")
        admin = auth_service.create_user(
            session,
            org_id=org.id,
            username="sms.admin",
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
        for key, phone in (("reached", "+923001110001"), ("unreached", "+923001110002")):
            ids[key] = personnel.create_person(
                session,
                principal=who,
                ref=key,
                name=key.title(),
                home_site_id=site.id,
                phone=phone,
                webhook_url=f"{receiver.base_url}/hook",
                channels=["sms", "webhook"],
            ).id
        ids["org"], ids["admin"] = org.id, admin.id
    engine.dispose()
    settings = Settings(
        database_url=fresh_db_url,
        secret_key=SECRET,
        environment=Environment.TEST,
        webhook_secret=WEBHOOK_SECRET,
        sms_gateway_url=f"{receiver.base_url}/sms",
        sms_message_id_field="messages.0.id",
        sms_inbound_token=GATEWAY_TOKEN,
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
        yield client, ids


def _report(client: TestClient, token: str = GATEWAY_TOKEN, **body: object) -> Any:
    return client.post(
        REPORTS,
        json=body,
        headers={"X-Silkguard-Gateway-Token": token, "Authorization": ""},
    )


def test_reports_move_sms_to_delivered_or_failed_and_on_to_the_next_channel(
    app_client: tuple[TestClient, dict[str, uuid.UUID]], receiver: Receiver
) -> None:
    client, _ids = app_client
    made = client.post(
        "/api/v1/alerts",
        json={
            "area": {"type": "Circle", "center": [DASU[1], DASU[0]], "radius_km": 5},
            "severity": "high",
            "category": "security",
            "messages": {
                "en": {"headline": "Road closed at Dasu", "body": "Stay at camp."},
                "zh": {"headline": "达苏道路封闭", "body": "请留在营地。"},
            },
        },
    )
    assert made.status_code == 201, made.text
    alert_id = made.json()["id"]
    jobs = client.app.state.jobs  # type: ignore[attr-defined]
    jobs.drain(30)
    sms = receiver.on("/sms")
    assert len(sms) == 2
    # the gateway answered each send with {"messages": [{"id": "sms-<n>"}]}
    by_phone = {r.body.decode().split('"to": "')[1][:13]: f"sms-{i + 1}" for i, r in enumerate(sms)}
    board = client.get(f"/api/v1/alerts/{alert_id}/board").json()
    assert board["deliveries"] == {"sent": 2}

    for token in ("", "wrong"):
        refused = _report(client, token, message_id=by_phone["+923001110001"], status="delivered")
        assert refused.status_code == 401

    delivered = _report(client, message_id=by_phone["+923001110001"], status="delivered")
    assert delivered.status_code == 200, delivered.text
    first = delivered.json()
    assert first["state"] == "delivered"
    assert first["changed"] is True
    assert first["next_channel_queued"] is False
    again = _report(client, message_id=by_phone["+923001110001"], status="delivered")
    assert again.json()["changed"] is False
    contradicted = _report(client, message_id=by_phone["+923001110001"], status="failed")
    assert contradicted.status_code == 409

    failed = _report(
        client,
        message_id=by_phone["+923001110002"],
        status="undelivered",
        error="30003 handset unreachable",
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["state"] == "failed"
    assert failed.json()["next_channel_queued"] is True
    repeated = _report(client, message_id=by_phone["+923001110002"], status="undelivered")
    assert repeated.json() == {**failed.json(), "changed": False, "next_channel_queued": False}
    jobs.drain(30)
    hooks = receiver.on("/hook")
    assert len(hooks) == 1  # the next channel, once
    assert hooks[0].signature_problem is None
    assert str(alert_id) in hooks[0].body.decode()
    board = client.get(f"/api/v1/alerts/{alert_id}/board").json()
    assert board["deliveries"] == {"delivered": 2, "failed": 1}
    assert board["never_reached"] == []

    unknown = _report(client, message_id="sms-999", status="delivered")
    assert unknown.status_code == 404
    assert "sms-999" in unknown.json()["detail"]
    bad = _report(client, message_id="sms-1", status="read")
    assert bad.status_code == 422


def test_a_failed_report_is_kept_with_the_gateway_error(
    app_client: tuple[TestClient, dict[str, uuid.UUID]], receiver: Receiver
) -> None:
    from sqlalchemy import select

    from silkguard.alerts.models import Delivery

    client, _ids = app_client
    made = client.post(
        "/api/v1/alerts",
        json={
            "area": {"type": "Circle", "center": [DASU[1], DASU[0]], "radius_km": 5},
            "severity": "moderate",
            "category": "transport",
            "messages": {
                "en": {"headline": "Convoy delayed", "body": "Wait at camp."},
                "zh": {"headline": "车队延误", "body": "请在营地等候。"},
            },
        },
    )
    assert made.status_code == 201, made.text
    client.app.state.jobs.drain(30)  # type: ignore[attr-defined]
    report = _report(client, message_id="sms-1", status="expired", error="validity period over")
    assert report.status_code == 200, report.text
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        row = session.get(Delivery, report.json()["delivery_id"])
        assert row is not None
        assert row.state == "failed"
        assert row.error == "gateway reported expired: validity period over"
        channels = session.scalars(
            select(Delivery.channel).where(Delivery.person_id == row.person_id)
        ).all()
    assert sorted(channels) == ["sms", "webhook"]
