"""``silkguard network import|info``: road graphs from OpenStreetMap extracts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from silkguard.core.errors import InvalidInput
from silkguard.network.corridor import corridor_graph
from silkguard.network.graph import ROAD_CLASSES, RoadGraph
from silkguard.network.osm import import_pbf

__all__ = ["network_app"]

network_app = typer.Typer(help="Road networks for routing.", no_args_is_help=True)
_console = Console(width=120)


def _speeds(items: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not sep or value <= 0:
            msg = f"--speed {item!r} must be CLASS=KMH with a positive speed, e.g. trunk=70"
            raise InvalidInput(msg)
        out[name.strip()] = value
    return out


@network_app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(help="OpenStreetMap extract (.osm.pbf).")],
    destination: Annotated[Path, typer.Argument(help="Road graph file to write (.npz).")],
    speed: Annotated[
        list[str] | None,
        typer.Option("--speed", help="Speed of a road class in km/h, e.g. trunk=70 (repeatable)."),
    ] = None,
) -> None:
    """Build a road graph from the drivable roads of an OSM extract (see docs/network.md)."""
    summary = import_pbf(source, destination, speeds=_speeds(speed))
    _console.print(
        f"{summary.destination}: {summary.n_nodes:,} nodes, {summary.n_edges:,} edges, "
        f"{summary.memory_bytes / 2**20:.1f} MiB, {summary.seconds:.1f} s"
    )
    table = Table("road class", "km (each direction counted)")
    for name, km in sorted(summary.km_by_class.items(), key=lambda kv: -kv[1]):
        table.add_row(name, f"{km:,.0f}")
    _console.print(table)


@network_app.command("info")
def info_command(
    graph_file: Annotated[
        Path | None, typer.Argument(help="Road graph (.npz); default: the shipped corridor.")
    ] = None,
) -> None:
    """Size and road classes of a road graph."""
    graph = RoadGraph.load(graph_file) if graph_file else corridor_graph()
    _console.print(
        f"{graph_file or 'corridor network (shipped, approximate)'}: {graph.n_nodes:,} nodes, "
        f"{graph.n_edges:,} edges, {graph.memory_bytes / 2**20:.1f} MiB"
    )
    km = graph.length_m / 1000.0
    table = Table("road class", "edges", "km (each direction counted)")
    for idx, name in enumerate(ROAD_CLASSES):
        sel = graph.road_class == idx
        if sel.any():
            table.add_row(name, f"{int(sel.sum()):,}", f"{float(km[sel].sum()):,.0f}")
    _console.print(table)
