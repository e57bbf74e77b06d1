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
from silkguard.journeys.night import NightWindow, night_seconds_array
from silkguard.journeys.policy import LOCAL_TZ
from silkguard.journeys.routes import (
    DEFAULT_LAMBDA,
    RoutePlan,
    RouteSummary,
    closed_edges,
    edge_exposure,
    plan_departures,
    plan_route,
    resolve_place,
    road_label,
    schedule_rows,
    stretches,
)
from silkguard.network.corridor import corridor_graph
from silkguard.network.graph import RoadGraph
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


def _edge_label(graph: RoadGraph, edge: int, route: RouteSummary | None = None) -> str:
    """The edge's road name; on a scheduled route "(night)" when it is driven after dark."""
    label = road_label(graph, edge)
    sched = None if route is None else route.schedule
    if route is not None and sched is not None and sched.at_night[route.edge_position(edge)]:
        return f"{label} (night)"
    return label


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _print_plan(graph: RoadGraph, plan: RoutePlan, exposure_known: bool) -> None:
    scheduled = plan.depart is not None
    columns = ["route", "time", "km", "exposure"]
    if scheduled:
        columns += ["arrive (PKT)", "night", "night-weighted"]
    table = Table(*columns, "riskiest roads", title="Routes")
    for i, r in enumerate(plan.routes):
        risky = ", ".join(dict.fromkeys(_edge_label(graph, e, r) for e in r.riskiest)) or "-"
        row = [
            "recommended" if i == 0 else f"alternative {i}",
            _hours(r.time_s),
            f"{r.length_km:.0f}",
            f"{r.exposure:.1f}" if exposure_known else "-",
        ]
        if scheduled and r.arrive is not None:
            row += [
                f"{r.arrive.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
                f"{r.night_s / 3600:.1f} h",
                f"{r.priced_exposure:.1f}" if exposure_known else "-",
            ]
        table.add_row(*row, risky)
    _console.print(table)
    if plan.pareto and exposure_known:
        front = Table("lambda", "time", "exposure", title="Time against risk (Pareto front)")
        for lam, t, e in plan.pareto:
            front.add_row(f"{lam:g}", _hours(t), f"{e:.1f}")
        _console.print(front)
    best = plan.routes[0]
    if best.schedule is not None:
        sched = best.schedule
        table = Table(
            "road", "km", "enter (PKT)", "leave (PKT)", "night", "exposure", title="Schedule"
        )
        for st in stretches(graph, best):
            table.add_row(
                st.road,
                f"{st.km_from:.0f}-{st.km_to:.0f}",
                f"{sched.when(st.enter_s or 0.0).astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
                f"{sched.when(st.leave_s or 0.0).astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
                f"{st.night_s / 3600:.1f} h" if st.night_s > 0 else "-",
                f"{st.exposure:.2f}" if exposure_known else "-",
            )
        _console.print(table)


def _local(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        msg = f"{option} {text!r} is not an ISO date and time, e.g. 2026-12-03T08:00"
        raise InvalidInput(msg) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_TZ)


def _print_departures(
    graph: RoadGraph,
    exposure: np.ndarray[Any, np.dtype[np.float64]],
    waypoints: list[int],
    window: tuple[datetime, datetime],
    every: str,
    *,
    lam: float,
    closed: np.ndarray[Any, np.dtype[np.bool_]] | None,
    night: NightWindow,
) -> None:
    options = plan_departures(
        graph,
        exposure,
        waypoints,
        earliest=window[0],
        latest=window[1],
        every=parse_duration(every, option="--every"),
        lam=lam,
        closed=closed,
        night=night,
    )
    table = Table(
        "depart (PKT)",
        "arrive (PKT)",
        "roads",
        "night driving",
        "exposure",
        "cost",
        title="Departures, best first (the route planned again for each)",
    )
    for o in options:
        r = o.route
        assert r.arrive is not None  # planned with a departure
        table.add_row(
            f"{o.depart.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
            f"{r.arrive.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
            " > ".join(stretch.road for stretch in stretches(graph, r)),
            f"{r.night_s / 3600:.1f} h",
            f"{r.priced_exposure:.2f}",
            f"{o.cost:,.0f}",
        )
    _console.print(table)


def _feature(graph: RoadGraph, rank: int, r: RouteSummary) -> dict[str, Any]:
    props: dict[str, Any] = {
        "rank": rank,
        "time_s": r.time_s,
        "length_km": r.length_km,
        "exposure": r.exposure,
        "riskiest_roads": [_edge_label(graph, e) for e in r.riskiest],
    }
    sched = r.schedule
    if sched is not None:
        props.update(
            {
                "depart": sched.depart.isoformat(),
                "arrive": sched.arrive.isoformat(),
                "night_s": r.night_s,
                "night_exposure": r.night_exposure,
                "riskiest_at_night": [bool(sched.at_night[r.edge_position(e)]) for e in r.riskiest],
                "schedule": schedule_rows(graph, r),
            }
        )
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": r.coordinates(graph)},
        "properties": props,
    }


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
    night_factor: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="With --depart: extra weight of exposure driven at night (18:00-06:00 PKT); "
            "1 counts an hour in the dark double.",
        ),
    ] = 1.0,
) -> None:
    """Propose routes priced by travel time plus exposure to the latest risk forecast, with
    the riskiest stretches and why."""
    graph = RoadGraph.load(graph_file) if graph_file else corridor_graph()
    window: tuple[datetime, datetime] | None = None
    if depart is not None:
        start = _local(depart, "--depart")
        window = (start, _local(depart_until, "--depart-until") if depart_until else start)
    night = NightWindow(factor=night_factor)
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
            graph,
            exposure,
            [n for n, _ in resolved],
            lam=lam,
            closed=closed,
            k=alternatives,
            depart=window[0] if window else None,
            night=night,
        )
        labels = " -> ".join(label for _, label in resolved)
        _console.print(f"[bold]{labels}[/]")
        _print_plan(graph, plan, run is not None)
        best = plan.routes[0]
        if window is not None:
            _print_departures(
                graph,
                exposure,
                [n for n, _ in resolved],
                window,
                every,
                lam=lam,
                closed=closed,
                night=night,
            )
        if run is not None:
            _print_stretches(session, run, graph, best)
    if geojson is not None:
        features = [_feature(graph, i, r) for i, r in enumerate(plan.routes)]
        geojson.write_text(
            json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
        )
        _console.print(f"GeoJSON: {geojson}")


def _print_stretches(session: Any, run: ForecastRun, graph: RoadGraph, best: RouteSummary) -> None:
    """The recommended route's riskiest ~10 km stretches with their level and why; with a
    departure also when each is driven and whether night weighs on it."""
    segments = risk_service.level_for_route(session, run=run, coords=best.coordinates(graph))
    starts = np.cumsum([0.0] + [s.length_km for s in segments])
    worst = sorted(segments, key=lambda s: (-s.reading.level, s.index))[:5]
    sched = best.schedule
    columns = ["km from start", "level"]
    offsets = None
    if sched is not None:
        columns.append("driven (PKT)")
        n = len(segments)
        offsets = best.offsets_at(graph, np.arange(n + 1) / n)
    stretch = Table(*columns, "why", title="Riskiest stretches")
    for seg in sorted(worst, key=lambda s: s.index):
        row = [f"{starts[seg.index]:.0f}-{starts[seg.index + 1]:.0f}", str(seg.reading.level)]
        why = seg.reading.reason
        if sched is not None and offsets is not None:
            a, b = float(offsets[seg.index]), float(offsets[seg.index + 1])
            row.append(
                f"{sched.when(a).astimezone(LOCAL_TZ):%d %H:%M}-"
                f"{sched.when(b).astimezone(LOCAL_TZ):%H:%M}"
            )
            dark = night_seconds_array(sched.depart, a, b, sched.window).item()
            if dark > 0:
                why = (
                    f"{why}; driven at night ({sched.window.describe()}), exposure weighted "
                    f"x{1 + sched.window.factor * dark / max(b - a, 1e-9):.2f}"
                )
        stretch.add_row(*row, why)
    _console.print(stretch)
