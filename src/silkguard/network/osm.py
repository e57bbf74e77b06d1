"""Import an OpenStreetMap extract (``.osm.pbf``) into a :class:`RoadGraph`.

What is kept, how one-way streets and speeds are read, and how the graph is compressed to
intersections is described in docs/network.md ("OSM import"). In short: drivable ``highway``
ways only; private, no-motor-vehicle, area, construction and ferry ways are dropped; edges run
between way endpoints and nodes shared by two or more ways, with the haversine length of the
way geometry in between.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import osmium

from silkguard.core.errors import InvalidInput
from silkguard.geo.distance import EARTH_RADIUS_KM
from silkguard.network.graph import ROAD_CLASSES, RoadGraph

__all__ = [
    "DEFAULT_SPEEDS_KMH",
    "HIGHWAY_CLASSES",
    "ImportSummary",
    "import_pbf",
    "read_pbf",
]

#: ``highway`` values kept, mapped to the :data:`ROAD_CLASSES` entry they count as.
HIGHWAY_CLASSES: Final[dict[str, str]] = {
    "motorway": "motorway",
    "motorway_link": "motorway",
    "trunk": "trunk",
    "trunk_link": "trunk",
    "primary": "primary",
    "primary_link": "primary",
    "secondary": "secondary",
    "secondary_link": "secondary",
    "tertiary": "tertiary",
    "tertiary_link": "tertiary",
    "unclassified": "unclassified",
    "road": "other",
    "residential": "residential",
    "living_street": "residential",
    "service": "service",
    "track": "track",
}

#: Default free-flow speeds, km/h, per ``highway`` value (links ~60% of their parent road).
DEFAULT_SPEEDS_KMH: Final[dict[str, float]] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 48.0,
    "primary": 65.0,
    "primary_link": 39.0,
    "secondary": 55.0,
    "secondary_link": 33.0,
    "tertiary": 45.0,
    "tertiary_link": 27.0,
    "unclassified": 35.0,
    "road": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "track": 15.0,
}

_NO_ACCESS: Final[frozenset[str]] = frozenset({"no", "private"})
_YES: Final[frozenset[str]] = frozenset({"yes", "1", "true"})
_MAXSPEED_RE: Final[re.Pattern[str]] = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")
#: A ``maxspeed`` outside this range (km/h) is treated as a tagging error and ignored.
MAXSPEED_RANGE_KMH: Final[tuple[float, float]] = (5.0, 150.0)
_MPH_TO_KMH: Final[float] = 1.609344
_CLASS_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(ROAD_CLASSES)}

_FIX_PBF = "pass an OpenStreetMap extract in PBF format, e.g. from download.geofabrik.de"


@dataclass
class _Ways:
    """Kept ways, flattened: node ids and coordinates of all ways back to back."""

    node_ids: list[int] = field(default_factory=list)
    lats: list[float] = field(default_factory=list)
    lons: list[float] = field(default_factory=list)
    way_len: list[int] = field(default_factory=list)
    speed: list[float] = field(default_factory=list)
    rclass: list[int] = field(default_factory=list)
    direction: list[int] = field(default_factory=list)  # 1 forward, -1 reverse, 0 both
    name: list[int] = field(default_factory=list)
    names: dict[str, int] = field(default_factory=dict)
    n_seen: int = 0
    n_bad_location: int = 0


class _Collector(osmium.SimpleHandler):
    def __init__(self, speeds: Mapping[str, float]) -> None:
        super().__init__()
        self.speeds = speeds
        self.ways = _Ways()

    def way(self, w: Any) -> None:
        tags = w.tags
        highway = tags.get("highway")
        if highway is None:
            return
        self.ways.n_seen += 1
        if not _keep(highway, tags):
            return
        coords: list[tuple[int, float, float]] = []
        for nd in w.nodes:
            loc = nd.location
            if not loc.valid():
                self.ways.n_bad_location += 1
                return
            coords.append((int(nd.ref), float(loc.lat), float(loc.lon)))
        if len(coords) < 2:
            return
        ways = self.ways
        for ref, lat, lon in coords:
            ways.node_ids.append(ref)
            ways.lats.append(lat)
            ways.lons.append(lon)
        ways.way_len.append(len(coords))
        ways.speed.append(_speed(highway, tags, self.speeds))
        ways.rclass.append(_CLASS_INDEX[HIGHWAY_CLASSES[highway]])
        ways.direction.append(_direction(highway, tags))
        name = tags.get("name") or tags.get("ref")
        if name:
            ways.name.append(ways.names.setdefault(name, len(ways.names)))
        else:
            ways.name.append(-1)


def _keep(highway: str, tags: Any) -> bool:
    """Whether a ``highway`` way is drivable by a motor vehicle (see docs/network.md)."""
    return not (
        highway not in HIGHWAY_CLASSES
        or tags.get("access") in _NO_ACCESS
        or tags.get("vehicle") in _NO_ACCESS
        or tags.get("motor_vehicle") in _NO_ACCESS
        or tags.get("motorcar") in _NO_ACCESS
        or tags.get("area") == "yes"
        or tags.get("route") == "ferry"
        or "construction" in tags
        or "proposed" in tags
    )


def _direction(highway: str, tags: Any) -> int:
    """1 forward only, -1 reverse only, 0 both ways."""
    oneway = tags.get("oneway")
    if oneway in _YES:
        return 1
    if oneway == "-1":
        return -1
    if oneway == "no":
        return 0
    if highway == "motorway" or tags.get("junction") in {"roundabout", "circular"}:
        return 1
    return 0


def parse_maxspeed(value: str | None) -> float | None:
    """A ``maxspeed`` tag in km/h, or None if absent, symbolic or outside the sane range.

    ``"60"``, ``"60 km/h"`` and ``"40 mph"`` are understood; for ``"60;80"`` the first
    value counts.
    """
    if not value:
        return None
    match = _MAXSPEED_RE.match(value.split(";")[0])
    if match is None:
        return None
    kmh = float(match.group(1))
    if match.group(2) == "mph":
        kmh *= _MPH_TO_KMH
    lo, hi = MAXSPEED_RANGE_KMH
    return kmh if lo <= kmh <= hi else None


def _speed(highway: str, tags: Any, speeds: Mapping[str, float]) -> float:
    tagged = parse_maxspeed(tags.get("maxspeed"))
    if tagged is not None:
        return tagged
    if highway in speeds:
        return float(speeds[highway])
    if highway.endswith("_link") and highway[:-5] in speeds:
        return 0.6 * float(speeds[highway[:-5]])
    return DEFAULT_SPEEDS_KMH[highway]


def _merged_speeds(speeds: Mapping[str, float] | None) -> dict[str, float]:
    if not speeds:
        return dict(DEFAULT_SPEEDS_KMH)
    for key, value in speeds.items():
        if key not in HIGHWAY_CLASSES:
            raise InvalidInput(
                f"speeds has an unknown highway value {key!r}; accepted are "
                f"{', '.join(HIGHWAY_CLASSES)}"
            )
        if not (math.isfinite(value) and value > 0):
            raise InvalidInput(f"speeds[{key!r}] = {value!r}; give a speed in km/h above 0")
    merged = {k: v for k, v in DEFAULT_SPEEDS_KMH.items() if not k.endswith("_link")}
    merged.update({k: float(v) for k, v in speeds.items()})
    for key in DEFAULT_SPEEDS_KMH:
        if key.endswith("_link") and key not in merged:
            merged[key] = 0.6 * merged[key[:-5]]
    return merged


def _haversine_m(
    lat1: npt.NDArray[np.float64],
    lon1: npt.NDArray[np.float64],
    lat2: npt.NDArray[np.float64],
    lon2: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    result: npt.NDArray[np.float64] = (
        2000.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))
    )
    return result


def _build(ways: _Ways) -> RoadGraph:
    """Compress the flattened ways to edges between intersections and build the graph."""
    ids = np.asarray(ways.node_ids, dtype=np.int64)
    lat = np.asarray(ways.lats, dtype=np.float64)
    lon = np.asarray(ways.lons, dtype=np.float64)
    way_len = np.asarray(ways.way_len, dtype=np.int64)
    n_ways = way_len.size
    way_of = np.repeat(np.arange(n_ways), way_len)
    starts = np.concatenate([[0], np.cumsum(way_len)[:-1]])
    ends = starts + way_len - 1

    # a node is kept if it ends a way or occurs more than once among all kept ways
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    kept = counts[inverse] >= 2
    kept[starts] = True
    kept[ends] = True

    # cumulative length along the concatenation; differences within one way are way lengths
    seg = np.zeros(ids.size, dtype=np.float64)
    if ids.size > 1:
        seg[1:] = _haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    seg[starts] = 0.0
    cum = np.cumsum(seg)

    pos = np.flatnonzero(kept)
    a, b = pos[:-1], pos[1:]
    same_way = way_of[a] == way_of[b]
    a, b = a[same_way], b[same_way]
    length = cum[b] - cum[a]
    w = way_of[a]

    # node numbering: kept OSM nodes in increasing id order
    kept_ids, first = np.unique(ids[pos], return_index=True)
    node_lat = lat[pos][first]
    node_lon = lon[pos][first]
    ta = np.searchsorted(kept_ids, ids[a])
    tb = np.searchsorted(kept_ids, ids[b])
    not_loop = ta != tb  # a closed way with no other junction would give a self-loop
    ta, tb, length, w = ta[not_loop], tb[not_loop], length[not_loop], w[not_loop]

    direction = np.asarray(ways.direction, dtype=np.int8)[w]
    fwd = direction >= 0
    rev = direction <= 0
    tails = np.concatenate([ta[fwd], tb[rev]])
    heads = np.concatenate([tb[fwd], ta[rev]])
    we = np.concatenate([w[fwd], w[rev]])
    lengths = np.concatenate([length[fwd], length[rev]])
    # keep each way's edges together in way order: sort by (way, position)
    order = np.lexsort((np.concatenate([np.flatnonzero(fwd), np.flatnonzero(rev)]), we))
    names = sorted(ways.names, key=ways.names.__getitem__)
    return RoadGraph.from_edges(
        node_lat,
        node_lon,
        tails[order],
        heads[order],
        lengths[order],
        np.asarray(ways.speed, dtype=np.float32)[we[order]],
        np.asarray(ways.rclass, dtype=np.uint8)[we[order]],
        np.asarray(ways.name, dtype=np.int32)[we[order]],
        names,
    )


def read_pbf(path: str | Path, *, speeds: Mapping[str, float] | None = None) -> RoadGraph:
    """Read the drivable road network of an OSM PBF extract.

    Parameters
    ----------
    path
        An ``.osm.pbf`` file.
    speeds
        Free-flow speeds in km/h per ``highway`` value, overriding :data:`DEFAULT_SPEEDS_KMH`
        (a ``*_link`` not given runs at 60% of its parent). A sane ``maxspeed`` tag on a way
        wins over both.

    Returns
    -------
    RoadGraph
        Nodes are way endpoints and intersections, edges the road between them.

    Raises
    ------
    InvalidInput
        If the file is missing, unreadable, not PBF, or holds no drivable way.
    """
    src = Path(path)
    merged = _merged_speeds(speeds)
    if not src.is_file():
        raise InvalidInput(f"OSM file {src} does not exist; {_FIX_PBF}")
    if src.stat().st_size == 0:
        raise InvalidInput(f"OSM file {src} is empty; {_FIX_PBF}")
    if not src.name.endswith(".pbf"):
        raise InvalidInput(f"OSM file {src} does not end in .pbf; {_FIX_PBF}")
    collector = _Collector(merged)
    try:
        collector.apply_file(str(src), locations=True)
    except RuntimeError as exc:
        raise InvalidInput(f"cannot read {src} as an OSM PBF file ({exc}); {_FIX_PBF}") from exc
    ways = collector.ways
    if not ways.way_len:
        raise InvalidInput(
            f"{src} holds no drivable road ({ways.n_seen} highway way(s) seen, "
            f"{ways.n_bad_location} without node locations); pass an extract that covers "
            "roads, with its nodes (not a ways-only or filtered file)"
        )
    return _build(ways)


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_pbf` produced."""

    source: Path
    destination: Path
    n_nodes: int
    n_edges: int
    km_by_class: dict[str, float]
    seconds: float
    memory_bytes: int


def import_pbf(
    src: str | Path, dst: str | Path, *, speeds: Mapping[str, float] | None = None
) -> ImportSummary:
    """Read an OSM PBF extract and save its road graph as ``.npz``.

    ``km_by_class`` counts directed edge length, so a two-way road counts twice.
    """
    started = time.perf_counter()
    graph = read_pbf(src, speeds=speeds)
    out = graph.save(dst)
    km = np.bincount(graph.road_class, weights=graph.length_m, minlength=len(ROAD_CLASSES))
    return ImportSummary(
        source=Path(src),
        destination=out,
        n_nodes=graph.n_nodes,
        n_edges=graph.n_edges,
        km_by_class={c: float(km[i]) / 1000.0 for i, c in enumerate(ROAD_CLASSES) if km[i] > 0},
        seconds=time.perf_counter() - started,
        memory_bytes=graph.memory_bytes,
    )
