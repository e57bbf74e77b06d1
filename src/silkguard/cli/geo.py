"""``silkguard geocode NAME`` and ``silkguard geocode --reverse LAT LON``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from silkguard.core.errors import InvalidInput, NotFound
from silkguard.geo.gazetteer import load_gazetteer
from silkguard.geo.validate import validate_lat_lon

__all__ = ["geocode_command"]


def geocode_command(
    name: Annotated[str | None, typer.Argument(help="Place, district or province name.")] = None,
    province: Annotated[str | None, typer.Option(help="Only candidates in this province.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
    reverse: Annotated[
        tuple[float, float] | None,
        typer.Option(help="Reverse-geocode LAT LON to province and district instead."),
    ] = None,
) -> None:
    """Look up Pakistani places offline (GeoNames + a corridor supplement)."""
    gaz = load_gazetteer()
    if reverse is not None:
        lat, lon = validate_lat_lon(*reverse)
        area = gaz.reverse(lat, lon)
        typer.echo(
            f"{lat:.5f}, {lon:.5f}: province {area.province}; "
            f"district {area.district or 'unknown'}; "
            f"nearest place {area.nearest_place} ({area.distance_km:.1f} km)"
        )
        return
    if not name:
        msg = "give a NAME to look up, or --reverse LAT LON"
        raise InvalidInput(msg)
    found = gaz.forward(name, province=province, limit=limit, min_score=60.0)
    if not found:
        msg = f"no place in Pakistan matches {name!r}; check the spelling or try the district name"
        raise NotFound(msg)
    table = Table("name", "kind", "district", "province", "lat", "lon", "score")
    for c in found:
        table.add_row(
            c.name,
            c.kind,
            c.district or "",
            c.province or "",
            f"{c.latitude:.4f}",
            f"{c.longitude:.4f}",
            f"{c.score:.0f}",
        )
    Console(width=140).print(table)
