"""The structural validator catches each kind of CAP 1.2 violation. Every case starts from a
valid golden document and breaks one thing."""

from __future__ import annotations

from pathlib import Path

import pytest

from silkguard.alerts.cap import validate_cap

GOLDEN = Path(__file__).parent / "golden"


def _valid() -> str:
    return (GOLDEN / "cap_attack_circle.xml").read_text(encoding="utf-8")


def _drill() -> str:
    return (GOLDEN / "cap_landslide_drill_update.xml").read_text(encoding="utf-8")


def _problems(text: str) -> list[str]:
    return validate_cap(text.encode("utf-8"))


def test_golden_documents_are_valid() -> None:
    assert _problems(_valid()) == []
    assert _problems(_drill()) == []


def _swap(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, f"test setup: {old!r} not in the document"
    return text.replace(old, new, count)


SENT = "<sent>2026-03-01T13:30:05+05:00</sent>"
STATUS = "<status>Actual</status>"
CIRCLE = "<circle>25.1186,62.3398 5</circle>"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        # required elements
        (
            lambda t: _swap(t, "<identifier>sg-2026-0301-0001</identifier>", ""),
            "alert: required element <identifier> is missing",
        ),
        (lambda t: _swap(t, "<scope>Public</scope>", ""), "required element <scope> is missing"),
        (
            lambda t: _swap(t, "<event>Armed attack</event>", ""),
            "alert/info[1]: required element <event> is missing",
        ),
        (
            lambda t: _swap(t, "<category>Security</category>", ""),
            "alert/info[1]: required element <category> is missing",
        ),
        (
            lambda t: _swap(t, "<areaDesc>5 km around Gwadar port east gate</areaDesc>", ""),
            "alert/info[1]/area: required element <areaDesc> is missing",
        ),
        # order and multiplicity
        (
            lambda t: _swap(_swap(t, SENT, "@@"), STATUS, f"{STATUS}\n{SENT}").replace("@@", ""),
            "alert: <sent> is out of order; it must come before <status>",
        ),
        (
            lambda t: _swap(t, "<urgency>Immediate</urgency>", "").replace(
                "<certainty>Observed</certainty>",
                "<certainty>Observed</certainty><urgency>Immediate</urgency>",
                1,
            ),
            "alert/info[1]: <urgency> is out of order; it must come before <certainty>",
        ),
        (lambda t: _swap(t, SENT, SENT + SENT), "alert: <sent> occurs 2 times; at most 1"),
        (lambda t: _swap(t, STATUS, STATUS + "<priority>1</priority>"), "unknown element"),
        (
            lambda t: _swap(t, STATUS, STATUS + '<x:status xmlns:x="urn:other">A</x:status>'),
            "is not in the CAP 1.2 namespace",
        ),
        # closed value lists
        (lambda t: _swap(t, STATUS, "<status>Real</status>"), "'Real' is not one of Actual"),
        (lambda t: _swap(t, "<msgType>Alert", "<msgType>Warning"), "'Warning' is not one of"),
        (lambda t: _swap(t, "<scope>Public", "<scope>Everyone"), "'Everyone' is not one of"),
        (lambda t: _swap(t, "<category>Security", "<category>Terror"), "'Terror' is not one of"),
        (lambda t: _swap(t, "<urgency>Immediate", "<urgency>Now"), "'Now' is not one of"),
        (lambda t: _swap(t, "<severity>Extreme", "<severity>High"), "'High' is not one of"),
        (lambda t: _swap(t, "<certainty>Observed", "<certainty>Sure"), "'Sure' is not one of"),
        (lambda t: _swap(t, "<responseType>Shelter", "<responseType>Hide"), "'Hide' is not one"),
        # dateTime
        (
            lambda t: _swap(t, SENT, "<sent>2026-03-01T08:30:05Z</sent>"),
            "uses 'Z'; CAP 1.2 requires an offset",
        ),
        (
            lambda t: _swap(t, SENT, "<sent>2026-03-01T08:30:05+00:00</sent>"),
            "writes the UTC offset as '-00:00'",
        ),
        (lambda t: _swap(t, SENT, "<sent>2026-03-01T13:30:05</sent>"), "is not a CAP dateTime"),
        (
            lambda t: _swap(t, SENT, "<sent>2026-03-01T13:30:05.5+05:00</sent>"),
            "no fractional seconds",
        ),
        (
            lambda t: _swap(t, SENT, "<sent>2026-02-30T13:30:05+05:00</sent>"),
            "is not a real date and time",
        ),
        (
            lambda t: _swap(t, "<expires>2026-03-01T19:30:00+05:00", "<expires>tomorrow"),
            "alert/info[1]/expires: 'tomorrow' is not a CAP dateTime",
        ),
        # identifiers, scope and references rules
        (
            lambda t: _swap(t, "<identifier>sg-2026", "<identifier>sg 2026"),
            "contains a space, comma",
        ),
        (
            lambda t: _swap(t, "<sender>alerts@silkguard.example", "<sender>a,b"),
            "alert/sender: 'a,b' contains",
        ),
        (
            lambda t: _swap(t, "<scope>Public", "<scope>Restricted"),
            "scope Restricted needs <restriction>",
        ),
        (
            lambda t: _swap(t, "<scope>Public", "<scope>Private"),
            "scope Private needs <addresses>",
        ),
        (
            lambda t: _swap(t, "<msgType>Alert", "<msgType>Cancel"),
            "msgType Cancel needs <references>",
        ),
        # circles
        (lambda t: _swap(t, CIRCLE, "<circle>25.1186 62.3398 5</circle>"), "'lat,lon radius_km'"),
        (lambda t: _swap(t, CIRCLE, "<circle>25.1186,62.3398</circle>"), "'lat,lon radius_km'"),
        (lambda t: _swap(t, CIRCLE, "<circle>25.1186,62.3398 -5</circle>"), "is negative"),
        (lambda t: _swap(t, CIRCLE, "<circle>95.1,62.3398 5</circle>"), "outside latitude"),
        # ceiling without altitude
        (
            lambda t: _swap(t, CIRCLE, CIRCLE + "<ceiling>100</ceiling>"),
            "<ceiling> needs <altitude>",
        ),
    ],
)
def test_each_violation_is_reported(mutate: object, expected: str) -> None:
    assert callable(mutate)
    problems = _problems(mutate(_valid()))
    assert any(expected in p for p in problems), problems


POLYGON = "<polygon>35.2,73.1 35.3,73.25 35.25,73.4 35.12,73.3 35.2,73.1</polygon>"


@pytest.mark.parametrize(
    ("polygon", "expected"),
    [
        ("35.2,73.1 35.3,73.25 35.25,73.4 35.12,73.3", "is not closed"),
        ("35.2,73.1 35.3,73.25 35.2,73.1", "has 3 points; a CAP polygon needs at least 4"),
        ("35.2,73.1 35.3,273.25 35.25,73.4 35.2,73.1", "outside latitude"),
        ("35.2;73.1 35.3,73.25 35.25,73.4 35.2;73.1", "is not 'lat,lon'"),
    ],
)
def test_polygon_rules(polygon: str, expected: str) -> None:
    problems = _problems(_swap(_drill(), POLYGON, f"<polygon>{polygon}</polygon>"))
    assert any("area/polygon" in p and expected in p for p in problems), problems


def test_bad_references() -> None:
    drill = _drill()
    ref = "alerts@silkguard.example,sg-2026-0302-0006,2026-03-02T03:00:00-00:00"
    problems = _problems(_swap(drill, ref, "sg-2026-0302-0006"))
    assert any("is not 'sender,identifier,sent'" in p for p in problems)
    problems = _problems(_swap(drill, ref, "a,b,2026-03-02T03:00:00Z"))
    assert any("uses 'Z'" in p for p in problems)


def test_not_cap_at_all() -> None:
    assert validate_cap(b"<alert><identifier>x</identifier></alert>") == [
        "root element is alert, not <alert> in namespace urn:oasis:names:tc:emergency:cap:1.2"
    ]
    assert validate_cap(b"<alert")[0].startswith("not well-formed XML")


def test_doctype_and_entities_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&x;</alert>'
    )
    assert validate_cap(bomb) == [
        "document has a DOCTYPE or ENTITY declaration; CAP documents must not"
    ]


def test_several_problems_are_all_reported() -> None:
    text = _swap(_swap(_valid(), STATUS, "<status>Real</status>"), CIRCLE, "<circle>x</circle>")
    problems = _problems(text)
    assert len(problems) >= 2
