"""``silkguard route FROM TO``: the safest sensible route on the road network."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from shapely.geometry import shape

from silkguard.cli.risk import parse_duration
from silkguard.cli.store import unit_of_work
from silkguard.core.errors import InvalidInput, NotFound
from silkguard.journeys.departures import compare_departures
from silkguard.journeys.policy import LOCAL_TZ
from silkguard.journeys.routes import (
    DEFAULT_LAMBDA,
    RoutePlan,
    closed_edges,
    edge_exposure,
    plan_route,
    resolve_place,
)
from silkguard.network.corridor import corridor_graph
from silkguard.network.graph import ROAD_CLASSES, RoadGraph
from silkguard.risk import service as risk_service
from silkguard.risk.models import ForecastRun

__all__ = ["resolve_place", "route_command"]

_console = Console(width=160)


def _closed_edges(graph: RoadGraph, path: Path) -> np.ndarray[Any, np.dtype[np.bool_]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        geoms = [f["geometry"] for f in data["features"]] if "features" in data else [data]
        areas = [shape(g) for g in geoms]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = f"{path}: not a GeoJSON Polygon or FeatureCollection of polygons ({exc})"
        raise InvalidInput(msg) from None
    return closed_edges(graph, areas)


def _edge_label(graph: RoadGraph, edge: int) -> str:
    idx = int(graph.name_idx[edge])
    return graph.names[idx] if idx >= 0 else ROAD_CLASSES[int(graph.road_class[edge])]


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _print_plan(graph: RoadGraph, plan: RoutePlan, exposure_known: bool) -> None:
    table = Table("route", "time", "km", "exposure", "riskiest roads", title="Routes")
    for i, r in enumerate(plan.routes):
        risky = ", ".join(dict.fromkeys(_edge_label(graph, e) for e in r.riskiest)) or "-"
        table.add_row(
            "recommended" if i == 0 else f"alternative {i}",
            _hours(r.time_s),
            f"{r.length_km:.0f}",
            f"{r.exposure:.1f}" if exposure_known else "-",
            risky,
        )
    _console.print(table)
    if plan.pareto and exposure_known:
        front = Table("lambda", "time", "exposure", title="Time against risk (Pareto front)")
        for lam, t, e in plan.pareto:
            front.add_row(f"{lam:g}", _hours(t), f"{e:.1f}")
        _console.print(front)


def _local(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        msg = f"{option} {text!r} is not an ISO date and time, e.g. 2026-12-03T08:00"
        raise InvalidInput(msg) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_TZ)


def _print_departures(
    trip_s: float, exposure: float, depart: str, until: str | None, every: str
) -> None:
    start = _local(depart, "--depart")
    end = _local(until, "--depart-until") if until else start
    options = compare_departures(
        trip_s=trip_s,
        exposure=exposure,
        earliest=start,
        latest=end,
        every=parse_duration(every, option="--every"),
    )
    table = Table(
        "depart (PKT)", "arrive (PKT)", "night driving", "score", title="Departures, best first"
    )
    for o in options:
        table.add_row(
            f"{o.depart.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
            f"{o.arrive.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
            f"{o.night_s / 3600:.1f} h",
            f"{o.score:.2f}",
        )
    _console.print(table)


def route_command(
    origin: Annotated[str, typer.Argument(metavar="FROM", help="Place name or LAT,LON.")],
    destination: Annotated[str, typer.Argument(metavar="TO", help="Place name or LAT,LON.")],
    via: Annotated[
        list[str] | None, typer.Option("--via", help="Pass through this place (repeatable).")
    ] = None,
    avoid: Annotated[
        Path | None,
        typer.Option(help="GeoJSON polygon(s) of closed areas to keep out of.", exists=True),
    ] = None,
    graph_file: Annotated[
        Path | None,
        typer.Option("--graph", help="Road graph (.npz from an OSM import); default: corridor."),
    ] = None,
    lam: Annotated[
        float,
        typer.Option(
            "--lambda", min=0.0, help="Seconds of travel worth one corridor-average hour."
        ),
    ] = DEFAULT_LAMBDA,
    alternatives: Annotated[int, typer.Option(min=1, max=5, help="Routes to propose.")] = 3,
    geojson: Annotated[
        Path | None, typer.Option(help="Write the routes as a GeoJSON FeatureCollection.")
    ] = None,
    depart: Annotated[
        str | None,
        typer.Option(
            help="Departure (ISO, Pakistan time if no zone): shows the arrival and night driving."
        ),
    ] = None,
    depart_until: Annotated[
        str | None,
        typer.Option(help="With --depart: compare departures up to this time (a window)."),
    ] = None,
    every: Annotated[str, typer.Option(help="Step between compared departures (30m, 1h).")] = "1h",
) -> None:
    """Propose routes priced by travel time plus exposure to the latest risk forecast, with
    the riskiest stretches and why."""
    graph = RoadGraph.load(graph_file) if graph_file else corridor_graph()
    places = [origin, *(via or []), destination]
    resolved = [resolve_place(graph, p) for p in places]
    closed = _closed_edges(graph, avoid) if avoid else None
    with unit_of_work() as session:
        run: ForecastRun | None
        try:
            run = risk_service.latest_run(session, principal=None)
        except NotFound:
            run = None
            exposure = np.zeros(graph.n_edges)
            _console.print("no risk forecast yet: routes by travel time only")
        else:
            exposure = edge_exposure(graph, risk_service.load_surface(session, run))
        plan = plan_route(
            graph, exposure, [n for n, _ in resolved], lam=lam, closed=closed, k=alternatives
        )
        labels = " -> ".join(label for _, label in resolved)
        _console.print(f"[bold]{labels}[/]")
        _print_plan(graph, plan, run is not None)
        best = plan.routes[0]
        if depart is not None:
            _print_departures(best.time_s, best.exposure, depart, depart_until, every)
        if run is not None:
            segments = risk_service.level_for_route(
                session, run=run, coords=best.coordinates(graph)
            )
            starts = np.cumsum([0.0] + [s.length_km for s in segments])
            worst = sorted(segments, key=lambda s: (-s.reading.level, s.index))[:5]
            stretch = Table("km from start", "level", "why", title="Riskiest stretches")
            for seg in sorted(worst, key=lambda s: s.index):
                stretch.add_row(
                    f"{starts[seg.index]:.0f}-{starts[seg.index + 1]:.0f}",
                    str(seg.reading.level),
                    seg.reading.reason,
                )
            _console.print(stretch)
    if geojson is not None:
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": r.coordinates(graph)},
                "properties": {
                    "rank": i,
                    "time_s": r.time_s,
                    "length_km": r.length_km,
                    "exposure": r.exposure,
                    "riskiest_roads": [_edge_label(graph, e) for e in r.riskiest],
                },
            }
            for i, r in enumerate(plan.routes)
        ]
        geojson.write_text(
            json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
        )
        _console.print(f"GeoJSON: {geojson}")
