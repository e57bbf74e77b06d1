"""Outlines for maps: Pakistan's border (Natural Earth) and APPROXIMATE district and province
areas (Voronoi cells of the district seats clipped to the border), shipped as
``data/pk_outlines.json`` and made by ``scripts/make_outlines.py``. For drawing only: they are
not official boundaries, and which district a point lies in is decided elsewhere (by the
gazetteer), never by these shapes."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["outlines_geojson"]


@cache
def outlines_geojson() -> dict[str, Any]:
    """The outlines as a GeoJSON FeatureCollection; each feature's ``kind`` is ``country``,
    ``province`` or ``district`` and the collection's ``about`` says where they come from."""
    text = resources.files("silkguard.geo").joinpath("data", "pk_outlines.json")
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data
