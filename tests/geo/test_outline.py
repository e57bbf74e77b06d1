"""The hand-traced outline of Pakistan that clips the default risk grid."""

from __future__ import annotations

import csv
from pathlib import Path

from shapely import contains_xy
from shapely.geometry import Polygon

from silkguard.geo._gazetteer_data import read_districts, read_geonames_places
from silkguard.geo.outline import PAKISTAN_OUTLINE_LATLON, pakistan_outline
from silkguard.risk.projection import PAKISTAN_PROJECTION

OFFICIAL_AREA_KM2 = 881_913  # Pakistan incl. Gilgit-Baltistan and Azad Kashmir


def test_outline_is_a_valid_ring() -> None:
    outline = pakistan_outline()
    assert outline.is_valid
    assert len(PAKISTAN_OUTLINE_LATLON) >= 50
    assert outline.bounds[0] > 60.8
    assert outline.bounds[2] < 77.9
    assert outline.bounds[1] > 23.5
    assert outline.bounds[3] < 37.2


def test_outline_area_is_within_three_percent_of_the_official_figure() -> None:
    lat = [p[0] for p in PAKISTAN_OUTLINE_LATLON]
    lon = [p[1] for p in PAKISTAN_OUTLINE_LATLON]
    x, y = PAKISTAN_PROJECTION.forward(lat, lon)
    area = Polygon(zip(x, y, strict=True)).area
    assert abs(area - OFFICIAL_AREA_KM2) / OFFICIAL_AREA_KM2 < 0.03, area


def test_every_shipped_place_and_district_headquarters_is_inside() -> None:
    outline = pakistan_outline()
    places = read_geonames_places()
    outside = [p.name for p in places if not contains_xy(outline, p.longitude, p.latitude)]
    assert outside == [], outside
    hqs = read_districts()
    outside = [d.district for d in hqs if not contains_xy(outline, d.longitude, d.latitude)]
    assert outside == [], outside


def test_every_located_incident_of_the_shared_history_is_inside(shared_data: Path) -> None:
    with (shared_data / "pk_incidents_2007_2015.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["latitude"] and r["longitude"]]
    assert len(rows) > 400
    outline = pakistan_outline()
    outside = [
        r["id"]
        for r in rows
        if not contains_xy(outline, float(r["longitude"]), float(r["latitude"]))
    ]
    assert outside == [], outside


def test_foreign_cities_are_outside() -> None:
    outline = pakistan_outline()
    for lat, lon in [(34.53, 69.17), (28.61, 77.21), (29.61, 60.86), (39.47, 75.99)]:
        assert not contains_xy(outline, lon, lat), (lat, lon)
