"""Build ``src/silkguard/geo/data/pk_outlines.json``: Pakistan's border and approximate
district and province areas for the dashboard map and the situation report.

The border comes from Natural Earth (public domain) as redistributed in the npm package
``world-atlas`` (``countries-50m.json``, TopoJSON). Official district boundaries are not
available offline, so each district's area is approximated by the Voronoi cell of its seat
(``pk_districts.csv``) clipped to the border, and a province is the union of its districts'
cells. The output says so in its ``about`` field and the map legend repeats it.

Usage: python scripts/make_outlines.py PATH/TO/countries-50m.json
(``npm install world-atlas@2.0.2`` in a scratch directory gives that file).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Point, Polygon, mapping
from shapely.ops import unary_union

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "silkguard" / "geo" / "data"
# Natural Earth draws the Line of Control area apart from Pakistan's polygon; these
# administered areas (Gilgit-Baltistan, Azad Jammu and Kashmir) are added from the hull of
# their district seats, buffered, so the map covers every district in pk_districts.csv.
ADMINISTERED = ("Gilgit-Baltistan", "Azad Jammu and Kashmir")


def _decode_arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], refs: list[int]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for ref in refs:
        arc = arcs[ref] if ref >= 0 else list(reversed(arcs[~ref]))
        out.extend(arc if not out else arc[1:])
    return out


def country(topo: dict[str, Any], name: str) -> Any:
    arcs = _decode_arcs(topo)
    for geom in topo["objects"]["countries"]["geometries"]:
        if geom["properties"]["name"] != name:
            continue
        polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        return unary_union(
            [Polygon(_ring(arcs, p[0]), [_ring(arcs, h) for h in p[1:]]) for p in polys]
        )
    msg = f"{name} is not in the TopoJSON file"
    raise SystemExit(msg)


def main(path: str) -> None:
    topo = json.loads(Path(path).read_text(encoding="utf-8"))
    with (DATA / "pk_districts.csv").open(encoding="utf-8") as fh:
        districts = list(csv.DictReader(fh))
    seats = [Point(float(d["longitude"]), float(d["latitude"])) for d in districts]
    border = country(topo, "Pakistan")
    for province in ADMINISTERED:
        pts = [s for s, d in zip(seats, districts, strict=True) if d["province"] == province]
        border = unary_union([border, MultiPoint(pts).convex_hull.buffer(0.35)])
    border = border.simplify(0.01).buffer(0)
    cells = shapely.voronoi_polygons(MultiPoint(seats), extend_to=border.envelope.buffer(2))
    by_seat = {}
    for cell in cells.geoms:
        for k, seat in enumerate(seats):
            if cell.contains(seat):
                by_seat[k] = cell.intersection(border)
    features = []
    for k, d in enumerate(districts):
        geom = by_seat[k].simplify(0.01)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "district",
                    "name": d["district"],
                    "province": d["province"],
                },
                "geometry": _rounded(mapping(geom)),
            }
        )
    for province in sorted({d["province"] for d in districts}):
        parts = [by_seat[k] for k, d in enumerate(districts) if d["province"] == province]
        geom = unary_union(parts).simplify(0.02)
        features.append(
            {
                "type": "Feature",
                "properties": {"kind": "province", "name": province},
                "geometry": _rounded(mapping(geom)),
            }
        )
    features.append(
        {
            "type": "Feature",
            "properties": {"kind": "country", "name": "Pakistan"},
            "geometry": _rounded(mapping(border)),
        }
    )
    out = {
        "type": "FeatureCollection",
        "about": (
            "Pakistan's border from Natural Earth 1:50m (public domain, via world-atlas 2.0.2) "
            "with the administered areas of Gilgit-Baltistan and Azad Jammu and Kashmir added "
            "from their district seats. District areas are APPROXIMATE: the Voronoi cell of "
            "each district seat clipped to the border; provinces are unions of those cells. "
            "Not official boundaries. Made by scripts/make_outlines.py."
        ),
        "features": features,
    }
    target = DATA / "pk_outlines.json"
    target.write_text(json.dumps(out, separators=(",", ":")), encoding="utf-8")
    print(f"{target}: {len(features)} features, {target.stat().st_size // 1024} KiB")  # noqa: T201


def _rounded(geom: Any) -> Any:
    return json.loads(json.dumps(geom), parse_float=lambda s: round(float(s), 3))


if __name__ == "__main__":
    main(sys.argv[1])
