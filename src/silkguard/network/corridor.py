"""The shipped, approximate CPEC road network (``data/corridor_roads.json``).

Main corridor roads as polylines through towns with approximate coordinates and a few
waypoints: the Karakoram Highway (N-35), the Grand Trunk Road (N-5), motorways M-1, M-2, M-8 and
M-9, N-85, N-25 (to Kuchlak), the N-50 of the western alignment (Kuchlak-Zhob-Dera Ismail
Khan), the Makran Coastal Highway (N-10) and Gwadar's East Bay Expressway. Every
road is two-way. A town named on several roads is one node, which is how roads join. Edge
length is the haversine distance times the road's winding factor (per road in the JSON,
calibrated against published road lengths; 1.05 by default).

It is good for demos, tests and corridor-scale risk routing, **not** for navigation: real use
imports an OpenStreetMap extract (:func:`silkguard.network.osm.import_pbf`). See
docs/network.md.
"""

from __future__ import annotations

import difflib
import itertools
import json
from functools import cache
from importlib import resources
from typing import Any, Final

import numpy as np

from silkguard.core.errors import InvalidInput
from silkguard.geo.distance import haversine_km
from silkguard.network.graph import ROAD_CLASSES, RoadGraph

__all__ = [
    "CORRIDOR_SPEEDS_KMH",
    "corridor_graph",
    "corridor_roads",
    "roads_geojson",
    "town_names",
    "town_node",
]

#: Free-flow speed per road class on the shipped network, km/h (mountain roads are slowed by
#: the longer winding length, not by a lower speed).
CORRIDOR_SPEEDS_KMH: Final[dict[str, float]] = {
    "motorway": 110.0,
    "trunk": 60.0,
    "primary": 50.0,
    "secondary": 45.0,
    "tertiary": 40.0,
}


@cache
def corridor_roads() -> dict[str, Any]:
    """The parsed ``corridor_roads.json`` (towns and roads)."""
    text = resources.files("silkguard.network").joinpath("data", "corridor_roads.json")
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data


@cache
def roads_geojson() -> dict[str, Any]:
    """The shipped roads as a GeoJSON FeatureCollection of LineStrings (``[lon, lat]``), one
    feature per road with its id, name and class, and the towns as Points: the corridor layer
    of the dashboard map and the situation report."""
    data = corridor_roads()
    towns: dict[str, list[float]] = data["towns"]
    features: list[dict[str, Any]] = []
    for road in data["roads"]:
        coords = []
        for point in road["points"]:
            lat, lon = towns[point] if isinstance(point, str) else point
            coords.append([float(lon), float(lat)])
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "road",
                    "id": road["id"],
                    "name": road["name"],
                    "class": road["class"],
                },
                "geometry": {"type": "LineString", "coordinates": coords},
            }
        )
    features.extend(
        {
            "type": "Feature",
            "properties": {"kind": "town", "name": name},
            "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
        }
        for name, (lat, lon) in towns.items()
    )
    return {"type": "FeatureCollection", "about": data["about"], "features": features}


@cache
def _town_index() -> dict[str, int]:
    """Node index per town name; towns come first, in file order."""
    return {name: i for i, name in enumerate(corridor_roads()["towns"])}


def town_names() -> tuple[str, ...]:
    """Names of the towns of the shipped network, in node order (town ``i`` is node ``i``)."""
    return tuple(_town_index())


@cache
def corridor_graph() -> RoadGraph:
    """The shipped corridor network as a :class:`RoadGraph` (built once, then cached).

    Nodes ``0..len(town_names()) - 1`` are the towns, in file order; waypoints follow. Each
    road segment gives two edges (one per direction) with the road's name, class and speed.
    """
    data = corridor_roads()
    towns: dict[str, list[float]] = data["towns"]
    default_winding = float(data.get("winding_default", 1.05))
    lats = [float(c[0]) for c in towns.values()]
    lons = [float(c[1]) for c in towns.values()]
    index = _town_index()
    tails: list[int] = []
    heads: list[int] = []
    length_m: list[float] = []
    speed: list[float] = []
    rclass: list[int] = []
    name_idx: list[int] = []
    names: list[str] = []
    for road in data["roads"]:
        winding = float(road.get("winding", default_winding))
        cls_name = road["class"]
        cls = ROAD_CLASSES.index(cls_name)
        names.append(road["name"])
        nodes: list[int] = []
        for point in road["points"]:
            if isinstance(point, str):
                if point not in index:
                    raise InvalidInput(
                        f"corridor_roads.json: road {road['id']} names town {point!r}, which "
                        "is not under 'towns'; add it there or fix the spelling"
                    )
                nodes.append(index[point])
            else:
                lats.append(float(point[0]))
                lons.append(float(point[1]))
                nodes.append(len(lats) - 1)
        for a, b in itertools.pairwise(nodes):
            metres = 1000.0 * winding * haversine_km(lats[a], lons[a], lats[b], lons[b])
            for t, h in ((a, b), (b, a)):
                tails.append(t)
                heads.append(h)
                length_m.append(metres)
                speed.append(CORRIDOR_SPEEDS_KMH[cls_name])
                rclass.append(cls)
                name_idx.append(len(names) - 1)
    graph = RoadGraph.from_edges(
        np.asarray(lats),
        np.asarray(lons),
        np.asarray(tails, dtype=np.int64),
        np.asarray(heads, dtype=np.int64),
        np.asarray(length_m),
        np.asarray(speed, dtype=np.float32),
        np.asarray(rclass, dtype=np.uint8),
        np.asarray(name_idx, dtype=np.int32),
        names,
    )
    for arr in (
        graph.node_lat,
        graph.node_lon,
        graph.indptr,
        graph.heads,
        graph.length_m,
        graph.speed_kmh,
        graph.road_class,
        graph.name_idx,
    ):
        arr.flags.writeable = False  # shared by every caller of the cache
    return graph


def town_node(name: str) -> int:
    """Node index of a town of the shipped network (case- and space-insensitive).

    Raises
    ------
    InvalidInput
        If no town has that name; the message lists close names.
    """
    wanted = " ".join(name.split()).casefold()
    lookup = {town.casefold(): i for town, i in _town_index().items()}
    if wanted in lookup:
        return lookup[wanted]
    by_folded = {town.casefold(): town for town in _town_index()}
    close = [
        by_folded[t] for t in difflib.get_close_matches(wanted, list(by_folded), n=5, cutoff=0.6)
    ]
    close += [t for t in by_folded.values() if wanted and wanted in t.casefold() and t not in close]
    hint = (
        f"did you mean {', '.join(close)}?"
        if close
        else f"known towns include {', '.join(list(_town_index())[:8])}, ..."
    )
    raise InvalidInput(f"no town named {name!r} on the corridor network; {hint}")
