"""People, consent and positions over HTTP: consent gates storage, a bad report refuses the
whole batch, staff report only their own position, every read of personal data is audited."""

from __future__ import annotations

from datetime import timedelta

from silkguard.auth.roles import Role
from silkguard.core.clock import utcnow
from tests.api.conftest import World

PROBLEM = "application/problem+json"


def _fix(person: str, minutes_ago: float, lat: float = 35.32) -> dict[str, object]:
    at = utcnow() - timedelta(minutes=minutes_ago)
    return {"person": person, "at": at.isoformat(), "lat": lat, "lon": 73.22, "accuracy_m": 8.0}


def test_people_consent_positions_and_audited_reads(fresh_world: World) -> None:
    w = fresh_world
    ctl = w.headers("alpha", Role.MOVEMENT_CONTROLLER)
    made = w.client.post(
        "/api/v1/people",
        json={
            "ref": "CP-7",
            "name": "Wang Lei",
            "function": "site engineer",
            "phone": "+923001234567",
            "device_id": "tab-7",
            "languages": ["zh", "en"],
            "channels": ["mqtt", "sms"],
            "emergency_contact": {"name": "Li Na", "phone": "+8613800000000"},
            "user_id": str(w.users[("alpha", Role.STAFF)]),
        },
        headers=ctl,
    )
    assert made.status_code == 201, made.text
    person = made.json()
    assert person["location_consent"] is False

    # without consent the batch is accepted but nothing is stored
    dropped = w.client.post(
        "/api/v1/positions", json={"positions": [_fix("tab-7", 5)]}, headers=ctl
    )
    assert dropped.json() == {"accepted": 0, "duplicates": 0, "without_consent": 1, "rejected": []}
    consent = w.client.post(
        f"/api/v1/people/{person['id']}/consent",
        json={"given": True, "note": "signed form"},
        headers=ctl,
    )
    assert [c["given"] for c in consent.json()] == [True]

    # a bad report refuses the whole batch, naming the item and the field
    bad = w.client.post(
        "/api/v1/positions",
        json={"positions": [_fix("tab-7", 4), {**_fix("tab-7", 3), "lat": 123.0}]},
        headers=ctl,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith(PROBLEM)
    assert "item 1: lat" in bad.json()["detail"]

    # staff report their own position only
    staff = w.headers("alpha", Role.STAFF)
    own = w.client.post(
        "/api/v1/positions",
        json={"positions": [_fix("tab-7", 4), _fix("tab-7", 2, 35.4)]},
        headers=staff,
    )
    assert own.status_code == 200, own.text
    assert own.json()["accepted"] == 2
    other = w.client.post(
        "/api/v1/people",
        json={"ref": "CP-8", "name": "Other", "device_id": "tab-8", "location_consent": True},
        headers=ctl,
    )
    assert other.status_code == 201
    not_yours = w.client.post(
        "/api/v1/positions", json={"positions": [_fix("tab-8", 1)]}, headers=staff
    )
    assert not_yours.status_code == 422
    assert "only your own" in not_yours.json()["detail"]

    # privacy by default: no exact position without a protective reason, only counts
    hidden = w.client.get(
        f"/api/v1/people/{person['id']}/latest-position?reason=curious", headers=ctl
    )
    assert hidden.status_code == 403
    assert "positions/summary" in hidden.json()["detail"]
    summary = w.client.get("/api/v1/positions/summary", headers=staff).json()
    assert summary["cells"] == []  # one person in a cell is never shown
    assert "Wang Lei" not in str(summary)
    # an alert over the person's position is a protective reason
    raised = w.client.post(
        "/api/v1/alerts",
        json={
            "area": {"type": "Circle", "center": [73.22, 35.4], "radius_km": 5},
            "severity": "high",
            "category": "security",
            "messages": {
                "en": {"headline": "Blast reported", "body": ""},
                "zh": {"headline": "报告爆炸", "body": ""},
            },
        },
        headers=ctl,
    )
    assert raised.status_code == 201, raised.text
    # reads need a reason and are audited; another organisation sees nothing
    no_reason = w.client.get(f"/api/v1/people/{person['id']}/latest-position", headers=ctl)
    assert no_reason.status_code == 422
    latest = w.client.get(
        f"/api/v1/people/{person['id']}/latest-position?reason=roll-call", headers=ctl
    )
    assert latest.json()["latitude"] == 35.4
    track = w.client.get(f"/api/v1/people/{person['id']}/positions?reason=review", headers=ctl)
    assert [round(p["latitude"], 2) for p in track.json()] == [35.32, 35.4]
    bravo = w.headers("bravo", Role.ADMIN)
    assert w.client.get(f"/api/v1/people/{person['id']}", headers=bravo).status_code == 404
    assert w.client.get("/api/v1/people", headers=bravo).json() == []
    assert w.client.get("/api/v1/people", headers=staff).status_code == 403

    admin = w.headers("alpha", Role.ADMIN)
    trail = w.client.get("/api/v1/audit?action=personal_data.read&limit=50", headers=admin).json()
    reasons = [e["detail"].get("reason", "") for e in trail]
    assert any(r.startswith("roll-call (on the roll-call of active alert") for r in reasons)
    assert any(r.startswith("review (") for r in reasons)
