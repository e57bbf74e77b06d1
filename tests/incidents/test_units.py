"""Pure units: vocabularies, cell parsing, de-duplication rules and the merged view."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import TLP
from silkguard.geo.cells import cells_for_arrays
from silkguard.incidents import query
from silkguard.incidents.dedup import StoredIncident, find_match
from silkguard.incidents.fields import IncidentFields, content_hash
from silkguard.incidents.merge import MergeInput, merged_columns
from silkguard.incidents.parse import RowParser, local_to_utc
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    SourceKind,
    TargetType,
    attack_types_compatible,
    parse_attack_type,
    parse_target_type,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bombing/Explosion", AttackType.BOMBING),
        ("suicide_bomber", AttackType.SUICIDE_BOMBING),
        ("Hostage Taking (Kidnapping)", AttackType.KIDNAPPING),
        ("Facility/Infrastructure Attack", AttackType.SABOTAGE),
        ("SUICIDE VBIED", AttackType.SUICIDE_VBIED),
    ],
)
def test_attack_aliases(text: str, expected: AttackType) -> None:
    assert parse_attack_type(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Private Citizens & Property", TargetType.CIVILIANS),
        ("site", TargetType.PROJECT_SITE),
        ("security_forces", TargetType.MILITARY),
        ("Airports & Aircraft", TargetType.AIRPORT),
        ("Government (Diplomatic)", TargetType.DIPLOMATIC),
        ("consulate", TargetType.CONSULATE),
    ],
)
def test_target_aliases(text: str, expected: TargetType) -> None:
    assert parse_target_type(text) is expected


def test_unknown_vocab_lists_accepted_values() -> None:
    with pytest.raises(InvalidInput, match="use one of: bombing, ied"):
        parse_attack_type("laser")


@given(st.sampled_from(list(AttackType)), st.sampled_from(list(AttackType)))
def test_compatibility_is_symmetric_and_reflexive(a: AttackType, b: AttackType) -> None:
    assert attack_types_compatible(a, b) == attack_types_compatible(b, a)
    assert attack_types_compatible(a, a)


def test_explosive_and_firearm_attacks_are_not_compatible() -> None:
    assert not attack_types_compatible(AttackType.SUICIDE_VBIED, AttackType.SHOOTING)
    assert attack_types_compatible(AttackType.IED, AttackType.BOMBING)


@given(st.integers(min_value=0, max_value=100_000))
def test_counts_round_trip(n: int) -> None:
    parser = RowParser(2)
    assert parser.count("killed", str(n)) == n
    assert parser.count("killed", f"{n}.0") == n
    assert not parser.errors


@pytest.mark.parametrize("bad", ["-1", "2.5", "abc", "nan", "inf"])
def test_bad_counts_are_errors(bad: str) -> None:
    parser = RowParser(7)
    assert parser.count("killed", bad) is None
    assert parser.errors[0].line == 7
    assert parser.errors[0].column == "killed"


def test_unknown_markers_are_none() -> None:
    parser = RowParser(1)
    assert parser.count("nkill", "-99") is None
    assert parser.count("nkill", "") is None
    assert not parser.errors


def test_gtd_style_dates() -> None:
    parser = RowParser(1)
    assert parser.ymd("d", "2008", "3", "0") == (date(2008, 3, 1), DatePrecision.MONTH)
    assert parser.ymd("d", "2009", "0", "0") == (date(2009, 1, 1), DatePrecision.YEAR)
    assert parser.ymd("d", "2015", "2", "30") is None
    assert "impossible date" in parser.errors[0].reason


def test_local_noon_keeps_the_local_date() -> None:
    when = local_to_utc(date(2024, 3, 26), None)
    assert when == datetime(2024, 3, 26, 7, 0, tzinfo=UTC)


def test_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": "1", "b": "2"}) == content_hash({"b": "2", "a": "1"})
    assert content_hash({"a": "1"}) != content_hash({"a": "2"})


def _fields(**kw: object) -> IncidentFields:
    base: dict[str, object] = {
        "occurred_at": datetime(2024, 3, 26, 7, tzinfo=UTC),
        "date_precision": DatePrecision.DAY,
        "attack_type": AttackType.SUICIDE_VBIED,
        "target_type": TargetType.CONVOY,
        "latitude": 34.93,
        "longitude": 72.87,
        "geo_precision": GeoPrecision.PLACE,
    }
    base.update(kw)
    return IncidentFields(**base)  # type: ignore[arg-type]


def _stored(f: IncidentFields) -> StoredIncident:
    return StoredIncident(
        uuid.uuid4(),
        f.occurred_at,
        f.date_precision,
        f.latitude,
        f.longitude,
        f.geo_precision,
        f.attack_type,
        f.target_type,
    )


def test_same_event_matches_with_reason() -> None:
    stored = _stored(_fields(attack_type=AttackType.BOMBING, latitude=34.95))
    match = find_match(_fields(), [stored], window_days=1, radius_km=25)
    assert match is not None
    assert match.incident_id == stored.id
    assert "km apart" in match.reason
    assert "attack types compatible (bombing ~ suicide_vbied)" in match.reason


@pytest.mark.parametrize(
    "other",
    [
        {"occurred_at": datetime(2024, 3, 29, 7, tzinfo=UTC)},  # three days later
        {"latitude": 33.5},  # 160 km away
        {"attack_type": AttackType.KIDNAPPING},  # incompatible
        {"date_precision": DatePrecision.MONTH},  # too vague to merge automatically
        {"geo_precision": GeoPrecision.PROVINCE},
    ],
)
def test_no_match(other: dict[str, object]) -> None:
    stored = _stored(_fields(**other))
    assert find_match(_fields(), [stored], window_days=1, radius_km=25) is None


def test_closest_candidate_wins() -> None:
    far = _stored(_fields(latitude=35.05))
    near = _stored(_fields(latitude=34.94))
    match = find_match(_fields(), [far, near], window_days=1, radius_km=25)
    assert match is not None
    assert match.incident_id == near.id


def test_merged_view_prefers_curated_and_finer() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    gtd = MergeInput(
        SourceKind.GTD,
        t0,
        _fields(
            killed=6,
            geo_precision=GeoPrecision.EXACT,
            latitude=34.9,
            tlp=TLP.GREEN,
            perpetrator="unknown",
            nationalities=["China"],
        ),
    )
    curated = MergeInput(
        SourceKind.NATIVE,
        t0 + timedelta(days=1),
        _fields(killed=5, perpetrator="TTP", tlp=TLP.AMBER, nationalities=["Chinese"]),
    )
    columns, conflicts = merged_columns([gtd, curated])
    assert columns["killed"] == 5
    assert columns["perpetrator"] == "TTP"
    assert columns["latitude"] == 34.9
    assert columns["geo_precision"] == "exact"
    assert columns["tlp"] == "AMBER"
    assert columns["nationalities"] == ["China", "Chinese"]
    assert "killed" in conflicts


def test_fields_json_round_trip() -> None:
    f = _fields(h3={4: 1, 6: 2}, nationalities=["Chinese"], tlp=TLP.RED)
    assert IncidentFields.from_json(f.to_json()) == f


def test_the_cell_cover_of_a_box_holds_the_stored_cell_of_every_point_in_it() -> None:
    """Map searches find the keys of a box through the resolution-4 cells of the 0.25-degree
    tiles it touches: every point of the box must have its stored cell among them, including
    boxes on tile edges and boxes of no width."""
    rng = np.random.default_rng(7)
    boxes = [(66.0, 24.5, 69.0, 27.5), (67.25, 30.0, 67.25, 30.5), (70.0, 33.75, 70.5, 34.0)]
    for _ in range(60):
        width, height = rng.uniform(0.0, 5.0, 2)
        lon, lat = rng.uniform(61.0, 72.0), rng.uniform(24.0, 31.0)
        boxes.append((lon, lat, lon + width, lat + height))
    for min_lon, min_lat, max_lon, max_lat in boxes:
        cover = query._h3_cover(min_lon, min_lat, max_lon, max_lat)
        assert cover is not None, (min_lon, min_lat, max_lon, max_lat)
        lats = np.concatenate([rng.uniform(min_lat, max_lat, 400), [min_lat, max_lat]])
        lons = np.concatenate([rng.uniform(min_lon, max_lon, 400), [max_lon, min_lon]])
        stored = set(cells_for_arrays(lats, lons, 4).tolist())
        assert stored <= set(cover), (min_lon, min_lat, max_lon, max_lat)
    assert query._h3_cover(60.0, 20.0, 70.0, 30.0) is None  # 100 square degrees: time index
