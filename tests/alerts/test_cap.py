"""CAP documents and the Atom index: golden files, determinism and validation.

Set SILKGUARD_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then read
the diff before committing it."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from silkguard.alerts.cap import (
    AlertText,
    Circle,
    Polygon,
    PublicAlert,
    cap_datetime,
    cap_document,
    validate_cap,
)
from silkguard.alerts.cap_validate import CAP_NS
from silkguard.alerts.channels import DRILL_MARKERS
from silkguard.alerts.feed import ATOM_NS, atom_feed
from silkguard.alerts.vocab import AlertCategory, AlertSeverity
from silkguard.core.errors import InvalidInput

GOLDEN = Path(__file__).parent / "golden"
PKT = timezone(timedelta(hours=5))
FEED_URL = "https://silkguard.example/api/v1/public/alerts.atom"
CAP_URL = "https://silkguard.example/api/v1/public/alerts/{id}.cap"


def attack_alert() -> PublicAlert:
    return PublicAlert(
        id="sg-2026-0301-0001",
        sender="alerts@silkguard.example",
        sent=datetime(2026, 3, 1, 13, 30, 5, 123456, tzinfo=PKT),
        severity=AlertSeverity.CRITICAL,
        category=AlertCategory.SECURITY,
        texts={
            "en": AlertText(
                event="Armed attack",
                headline="Armed attack reported near Gwadar port gate",
                description="Gunfire reported at 13:20 near the port's east gate.",
                instruction="Stay indoors, away from windows. Answer the roll-call now.",
                area_desc="5 km around Gwadar port east gate",
            ),
            "zh-CN": AlertText(
                event="武装袭击",
                headline="瓜达尔港大门附近发生武装袭击",
                description="13:20 港口东门附近有枪声。",
                instruction="留在室内，远离窗户。请立即回复点名。",  # noqa: RUF001
                area_desc="瓜达尔港东门周围5公里",
            ),
            "ur": AlertText(
                event="مسلح حملہ",
                headline="گوادر بندرگاہ کے دروازے کے قریب مسلح حملہ",
                description="بندرگاہ کے مشرقی دروازے کے قریب فائرنگ کی اطلاع۔",  # noqa: RUF001
                instruction="گھر کے اندر رہیں اور کھڑکیوں سے دور رہیں۔",  # noqa: RUF001
                area_desc="گوادر بندرگاہ کے مشرقی دروازے کے گرد 5 کلومیٹر",
            ),
        },
        area=Circle(lat=25.1186, lon=62.3398, radius_km=5.0),
        effective=datetime(2026, 3, 1, 13, 30, tzinfo=PKT),
        expires=datetime(2026, 3, 1, 19, 30, tzinfo=PKT),
        response_type="Shelter",
        sender_name="silkguard operations centre",
        incident_ids=("inc-8812",),
    )


def landslide_drill() -> PublicAlert:
    ring = ((35.2, 73.1), (35.3, 73.25), (35.25, 73.4), (35.12, 73.3))
    return PublicAlert(
        id="sg-2026-0302-0007",
        sender="alerts@silkguard.example",
        sent=datetime(2026, 3, 2, 4, 0, tzinfo=UTC),
        severity=AlertSeverity.HIGH,
        category=AlertCategory.NATURAL_HAZARD,
        texts={
            "en": AlertText(
                event="Landslide",
                headline="Karakoram Highway closed by landslide near Dasu",
                description="Road blocked between Dasu and Komila.",
                instruction="Halt convoys north of Besham until cleared.",
                area_desc="KKH between Dasu and Komila",
            ),
            "zh-CN": AlertText(
                event="山体滑坡",
                headline="达苏附近喀喇昆仑公路因山体滑坡封闭",
                description="达苏至科米拉之间道路中断。",
                instruction="车队在贝沙姆以北停止前进，等待清理。",  # noqa: RUF001
                area_desc="达苏至科米拉之间的喀喇昆仑公路",
            ),
        },
        area=Polygon(ring=ring),
        drill=True,
        msg_type="Update",
        urgency="Expected",
        references=(
            (
                "alerts@silkguard.example",
                "sg-2026-0302-0006",
                datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
            ),
        ),
    )


def _check_golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("SILKGUARD_UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    assert path.exists(), f"golden file {path} is missing; run with SILKGUARD_UPDATE_GOLDEN=1"
    assert data.decode() == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("alert", "golden"),
    [(attack_alert, "cap_attack_circle.xml"), (landslide_drill, "cap_landslide_drill_update.xml")],
)
def test_cap_documents_match_golden_and_validate(alert: object, golden: str) -> None:
    assert callable(alert)
    document = cap_document(alert())
    assert document == cap_document(alert()), "the same alert must give the same bytes"
    assert validate_cap(document) == []
    _check_golden(golden, document)


def test_atom_feed_matches_golden() -> None:
    feed = atom_feed(
        [landslide_drill(), attack_alert()], feed_url=FEED_URL, cap_url_template=CAP_URL
    )
    _check_golden("public_alerts_feed.xml", feed)
    root = ET.fromstring(feed)
    entries = root.findall(f"{{{ATOM_NS}}}entry")
    # newest first, each linking to its CAP document
    links = [e.find(f"{{{ATOM_NS}}}link").get("href") for e in entries]  # type: ignore[union-attr]
    assert links == [CAP_URL.format(id="sg-2026-0302-0007"), CAP_URL.format(id="sg-2026-0301-0001")]
    assert root.findtext(f"{{{ATOM_NS}}}updated") == "2026-03-02T04:00:00Z"


def test_feed_needs_an_id_placeholder() -> None:
    with pytest.raises(InvalidInput, match="placeholder"):
        atom_feed([], feed_url=FEED_URL, cap_url_template="https://x/alerts.cap")


def _find(document: bytes, path: str) -> list[str]:
    root = ET.fromstring(document)
    return [e.text or "" for e in root.iterfind(path, {"cap": CAP_NS})]


def test_mapping_and_drill_marking() -> None:
    attack = cap_document(attack_alert())
    assert _find(attack, "cap:status") == ["Actual"]
    assert _find(attack, "cap:info/cap:language") == ["en", "zh-CN", "ur"]
    assert set(_find(attack, "cap:info/cap:severity")) == {"Extreme"}
    assert set(_find(attack, "cap:info/cap:urgency")) == {"Immediate"}
    assert set(_find(attack, "cap:info/cap:category")) == {"Security"}
    assert _find(attack, "cap:sent") == ["2026-03-01T13:30:05+05:00"]
    drill = cap_document(landslide_drill())
    assert _find(drill, "cap:status") == ["Exercise"]
    assert set(_find(drill, "cap:info/cap:category")) == {"Geo"}
    assert set(_find(drill, "cap:info/cap:severity")) == {"Severe"}
    headlines = _find(drill, "cap:info/cap:headline")
    assert headlines[0].startswith(DRILL_MARKERS["en"])
    assert headlines[1].startswith(DRILL_MARKERS["zh"])
    polygon = _find(drill, "cap:info/cap:area/cap:polygon")[0].split()
    assert polygon[0] == polygon[-1] == "35.2,73.1"
    assert len(polygon) == 5
    assert _find(drill, "cap:references") == [
        "alerts@silkguard.example,sg-2026-0302-0006,2026-03-02T03:00:00-00:00"
    ]


def test_cap_datetime() -> None:
    assert (
        cap_datetime(datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=UTC)) == "2026-01-02T03:04:05-00:00"
    )
    minus = timezone(-timedelta(hours=3, minutes=30))
    assert cap_datetime(datetime(2026, 1, 2, 3, 4, 5, tzinfo=minus)) == "2026-01-02T03:04:05-03:30"
    with pytest.raises(InvalidInput, match="time zone"):
        cap_datetime(datetime(2026, 1, 2))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"texts": {"en": attack_alert().texts["en"]}}, "texts lack zh-CN"),
        ({"texts": {**attack_alert().texts, "fr": attack_alert().texts["en"]}}, "fr"),
        ({"id": "has space"}, "CAP forbids"),
        ({"sender": "a,b"}, "CAP forbids"),
        ({"area": Circle(95.0, 62.0, 5.0)}, "outside latitude"),
        ({"area": Circle(25.0, 62.0, 0.0)}, "must be positive"),
        ({"area": Polygon(((1.0, 1.0), (1.0, 2.0), (1.0, 1.0)))}, "3 distinct"),
        ({"msg_type": "Cancel"}, "needs references"),
        ({"status": "Real"}, "status 'Real'"),
        ({"urgency": "Soon"}, "urgency"),
        ({"sent": datetime(2026, 3, 1)}, "no time zone"),  # noqa: DTZ001
        ({"expires": datetime(2026, 3, 1, 13, 0, tzinfo=PKT)}, "expires must be after"),
    ],
)
def test_public_alert_refuses_bad_input(change: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        replace(attack_alert(), **change)
