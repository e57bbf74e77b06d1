"""The offline gazetteer: names, aliases, misspellings, reverse lookups, and the shared
incident tables as a real-world check."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkguard.core.errors import InvalidInput
from silkguard.geo._gazetteer_data import (
    GEONAMES_COLUMNS,
    PROVINCES,
    geonames_rows_from_package,
    read_districts,
    read_provinces,
    read_supplement,
)
from silkguard.geo._names import name_pieces, normalize_name
from silkguard.geo.distance import haversine_km
from silkguard.geo.gazetteer import Gazetteer, load_gazetteer

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DATA = Path(__file__).resolve().parents[2] / "src" / "silkguard" / "geo" / "data"
# Pakistan's bounding box with a little margin, degrees
PK_LAT = (23.5, 37.2)
PK_LON = (60.8, 77.9)


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


def _shared_rows(name: str) -> list[dict[str, str]]:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(
            f"{path} is missing; these tests need ../shared/data checked out beside the "
            "repository (it holds the incident tables the gazetteer is checked against)",
            pytrace=False,
        )
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("D.I. Khan", "di khan"),
        ("  Khushāb ", "khushab"),
        ("Khairpur Mir\u2019s", "khairpur mirs"),
        ("Khyber-Pakhtunkhwa", "khyber pakhtunkhwa"),
        ("AJ&K", "aj and k"),
    ],
)
def test_normalize_name(text: str, expected: str) -> None:
    assert normalize_name(text) == expected


@given(st.text(max_size=40))
def test_normalize_name_is_idempotent(text: str) -> None:
    once = normalize_name(text)
    assert normalize_name(once) == once


def test_name_pieces_put_the_current_name_first() -> None:
    assert name_pieces("Lasbela (now Hub)")[:2] == ("lasbela now hub", "hub")
    assert name_pieces("Khazana, outskirts of Peshawar")[1:] == ("khazana", "peshawar")
    assert "landi kotal" in name_pieces("Landi Kotal bazaar")


# -- provinces and districts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["KPK", "NWFP", "N.W.F.P.", "Khyber Pakhtunkhwa", "khyber-pakhtunkhwa", "FATA", "KP"]
)
def test_khyber_pakhtunkhwa_aliases(gaz: Gazetteer, name: str) -> None:
    assert gaz.normalize_province(name) == "Khyber Pakhtunkhwa"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Baluchistan", "Balochistan"),
        ("balochistan province", "Balochistan"),
        ("ICT", "Islamabad Capital Territory"),
        ("Federal Capital", "Islamabad Capital Territory"),
        ("Northern Areas", "Gilgit-Baltistan"),
        ("GB", "Gilgit-Baltistan"),
        ("AJ&K", "Azad Jammu and Kashmir"),
        ("Azad Kashmir", "Azad Jammu and Kashmir"),
        ("Sind", "Sindh"),
        ("Sindhh", "Sindh"),
        ("Texas", None),
        ("Khyber", None),  # a district, not the province
        ("", None),
    ],
)
def test_normalize_province(gaz: Gazetteer, name: str, expected: str | None) -> None:
    assert gaz.normalize_province(name) == expected


def test_canonical_province_names_are_fixed_points(gaz: Gazetteer) -> None:
    assert [gaz.normalize_province(p) for p in PROVINCES] == list(PROVINCES)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("D.I. Khan", ("Dera Ismail Khan", "Khyber Pakhtunkhwa")),
        ("DI Khan", ("Dera Ismail Khan", "Khyber Pakhtunkhwa")),
        ("D I Khan", ("Dera Ismail Khan", "Khyber Pakhtunkhwa")),
        ("Dera Ismail Khan District", ("Dera Ismail Khan", "Khyber Pakhtunkhwa")),
        ("D.G. Khan", ("Dera Ghazi Khan", "Punjab")),
        ("Lasbela (now Hub)", ("Hub", "Balochistan")),
        ("Lasbela", ("Lasbela", "Balochistan")),
        ("Karachi South", ("Karachi", "Sindh")),
        ("Keamari", ("Karachi", "Sindh")),
        ("Kurram Agency", ("Kurram", "Khyber Pakhtunkhwa")),
        ("Frontier Region Kohat", ("Kohat", "Khyber Pakhtunkhwa")),
        ("Nawabshah", ("Shaheed Benazirabad", "Sindh")),
        ("Bolan", ("Kachhi", "Balochistan")),
        ("Turbat", ("Kech", "Balochistan")),
        ("Islamabad", ("Islamabad", "Islamabad Capital Territory")),
        ("Mastungg", ("Mastung", "Balochistan")),
        ("FATA", None),
        ("Azad Kashmir", None),
        ("Springfield", None),
    ],
)
def test_normalize_district(gaz: Gazetteer, name: str, expected: tuple[str, str] | None) -> None:
    assert gaz.normalize_district(name) == expected


def test_every_district_alias_leads_back_to_its_district(gaz: Gazetteer) -> None:
    for row in read_districts():
        for name in (row.district, *row.aliases):
            assert gaz.normalize_district(name, row.province) == (row.district, row.province), name


def test_shipped_tables_are_consistent() -> None:
    districts = read_districts()
    names = [d.district for d in districts]
    assert len(names) == len(set(names))
    assert {d.province for d in districts} == set(PROVINCES)
    assert [p.province for p in read_provinces()] == list(PROVINCES)
    points = [(p.latitude, p.longitude, p.name) for p in read_supplement()]
    points += [(d.latitude, d.longitude, d.district) for d in districts]
    points += [(p.latitude, p.longitude, p.province) for p in read_provinces()]
    for lat, lon, name in points:
        assert PK_LAT[0] <= lat <= PK_LAT[1], name
        assert PK_LON[0] <= lon <= PK_LON[1], name
    assert {p.district for p in read_supplement()} <= set(names)


# -- forward -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "province"),
    [
        ("Besham", "Khyber Pakhtunkhwa"),
        ("Dasu", "Khyber Pakhtunkhwa"),
        ("Thakot", "Khyber Pakhtunkhwa"),
        ("Sost", "Gilgit-Baltistan"),
        ("Hub", "Balochistan"),
        ("Port Qasim", "Sindh"),
        ("Karot", "Punjab"),
        ("Suki Kinari", "Khyber Pakhtunkhwa"),
        ("Islamkot", "Sindh"),
        ("Chilas", "Gilgit-Baltistan"),
        ("Gwadar Port", "Balochistan"),
        ("Khunjerab Pass", "Gilgit-Baltistan"),
        ("Nokkundi", "Balochistan"),
    ],
)
def test_corridor_places(gaz: Gazetteer, name: str, province: str) -> None:
    best = gaz.forward(name)[0]
    assert (best.kind, best.province, best.score) == ("place", province, 100.0)


@pytest.mark.parametrize(
    ("typo", "expected"), [("Peshwar", "Peshawar"), ("Queta", "Quetta"), ("Gawadar", "Gwadar")]
)
def test_misspellings(gaz: Gazetteer, typo: str, expected: str) -> None:
    best = gaz.forward(typo)[0]
    assert best.name == expected
    assert 80.0 <= best.score < 100.0


def test_provinces_and_districts_are_found_by_name(gaz: Gazetteer) -> None:
    assert gaz.forward("Balochistan")[0].kind == "province"
    kech = gaz.forward("Kech")[0]
    assert (kech.name, kech.kind, kech.province) == ("Kech", "district", "Balochistan")
    assert gaz.forward("Quetta")[0].kind == "place"
    assert gaz.forward("Quetta district")[0].kind == "district"


def test_supplement_corrects_a_misplaced_geonames_alias(gaz: Gazetteer) -> None:
    best = gaz.forward("Hasan Abdal")[0]
    assert haversine_km(best.latitude, best.longitude, 33.82, 72.69) < 5.0


def test_area_hints_filter(gaz: Gazetteer) -> None:
    found = gaz.forward("Hyderabad", province="Sindh", limit=10, min_score=60.0)
    assert found
    assert {c.province for c in found} == {"Sindh"}
    in_peshawar = gaz.forward("Peshawar", district="Peshawar")
    assert all(c.district == "Peshawar" for c in in_peshawar)


def test_unknown_hint_is_invalid_input(gaz: Gazetteer) -> None:
    with pytest.raises(InvalidInput, match="province 'Ontario' is not recognised"):
        gaz.forward("Quetta", province="Ontario")


def test_empty_name_finds_nothing(gaz: Gazetteer) -> None:
    assert gaz.forward("  ") == []


# -- reverse -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "province", "district"),
    [
        (24.86, 67.01, "Sindh", "Karachi"),
        (30.18, 66.99, "Balochistan", "Quetta"),
        (34.01, 71.58, "Khyber Pakhtunkhwa", "Peshawar"),
        (25.03, 66.89, "Balochistan", "Hub"),
        (33.70, 73.05, "Islamabad Capital Territory", "Islamabad"),
    ],
)
def test_reverse(gaz: Gazetteer, lat: float, lon: float, province: str, district: str) -> None:
    area = gaz.reverse(lat, lon)
    assert (area.province, area.district) == (province, district)
    assert area.distance_km < 10.0


def test_reverse_far_from_any_headquarters_names_no_district(gaz: Gazetteer) -> None:
    area = gaz.reverse(22.0, 64.0)  # the Arabian Sea
    assert area.district is None
    assert area.distance_km > 150.0


def test_every_headquarters_and_province_point_reverses_to_itself(gaz: Gazetteer) -> None:
    for d in read_districts():
        area = gaz.reverse(d.latitude, d.longitude)
        assert (area.province, area.district) == (d.province, d.district)
    for p in read_provinces():
        assert gaz.reverse(p.latitude, p.longitude).province == p.province


@given(
    st.floats(min_value=PK_LAT[0], max_value=PK_LAT[1]),
    st.floats(min_value=PK_LON[0], max_value=PK_LON[1]),
)
def test_reverse_always_answers(lat: float, lon: float) -> None:
    area = load_gazetteer().reverse(lat, lon)
    assert area.province in PROVINCES
    assert area.distance_km >= 0.0


def test_reverse_refuses_bad_coordinates(gaz: Gazetteer) -> None:
    with pytest.raises(InvalidInput, match="swapped"):
        gaz.reverse(167.01, 24.86)


# -- geocode -------------------------------------------------------------------------------------


def test_geocode_place_in_a_description(gaz: Gazetteer) -> None:
    got = gaz.geocode("Khazana, outskirts of Peshawar", "Peshawar", "Khyber Pakhtunkhwa")
    assert got is not None
    assert (got.precision, got.place, got.district) == ("place", "Peshawar", "Peshawar")


def test_geocode_rejects_a_namesake_far_from_the_district(gaz: Gazetteer) -> None:
    got = gaz.geocode("Karimabad", "Karachi", "Sindh")  # not the Karimabad in Hunza
    assert got is not None
    assert (got.precision, got.district, got.province) == ("district", "Karachi", "Sindh")


def test_geocode_uses_a_district_named_in_the_place(gaz: Gazetteer) -> None:
    got = gaz.geocode("Karimabad, Karachi", None, None)
    assert got is not None
    assert (got.place, got.province) == ("Karachi", "Sindh")


def test_geocode_falls_back_to_district_then_province(gaz: Gazetteer) -> None:
    district = gaz.geocode("Gawash area (CPEC-route road)", "Kharan", "Balochistan")
    assert district is not None
    assert (district.precision, district.place, district.district) == ("district", None, "Kharan")
    province = gaz.geocode(None, None, "NWFP")
    assert province is not None
    assert (province.precision, province.province) == ("province", "Khyber Pakhtunkhwa")
    from_district_column = gaz.geocode("Somewhere unknown", "FATA", None)
    assert from_district_column is not None
    assert from_district_column.precision == "province"


def test_geocode_gives_up_on_nothing_known(gaz: Gazetteer) -> None:
    assert gaz.geocode(None, None, None) is None
    assert gaz.geocode("Atlantis", None, None) is None


def test_geocode_is_cached(gaz: Gazetteer) -> None:
    first = gaz.geocode("Hub main bazaar", "Lasbela (now Hub)", "Balochistan")
    assert first is gaz.geocode("Hub main bazaar", "Lasbela (now Hub)", "Balochistan")


# -- the shared incident tables ------------------------------------------------------------------


@pytest.mark.parametrize("table", ["pk_incidents_2007_2015.csv", "cpec_incidents.csv"])
def test_every_admin_value_of_the_incident_tables_resolves(gaz: Gazetteer, table: str) -> None:
    rows = _shared_rows(table)
    for province in {r["province"] for r in rows}:
        assert gaz.normalize_province(province) in PROVINCES, province
    for district in {r["district"] for r in rows}:
        # a few rows give a whole region ("FATA", "Azad Kashmir") in the district column
        resolved = gaz.normalize_district(district) or gaz.normalize_province(district)
        assert resolved is not None, district


def test_geocoding_incidents_lands_near_their_coordinates(gaz: Gazetteer) -> None:
    rows = [r for r in _shared_rows("pk_incidents_2007_2015.csv") if r["geo_precision"] == "place"]
    near = 0
    for r in rows:
        got = gaz.geocode(r["place"] or None, r["district"] or None, r["province"] or None)
        if got is not None and (
            haversine_km(got.latitude, got.longitude, float(r["latitude"]), float(r["longitude"]))
            <= 60.0
        ):
            near += 1
    share = near / len(rows)
    assert share >= 0.90, f"only {near}/{len(rows)} ({share:.1%}) geocoded within 60 km"


@pytest.mark.slow
def test_geonames_snapshot_matches_the_installed_package() -> None:
    with (DATA / "pk_places_geonames.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == GEONAMES_COLUMNS
        shipped = list(reader)
    assert shipped == geonames_rows_from_package()
