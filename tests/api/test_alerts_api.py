"""Alerts over HTTP: a public alert is published as CAP 1.2 and listed in the Atom feed
without login; a private one is not; an SOS needs a person linked to the caller."""

from __future__ import annotations

import json
import threading
import time
import uuid
import xml.etree.ElementTree as ET

from silkguard.alerts.cap_validate import validate_cap
from silkguard.alerts.service import rollcall_token
from silkguard.auth.roles import Role
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.people import personnel
from tests.api.conftest import World

TEXT = {
    "en": {"headline": "Road closed at Gwadar port", "body": "Use the east gate."},
    "zh": {"headline": "瓜达尔港道路封闭", "body": "请走东门。"},
}


def _raise(w: World, *, public: bool, drill: bool = False) -> dict[str, object]:
    r = w.client.post(
        "/api/v1/alerts",
        json={
            "area": {"type": "Circle", "center": [62.33, 25.13], "radius_km": 4},
            "severity": "moderate",
            "category": "transport",
            "messages": TEXT,
            "public": public,
            "drill": drill,
        },
        headers=w.headers("alpha", Role.MOVEMENT_CONTROLLER),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_public_alerts_are_published_as_valid_cap(fresh_world: World) -> None:
    w = fresh_world
    public = _raise(w, public=True, drill=True)
    private = _raise(w, public=False)
    cap = w.client.get(f"/api/v1/public/alerts/{public['id']}.cap")
    assert cap.status_code == 200
    assert cap.headers["content-type"].startswith("application/cap+xml")
    assert validate_cap(cap.content) == []
    root = ET.fromstring(cap.content)
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    assert root.findtext("cap:status", namespaces=ns) == "Exercise"
    languages = {i.findtext("cap:language", namespaces=ns) for i in root.findall("cap:info", ns)}
    assert languages == {"en", "zh-CN"}
    assert w.client.get(f"/api/v1/public/alerts/{private['id']}.cap").status_code == 404
    feed = w.client.get("/api/v1/public/alerts.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert str(public["id"]) in feed.text
    assert str(private["id"]) not in feed.text


def test_sos_needs_a_linked_person(fresh_world: World) -> None:
    w = fresh_world
    r = w.client.post(
        "/api/v1/sos", json={"lat": 25.1, "lon": 62.3}, headers=w.headers("alpha", Role.STAFF)
    )
    assert r.status_code == 403
    assert "not linked to a person" in r.json()["detail"]


def test_the_roll_call_page_a_message_links_to(fresh_world: World) -> None:
    w = fresh_world
    factory = w.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        who = Principal(
            org_id=w.orgs["alpha"], role="admin", user_id=w.users[("alpha", Role.ADMIN)]
        )
        person = personnel.create_person(
            session,
            principal=who,
            ref="page",
            name="Page user",
            device_id="tab-page",
            location_consent=True,
        )
        session.commit()
        person_id = person.id
    w.client.post(
        "/api/v1/positions",
        json={
            "positions": [
                {"person": "tab-page", "at": utcnow().isoformat(), "lat": 25.13, "lon": 62.33}
            ]
        },
        headers=w.headers("alpha", Role.MOVEMENT_CONTROLLER),
    )
    alert = _raise(w, public=False)
    token = rollcall_token(w.settings.secret_key, uuid.UUID(str(alert["id"])), person_id)
    page = w.client.get(f"/r/{token}")
    assert page.status_code == 200
    assert "我安全" in page.text
    assert "<script" not in page.text
    done = w.client.post(f"/r/{token}", data={"answer": "safe"})
    assert done.status_code == 200
    assert "Recorded" in done.text
    board = w.client.get(
        f"/api/v1/alerts/{alert['id']}/board", headers=w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    ).json()
    assert board["safe"] == [str(person_id)]
    bad = w.client.post("/r/not-a-token", data={"answer": "safe"})
    assert bad.status_code == 404


def test_the_board_streams_as_server_sent_events(fresh_world: World) -> None:
    w = fresh_world
    factory = w.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        who = Principal(
            org_id=w.orgs["alpha"], role="admin", user_id=w.users[("alpha", Role.ADMIN)]
        )
        person = personnel.create_person(
            session,
            principal=who,
            ref="sse",
            name="Streamed",
            device_id="tab-sse",
            location_consent=True,
        )
        session.commit()
        person_id = person.id
    ctl = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    w.client.post(
        "/api/v1/positions",
        json={
            "positions": [
                {"person": "tab-sse", "at": utcnow().isoformat(), "lat": 25.13, "lon": 62.33}
            ]
        },
        headers=ctl,
    )
    alert = _raise(w, public=False)
    token = rollcall_token(w.settings.secret_key, uuid.UUID(str(alert["id"])), person_id)

    def answer_then_close() -> None:
        time.sleep(0.6)
        w.client.post(f"/api/v1/rollcall/{token}", json={"answer": "safe"})
        time.sleep(0.6)
        w.client.post(f"/api/v1/alerts/{alert['id']}/close", headers=ctl)

    helper = threading.Thread(target=answer_then_close)
    events = []
    with w.client.stream(
        "GET", f"/api/v1/alerts/{alert['id']}/events?poll_s=0.2&max_s=20", headers=ctl
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        helper.start()
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    helper.join()
    assert events[0]["unaccounted"] == [str(person_id)]
    assert any(e["safe"] == [str(person_id)] for e in events)
    assert events[-1]["status"] == "closed"
