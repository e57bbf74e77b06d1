"""The fast STIX check against stix2 on hand-made cases: both reject, or both accept."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import stix2

from silkguard.sharing.check import check_object, parse_timestamp

T0 = "2024-05-01T10:00:00.000Z"
BASE = {"spec_version": "2.1", "created": T0, "modified": T0}


def _obj(kind: str, n: int, **props: Any) -> dict[str, Any]:
    return {"type": kind, "id": f"{kind}--f0000000-0000-4000-8000-{n:012d}", **BASE, **props}


GOOD = [
    _obj("incident", 1, name="x", confidence=50),
    _obj("location", 2, region="southern-asia"),
    _obj("location", 3, latitude=30.0, longitude=70.0, precision=10.0),
    _obj("note", 4, content="c", object_refs=["incident--f0000000-0000-4000-8000-000000000001"]),
    _obj("sighting", 5, sighting_of_ref="incident--f0000000-0000-4000-8000-000000000001", count=0),
    _obj("report", 6, name="r", published=T0, object_refs=[_obj("incident", 1)["id"]]),
]

BAD = [
    ("month 13", _obj("incident", 13, name="x", created="2024-13-01T00:00:00Z")),
    ("non-RFC 4122 variant", {**_obj("incident", 15, name="x"),
                              "id": "incident--f0000000-0000-4000-0000-000000000015"}),
    ("created_by_ref not identity", _obj("incident", 16, name="x",
                                         created_by_ref=_obj("location", 2)["id"])),
    ("sighting of an observable", _obj("sighting", 17,
                                       sighting_of_ref="ipv4-addr--f0000000-0000-4000-8000-000000000001")),
    ("count too big", _obj("sighting", 18, sighting_of_ref=_obj("incident", 1)["id"],
                           count=1_000_000_000)),
    ("precision without point", _obj("location", 19, country="PK", precision=5.0)),
    ("latitude out of range", _obj("location", 20, latitude=95.0, longitude=1.0)),
    ("report without published", _obj("report", 21, name="r",
                                      object_refs=[_obj("incident", 1)["id"]])),
    ("note without object_refs", _obj("note", 22, content="c")),
    ("marking refs wrong type", _obj("incident", 24, name="x",
                                     object_marking_refs=[_obj("incident", 1)["id"]])),
]  # fmt: skip

# Rules of the STIX 2.1 text that stix2 v3 does not enforce: the fast check follows the text.
STRICTER = [
    ("no spec_version (required for 2.1 SDOs)",
     {k: v for k, v in _obj("incident", 11, name="x").items() if k != "spec_version"}),
    ("modified before created", _obj("incident", 12, name="x", modified="2020-01-01T00:00:00Z")),
    ("confidence 101 (range 0-100)", _obj("incident", 14, name="x", confidence=101)),
    ("name not a string (stix2 converts it)", _obj("threat-actor", 23, name=7)),
]  # fmt: skip


@pytest.mark.parametrize("obj", GOOD, ids=lambda o: o["type"])
def test_both_accept(obj: dict[str, Any]) -> None:
    assert check_object(obj) is None
    stix2.parse(copy.deepcopy(obj), allow_custom=True)


@pytest.mark.parametrize(("why", "obj"), BAD, ids=[b[0] for b in BAD])
def test_both_reject(why: str, obj: dict[str, Any]) -> None:
    assert check_object(obj) is not None, why
    with pytest.raises(Exception):  # noqa: B017, PT011 - stix2 raises many types
        stix2.parse(copy.deepcopy(obj), allow_custom=True)


@pytest.mark.parametrize(("why", "obj"), STRICTER, ids=[b[0] for b in STRICTER])
def test_stricter_than_stix2_where_the_spec_says_so(why: str, obj: dict[str, Any]) -> None:
    assert check_object(obj) is not None, why
    # documents the difference; should stix2 start rejecting these, move them to BAD
    stix2.parse(copy.deepcopy(obj), allow_custom=True)


def test_timestamps() -> None:
    assert parse_timestamp("2024-03-26T08:00:00Z") == parse_timestamp("2024-03-26T08:00:00.000Z")
    stamp = parse_timestamp("2024-03-26T08:00:00.1234567Z")
    assert stamp is not None
    assert stamp.microsecond == 123456
    for bad in ("2024-03-26T08:00:00+05:00", "2024-03-26", "2024-02-30T00:00:00Z", None, 5):
        assert parse_timestamp(bad) is None
