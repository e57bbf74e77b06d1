"""The report's pictures as PNG bytes: the incident map and four charts.

Drawn with :class:`matplotlib.figure.Figure` and the Agg canvas directly, so no pyplot state
is shared between threads and no display is needed. The map's outlines and roads are the
package's shipped GeoJSON (approximate, for drawing only); nothing is fetched."""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from silkguard.geo.outlines import outlines_geojson
from silkguard.network.corridor import roads_geojson
from silkguard.reports.sitrep import Sitrep

__all__ = ["Chart", "charts"]

DPI = 130
_RED = "#b22222"
_ORANGE = "#e08a2e"
_BLUE = "#35608f"
_GREY = "#6b6b6b"
_MAP_PAD_DEG = 0.6


@dataclass(frozen=True)
class Chart:
    """One picture: the heading of its section, the PNG, and words for those who cannot see it."""

    heading: str
    png: bytes
    alt: str


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _rings(geometry: dict[str, Any]) -> Iterator[list[tuple[float, float]]]:
    kind = geometry.get("type")
    polygons = [geometry["coordinates"]] if kind == "Polygon" else geometry.get("coordinates", [])
    if kind not in ("Polygon", "MultiPolygon"):
        return
    for polygon in polygons:
        for ring in polygon:
            yield [(float(x), float(y)) for x, y, *_ in ring]


def _outline_layers() -> dict[str, list[list[tuple[float, float]]]]:
    layers: dict[str, list[list[tuple[float, float]]]] = {}
    for feature in outlines_geojson()["features"]:
        kind = str(feature["properties"].get("kind", ""))
        layers.setdefault(kind, []).extend(_rings(feature["geometry"]))
    return layers


def _road_lines() -> list[list[tuple[float, float]]]:
    return [
        [(float(x), float(y)) for x, y, *_ in f["geometry"]["coordinates"]]
        for f in roads_geojson()["features"]
        if f["geometry"]["type"] == "LineString"
    ]


def _bounds(lines: Sequence[Sequence[tuple[float, float]]]) -> tuple[float, float, float, float]:
    xs = [x for line in lines for x, _ in line]
    ys = [y for line in lines for _, y in line]
    return min(xs), min(ys), max(xs), max(ys)


def _draw_map(sitrep: Sitrep) -> Figure:
    fig = Figure(figsize=(7.0, 6.2), layout="constrained")
    ax = fig.add_subplot()
    layers = _outline_layers()
    ax.add_collection(LineCollection(layers.get("district", []), colors="#c9c9c9", linewidths=0.4))
    ax.add_collection(LineCollection(layers.get("province", []), colors="#7d7d7d", linewidths=0.8))
    ax.add_collection(LineCollection(layers.get("country", []), colors="#303030", linewidths=1.2))
    roads = _road_lines()
    ax.add_collection(LineCollection(roads, colors=_ORANGE, linewidths=1.1, label="corridor roads"))
    points = [
        (i.longitude, i.latitude, i.casualties)
        for i in sitrep.incidents
        if i.latitude is not None and i.longitude is not None
    ]
    if points:
        ax.scatter(
            [lon for lon, _, _ in points],
            [lat for _, lat, _ in points],
            s=[14 + 10 * math.sqrt(n) for _, _, n in points],
            c=_RED,
            alpha=0.6,
            edgecolors="black",
            linewidths=0.4,
            label="incident (size: killed + wounded)",
            zorder=3,
        )
    x0, y0, x1, y1 = _bounds(layers.get("country") or roads)
    ax.set_xlim(x0 - _MAP_PAD_DEG, x1 + _MAP_PAD_DEG)
    ax.set_ylim(y0 - _MAP_PAD_DEG, y1 + _MAP_PAD_DEG)
    # degrees of longitude are shorter than degrees of latitude at Pakistan's latitudes
    ax.set_aspect(1 / math.cos(math.radians((y0 + y1) / 2)))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"{len(points)} incidents with a position, {sitrep.period.label}", fontsize=10)
    return fig


def _week_labels(weeks: Sequence[date]) -> list[str]:
    return [f"{w:%d %b}" for w in weeks]


def _bar_axes(fig: Figure, title: str) -> Axes:
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def _thin_ticks(ax: Axes, labels: list[str]) -> None:
    step = max(1, math.ceil(len(labels) / 18))
    ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=60, ha="right", fontsize=7)


def _per_week(sitrep: Sitrep) -> Figure:
    weeks = sitrep.period.weeks()
    counts = Counter(sitrep.week_of(i.occurred_at) for i in sitrep.incidents)
    fig = Figure(figsize=(7.0, 3.0), layout="constrained")
    ax = _bar_axes(fig, "Incidents per week (weeks start on Monday, Pakistan time)")
    ax.bar(range(len(weeks)), [counts[w] for w in weeks], color=_BLUE)
    _thin_ticks(ax, _week_labels(weeks))
    ax.set_ylabel("incidents")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def _by_province(sitrep: Sitrep) -> Figure:
    counts = Counter(i.province or "unknown" for i in sitrep.incidents)
    names = sorted(counts, key=lambda n: (counts[n], n))
    fig = Figure(figsize=(7.0, 0.9 + 0.32 * len(names)), layout="constrained")
    ax = _bar_axes(fig, "Incidents by province")
    ax.barh(names, [counts[n] for n in names], color=_BLUE)
    ax.set_xlabel("incidents")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def _by_type(sitrep: Sitrep) -> Figure:
    counts = Counter(i.attack_type.replace("_", " ") for i in sitrep.incidents)
    names = sorted(counts, key=lambda n: (-counts[n], n))
    fig = Figure(figsize=(7.0, 3.2), layout="constrained")
    ax = _bar_axes(fig, "Incidents by attack type")
    ax.bar(range(len(names)), [counts[n] for n in names], color=_BLUE)
    _thin_ticks(ax, names)
    ax.set_ylabel("incidents")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def _casualties(sitrep: Sitrep) -> Figure:
    weeks = sitrep.period.weeks()
    killed: Counter[date] = Counter()
    wounded: Counter[date] = Counter()
    for i in sitrep.incidents:
        week = sitrep.week_of(i.occurred_at)
        killed[week] += i.killed
        wounded[week] += i.wounded
    fig = Figure(figsize=(7.0, 3.0), layout="constrained")
    ax = _bar_axes(fig, "Killed and wounded per week")
    xs = range(len(weeks))
    k = [killed[w] for w in weeks]
    ax.bar(xs, k, color=_RED, label="killed")
    ax.bar(xs, [wounded[w] for w in weeks], bottom=k, color=_ORANGE, label="wounded")
    _thin_ticks(ax, _week_labels(weeks))
    ax.set_ylabel("people")
    ax.legend(fontsize=8)
    return fig


def charts(sitrep: Sitrep) -> dict[str, Chart]:
    """Every picture of the report by section heading; none when there are no incidents (the
    sections then say so in words)."""
    if not sitrep.incidents:
        return {}
    s = sitrep.summary
    made = [
        Chart(
            "Incidents on the map",
            _png(_draw_map(sitrep)),
            f"Map of Pakistan with {s.incidents} incidents, province and district outlines "
            "and the corridor roads",
        ),
        Chart("Incidents per week", _png(_per_week(sitrep)), "Bar chart of incidents per week"),
        Chart(
            "Incidents by province",
            _png(_by_province(sitrep)),
            "Horizontal bar chart of incidents per province",
        ),
        Chart("Incidents by type", _png(_by_type(sitrep)), "Bar chart of incidents by attack type"),
        Chart(
            "Casualties",
            _png(_casualties(sitrep)),
            f"Stacked bar chart of killed ({s.killed}) and wounded ({s.wounded}) per week",
        ),
    ]
    return {c.heading: c for c in made}
