"""The community tip line: anonymous (no address or user agent stored anywhere), photos
stripped of EXIF and GPS, a burst from one client throttled with 429 and nothing else broken,
a one-time token to follow up, and analyst triage into a draft incident."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import select, text

from silkguard.auth.roles import Role
from silkguard.incidents.models import SourceRecord
from silkguard.intake.models import Tip
from tests.api.conftest import World

UA = "Mozilla/5.0 (Linux; Android 14; TipsterPhone-7731)"


def _photo_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TipsterPhoneMaker"  # Make
    gps = {1: "N", 2: (25.0, 7.0, 30.0), 3: "E", 4: (62.0, 19.0, 10.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_tip_is_anonymous_and_its_photo_loses_its_metadata(fresh_world: World) -> None:
    w = fresh_world
    raw = _photo_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif()  # the test photo does carry EXIF
    sent = w.client.post(
        "/api/v1/public/tips/alpha",
        json={
            "what": "Two men on a motorbike filmed the port gate for an hour",
            "where": "Gwadar port gate",
            "when": "this morning",
            "photo_base64": base64.b64encode(raw).decode(),
        },
        headers={"User-Agent": UA, "X-Forwarded-For": "203.0.113.77"},
    )
    assert sent.status_code == 201, sent.text
    token = sent.json()["token"]
    factory = w.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        tip = session.execute(select(Tip)).scalar_one()
        assert tip.photo is not None
        assert not Image.open(io.BytesIO(tip.photo)).getexif()
        assert b"TipsterPhoneMaker" not in tip.photo
        assert tip.where_text == "Gwadar port gate"
        assert "is_incident" in tip.extraction
        # nothing about the sender anywhere in the database
        for table in ("tips", "audit_entries"):
            dump = " ".join(str(row) for row in session.execute(text(f"SELECT * FROM {table}")))
            for trace in ("testclient", "TipsterPhone-7731", "203.0.113.77", "Mozilla"):
                assert trace not in dump, (table, trace)
    status = w.client.get(f"/api/v1/public/tips/status/{token}").json()
    assert status == {"received": status["received"], "reviewed": False, "details_added": 0}
    more = w.client.post(
        f"/api/v1/public/tips/status/{token}", json={"text": "They came back at noon."}
    )
    assert more.json()["details_added"] == 1


def test_a_burst_is_throttled_and_nothing_else_breaks(fresh_world: World) -> None:
    w = fresh_world
    codes = [
        w.client.post("/api/v1/public/tips/alpha", json={"what": f"burst {n}"}).status_code
        for n in range(100)
    ]
    assert codes[:5] == [201] * 5
    assert set(codes[5:]) == {429}
    limited = w.client.post("/api/v1/public/tips/alpha", json={"what": "one more"})
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert int(limited.headers["retry-after"]) > 0
    # the rest of the service is unaffected
    queue = w.client.get("/api/v1/tips", headers=w.headers("alpha", Role.ANALYST))
    assert queue.status_code == 200
    assert len(queue.json()) == 5


def test_triage_turns_a_verified_tip_into_a_draft_incident(fresh_world: World) -> None:
    w = fresh_world
    w.client.post(
        "/api/v1/public/tips/alpha",
        json={"what": "Gunmen fired at a police checkpost near Turbat last night, two injured"},
    )
    analyst = w.headers("alpha", Role.ANALYST)
    (tip,) = w.client.get("/api/v1/tips", headers=analyst).json()
    assert tip["extraction"]["injured"] == 2
    done = w.client.post(
        f"/api/v1/tips/{tip['id']}/triage", json={"outcome": "verified"}, headers=analyst
    )
    assert done.status_code == 200, done.text
    incident_id = done.json()["incident_id"]
    incident = w.client.get(f"/api/v1/incidents/{incident_id}", headers=analyst).json()
    assert incident["status"] == "draft"
    factory = w.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        kinds = session.scalars(
            select(SourceRecord.source_kind).where(
                SourceRecord.incident_id == uuid.UUID(incident_id)
            )
        ).all()
    assert kinds == ["tip"]
    again = w.client.post(
        f"/api/v1/tips/{tip['id']}/triage", json={"outcome": "malicious"}, headers=analyst
    )
    assert again.status_code == 409
    other = w.client.get("/api/v1/tips?status=verified", headers=w.headers("bravo", Role.ANALYST))
    assert other.json() == []


def test_the_phone_form(fresh_world: World) -> None:
    w = fresh_world
    form = w.client.get("/tip/alpha")
    assert "آپ نے کیا دیکھا" in form.text
    sent = w.client.post(
        "/tip/alpha",
        data={"what": "A parked van near the camp for two days", "where": "Dasu"},
        files={"photo": ("p.jpg", _photo_with_gps(), "image/jpeg")},
    )
    assert sent.status_code == 200, sent.text
    assert "Thank you" in sent.text
    bad = w.client.post(
        "/tip/alpha", data={"what": "x"}, files={"photo": ("p.jpg", b"\x00garbage", "image/jpeg")}
    )
    assert bad.status_code == 422
    assert "not an image" in bad.text
    assert w.client.get("/tip/nobody").status_code == 200  # the form itself names no org data
    assert w.client.post("/tip/nobody", data={"what": "x"}).status_code == 404


def test_the_triage_queue_shows_nearby_incidents_and_the_threat_level(
    fresh_world: World,
) -> None:
    w = fresh_world
    analyst = w.headers("alpha", Role.ANALYST)
    recent = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat()

    def incident(org: str, lat: float, lon: float, when: str, tlp: str, place: str) -> str:
        r = w.client.post(
            "/api/v1/incidents",
            json={
                "occurred_at": when,
                "attack_type": "shooting",
                "target_type": "convoy",
                "latitude": lat,
                "longitude": lon,
                "place": place,
                "tlp": tlp,
                "summary": f"{place} {uuid.uuid4().hex[:6]}",
            },
            headers=w.headers(org, Role.ANALYST),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    close = incident("alpha", 34.95, 72.88, recent, "GREEN", "Besham bazaar")  # ~2 km
    further = incident("alpha", 35.05, 72.95, recent, "GREEN", "Pattan road")  # ~15 km
    incident("alpha", 35.60, 73.30, recent, "GREEN", "Chilas")  # ~85 km: not nearby
    incident("alpha", 34.94, 72.87, old, "GREEN", "Besham, last year")  # too old
    incident("bravo", 34.93, 72.87, recent, "RED", "bravo's own")  # alpha may not see it
    # a map point near Besham, and a tip with only a place name
    w.client.post(
        "/api/v1/public/tips/alpha",
        json={
            "what": "A car has been parked by the bridge for two days",
            "lat": 34.93,
            "lon": 72.87,
        },
    )
    w.client.post(
        "/api/v1/public/tips/alpha",
        json={"what": "Strangers asking about the convoy times", "where": "Besham bazaar"},
    )
    w.client.post("/api/v1/public/tips/alpha", json={"what": "Something odd, I cannot say where"})
    queue = w.client.get("/api/v1/tips", headers=analyst).json()
    by_what = {t["what"][:12]: t["context"] for t in queue}

    mapped = by_what["A car has be"]
    assert mapped["point"]["basis"] == "map_point"
    assert [n["id"] for n in mapped["nearby"]] == [close, further]
    assert 1 < mapped["nearby"][0]["distance_km"] < 3
    assert mapped["threat"] is None  # no forecast in this store yet

    named = by_what["Strangers as"]
    assert (named["point"]["basis"], named["point"]["place"]) == ("where", "Besham")
    assert [n["id"] for n in named["nearby"]] == [close, further]

    assert by_what["Something od"] == {"point": None, "nearby": [], "threat": None}
