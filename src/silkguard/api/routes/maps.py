"""``/api/v1/map``: the static layers of the dashboard map (outlines and corridor roads),
served from data shipped in the package so the map needs no tile server."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from silkguard.api.deps import CurrentPrincipal
from silkguard.geo.outlines import outlines_geojson
from silkguard.network.corridor import roads_geojson

__all__ = ["router"]

router = APIRouter(prefix="/map", tags=["map"])
_GEOJSON: dict[str, dict[str, object]] = {"application/geo+json": {}}
_CACHE = "private, max-age=3600"


@router.get(
    "/outlines",
    summary="Pakistan's border and approximate province and district areas (GeoJSON)",
    description=(
        "The border is Natural Earth's; district areas are the Voronoi cells of the district "
        "seats clipped to it, and provinces their unions: approximate, for drawing only."
    ),
    responses={200: {"content": _GEOJSON}},
)
def outlines(_principal: CurrentPrincipal, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = _CACHE
    return outlines_geojson()


@router.get(
    "/roads",
    summary="The shipped corridor roads and towns (GeoJSON)",
    responses={200: {"content": _GEOJSON}},
)
def roads(_principal: CurrentPrincipal, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = _CACHE
    return roads_geojson()
