"""Fill in what a source left out, offline: province and district names in canonical form,
coordinates from place names (with the precision that was achieved), admin areas from
coordinates, and the H3 cells used for spatial queries and de-duplication."""

from __future__ import annotations

from functools import lru_cache

from silkguard.core.errors import RowError
from silkguard.geo.cells import cells_for
from silkguard.geo.gazetteer import AdminArea, Gazetteer, load_gazetteer
from silkguard.incidents.fields import IncidentFields
from silkguard.incidents.vocab import GeoPrecision

__all__ = ["PROVINCES_HINT", "enrich"]

PROVINCES_HINT = (
    "Balochistan, Khyber Pakhtunkhwa, Punjab, Sindh, Islamabad Capital Territory, "
    "Gilgit-Baltistan, Azad Jammu and Kashmir (common aliases such as KPK, NWFP, FATA, "
    "Baluchistan, ICT, AJK are accepted)"
)


@lru_cache(maxsize=65_536)
def _reverse_near(lat_2dp: float, lon_2dp: float) -> AdminArea:
    """Reverse geocoding on a 0.01 degree (about 1 km) grid: imports repeat coordinates, and the
    nearest-headquarters rule is far coarser than a kilometre anyway."""
    return load_gazetteer().reverse(lat_2dp, lon_2dp)


def enrich(
    fields: IncidentFields,
    *,
    line: int,
    province_column: str = "province",
    gazetteer: Gazetteer | None = None,
) -> list[RowError]:
    """Normalise admin names, geocode or reverse-geocode, add H3 cells. Returns row errors."""
    gaz = gazetteer or load_gazetteer()
    if fields.province is not None and fields.country == "PK":
        canonical = gaz.normalize_province(fields.province)
        if canonical is None:
            return [
                RowError(
                    line,
                    province_column,
                    fields.province,
                    "not a province or territory of Pakistan",
                    f"use one of {PROVINCES_HINT}, or translate it in the mapping",
                )
            ]
        fields.province = canonical
    if fields.district is not None and fields.country == "PK":
        found = gaz.normalize_district(fields.district, fields.province)
        if found is not None:
            fields.district, district_province = found
            fields.province = fields.province or district_province
    if fields.latitude is None or fields.longitude is None:
        result = None
        if fields.country == "PK":
            result = gaz.geocode(fields.place, fields.district, fields.province)
        if result is not None:
            fields.latitude, fields.longitude = result.latitude, result.longitude
            fields.geo_precision = GeoPrecision(result.precision)
            fields.district = fields.district or result.district
            fields.province = fields.province or result.province
        else:
            fields.geo_precision = GeoPrecision.COUNTRY
    elif fields.country == "PK" and (fields.province is None or fields.district is None):
        area = (
            _reverse_near(round(fields.latitude, 2), round(fields.longitude, 2))
            if gazetteer is None
            else gaz.reverse(fields.latitude, fields.longitude)
        )
        if fields.province in (None, area.province):
            fields.province = area.province
            fields.district = fields.district or area.district
    if fields.latitude is not None and fields.longitude is not None:
        fields.h3 = cells_for(fields.latitude, fields.longitude)
    return []
