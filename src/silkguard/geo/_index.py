"""The gazetteer's search index: entries of three kinds, exact keys and fuzzy keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from silkguard.geo._gazetteer_data import DistrictRow, PlaceRow, ProvinceRow
from silkguard.geo._names import Kind, compact, name_pieces, normalize_name, strip_kind_words
from silkguard.geo.distance import haversine_km, haversine_km_array

__all__ = [
    "EXACT_SCORE",
    "PLACE_IN_DISTRICT_KM",
    "Entry",
    "Hit",
    "NameIndex",
    "build_index",
]

#: A supplement place overrides GeoNames places of the same name farther away than this.
SUPPLEMENT_OVERRIDE_KM = 25.0
#: A place this close to its district's headquarters is the district's seat.
SEAT_KM = 5.0
#: Fuzzy matching of very short names finds more noise than places.
MIN_FUZZY_CHARS = 4
#: Short alternate names ("qrzy" for Karachi) partially match almost anything; exact only.
MIN_FUZZY_KEY_CHARS = 5
EXACT_SCORE = 100.0
#: A place this close to a district's headquarters counts as in that district.
PLACE_IN_DISTRICT_KM = 60.0
_DISTRICT_MIN_SCORE = 86.0
_PROVINCE_MIN_SCORE = 85.0
#: Fuzzy scores stay below an exact match of the same entry.
MAX_FUZZY_SCORE = 99.0

Hit = tuple[int, bool]  # entry index, matched by its primary name


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    latitude: float
    longitude: float
    kind: Kind
    province: str
    district: str | None
    population: int | None
    source: str
    seat: bool = False


@dataclass(slots=True)
class NameIndex:
    entries: list[Entry]
    exact: dict[str, list[Hit]]
    compact_exact: dict[str, list[Hit]]
    fuzzy_keys: list[str]
    fuzzy_hits: list[list[Hit]]
    narrowed: dict[tuple[Kind | None, str | None], tuple[list[str], list[list[Hit]]]] = field(
        default_factory=dict
    )

    def exact_hits(self, key: str) -> list[Hit]:
        """Entries named exactly ``key`` (normalised), or so once spaces are ignored."""
        return self.exact.get(key) or self.compact_exact.get(compact(key), [])

    def fuzzy(
        self,
        key: str,
        min_score: float,
        *,
        kind: Kind | None = None,
        province: str | None = None,
        scorer: Callable[..., float] = fuzz.WRatio,
    ) -> list[tuple[Hit, float]]:
        """Entries (of one ``kind`` / ``province``, if given) scoring at least ``min_score``."""
        if len(key) < MIN_FUZZY_CHARS:
            return []
        keys, hits = self.fuzzy_choices(kind, province)
        matches = process.extract(key, keys, scorer=scorer, score_cutoff=min_score, limit=None)
        return [
            (hit, min(float(score), MAX_FUZZY_SCORE))
            for _choice, score, pos in matches
            for hit in hits[pos]
        ]

    def fuzzy_choices(
        self, kind: Kind | None, province: str | None
    ) -> tuple[list[str], list[list[Hit]]]:
        """Fuzzy keys narrowed to a kind and province, built on first use."""
        if kind is None and province is None:
            return self.fuzzy_keys, self.fuzzy_hits
        narrowed = self.narrowed.get((kind, province))
        if narrowed is None:
            keys: list[str] = []
            owners: list[list[Hit]] = []
            for key, hits in zip(self.fuzzy_keys, self.fuzzy_hits, strict=True):
                kept = [
                    h
                    for h in hits
                    if kind in (None, self.entries[h[0]].kind)
                    and province in (None, self.entries[h[0]].province)
                ]
                if kept:
                    keys.append(key)
                    owners.append(kept)
            narrowed = self.narrowed[(kind, province)] = (keys, owners)
        return narrowed

    def search(
        self,
        key: str,
        kind: Kind | None,
        min_score: float,
        *,
        province: str | None = None,
        scorer: Callable[..., float] = fuzz.WRatio,
    ) -> list[tuple[Hit, float]]:
        """Exact matches (score 100), then fuzzy ones, of one kind or all kinds."""
        hits = [
            (hit, EXACT_SCORE)
            for hit in self.exact_hits(key)
            if kind in (None, self.entries[hit[0]].kind)
            and province in (None, self.entries[hit[0]].province)
        ]
        if min_score < EXACT_SCORE:
            hits += self.fuzzy(key, min_score, kind=kind, province=province, scorer=scorer)
        return hits

    def in_area(self, entry: Entry, province: str | None, district: Entry | None) -> bool:
        """Whether an entry lies in the province and near or in the district given."""
        if province is not None and entry.province != province:
            return False
        if district is None:
            return True
        if entry.kind == "district":
            return entry.name == district.name
        if entry.kind == "province":
            return False
        return entry.district == district.name or (
            haversine_km(entry.latitude, entry.longitude, district.latitude, district.longitude)
            <= PLACE_IN_DISTRICT_KM
        )

    def province_of(self, name: str) -> str | None:
        """The canonical province for a name or alias, with misspellings, else ``None``."""
        key = normalize_name(name)
        words = [w for w in strip_kind_words(key).split() if w != "pakistan"]
        for variant in (key, " ".join(words)):
            for idx, _primary in self.exact_hits(variant):
                if self.entries[idx].kind == "province":
                    return self.entries[idx].name
        # plain ratio: "Khyber" (a district) must not pass for "Khyber Pakhtunkhwa"
        hits = self.fuzzy(key, _PROVINCE_MIN_SCORE, kind="province", scorer=fuzz.ratio)
        best = max(hits, key=lambda h: h[1], default=None)
        return self.entries[best[0][0]].name if best else None

    def district_of(self, name: str, province: str | None) -> tuple[int, float] | None:
        """The district entry for a name, with its score; same-province matches first."""
        pieces = list(dict.fromkeys(p for raw in name_pieces(name) for p in _kind_free(raw)))
        entries = self.entries
        for piece in pieces:
            hits = [i for i, _ in self.exact_hits(piece) if entries[i].kind == "district"]
            if hits:
                return _prefer_province(hits, entries, province), EXACT_SCORE
        if pieces and self.province_of(pieces[0]) is not None:
            return None
        scored: dict[int, float] = {}
        for piece in pieces:
            for (idx, _primary), score in self.fuzzy(piece, _DISTRICT_MIN_SCORE, kind="district"):
                scored[idx] = max(score, scored.get(idx, 0.0))
        if not scored:
            return None
        best = max(
            scored,
            key=lambda i: (entries[i].province == province, scored[i], -i),
        )
        return best, scored[best]

    def names_admin_area(self, piece: str) -> bool:
        """Whether a normalised piece is exactly a district's or province's name or alias."""
        entries = self.entries
        return any(entries[i].kind != "place" for i, _ in self.exact_hits(piece))

    def district_in_pieces(self, pieces: tuple[str, ...], province: str | None) -> str | None:
        """A district named by a piece; the last wins, as "X, Y" puts the wider area last."""
        entries = self.entries
        for piece in reversed(pieces):
            hits = [i for i, _ in self.exact_hits(piece) if entries[i].kind == "district"]
            hits = [i for i in hits if province in (None, entries[i].province)]
            if hits:
                return entries[hits[0]].name
        return None


def build_index(
    places: Sequence[PlaceRow], districts: Sequence[DistrictRow], provinces: Sequence[ProvinceRow]
) -> NameIndex:
    """Entries for every place, district and province, keyed by normalised names."""
    hq_lat = np.array([d.latitude for d in districts])
    hq_lon = np.array([d.longitude for d in districts])
    hq_province = np.array([d.province for d in districts])
    hq = {d.district: d for d in districts}
    entries: list[Entry] = []
    names: list[tuple[int, str, tuple[str, ...]]] = []
    for p in _merge_supplement(places):
        district = p.district or _nearest_district(p, districts, hq_lat, hq_lon, hq_province)
        seat = district is not None and (
            haversine_km(p.latitude, p.longitude, hq[district].latitude, hq[district].longitude)
            <= SEAT_KM
        )
        entry = Entry(
            p.name,
            p.latitude,
            p.longitude,
            "place",
            p.province,
            district,
            p.population,
            p.source,
            seat,
        )
        names.append((len(entries), p.name, p.aliases))
        entries.append(entry)
    for d in districts:
        names.append((len(entries), d.district, d.aliases))
        entries.append(
            Entry(d.district, d.latitude, d.longitude, "district", d.province, d.district, None, "")
        )
    for r in provinces:
        names.append((len(entries), r.province, r.aliases))
        entries.append(
            Entry(r.province, r.latitude, r.longitude, "province", r.province, None, None, "")
        )
    exact: dict[str, list[Hit]] = {}
    for idx, name, aliases in names:
        for key, primary in _keys(name, aliases):
            owners = exact.setdefault(key, [])
            if all(owner != idx for owner, _ in owners):
                owners.append((idx, primary))
    _apply_supplement_overrides(entries, exact)
    compact_exact: dict[str, list[Hit]] = {}
    for key, owners in exact.items():
        if " " in key:
            compact_exact.setdefault(compact(key), []).extend(owners)
    fuzzy_keys = [
        k for k, owners in exact.items() if owners and k.isascii() and len(k) >= MIN_FUZZY_KEY_CHARS
    ]
    index = NameIndex(
        entries=entries,
        exact=exact,
        compact_exact=compact_exact,
        fuzzy_keys=fuzzy_keys,
        fuzzy_hits=[exact[k] for k in fuzzy_keys],
    )
    # warm the narrowed lists geocoding uses, so no single call pays for building one
    warm: list[tuple[Kind | None, str | None]] = [("district", None), ("province", None)]
    warm.extend(("place", r.province) for r in provinces)
    for kind, province in [("place", None), *warm]:
        index.fuzzy_choices(kind, province)
    return index


def _merge_supplement(places: Sequence[PlaceRow]) -> list[PlaceRow]:
    """A supplement row replaces a GeoNames row of the same name nearby, keeping its
    population and alternate names (the supplement corrects its district)."""
    merged: list[PlaceRow] = []
    geonames = [p for p in places if p.source == "geonames"]
    by_name: dict[str, list[int]] = {}
    for i, g in enumerate(geonames):
        by_name.setdefault(normalize_name(g.name), []).append(i)
    replaced: set[int] = set()
    for s in (p for p in places if p.source == "supplement"):
        twins = [
            i
            for i in by_name.get(normalize_name(s.name), [])
            if haversine_km(s.latitude, s.longitude, geonames[i].latitude, geonames[i].longitude)
            <= SUPPLEMENT_OVERRIDE_KM
        ]
        replaced.update(twins)
        population = max((geonames[i].population or 0 for i in twins), default=0)
        aliases = [*s.aliases, *(a for i in twins for a in geonames[i].aliases)]
        merged.append(replace(s, population=population or None, aliases=tuple(aliases)))
    return [g for i, g in enumerate(geonames) if i not in replaced] + merged


def _keys(name: str, aliases: Iterable[str]) -> list[tuple[str, bool]]:
    keys = [(normalize_name(name), True)]
    keys += [(normalize_name(a), False) for a in aliases]
    return [(k, primary) for k, primary in keys if k]


def _nearest_district(
    place: PlaceRow,
    districts: Sequence[DistrictRow],
    hq_lat: npt.NDArray[np.float64],
    hq_lon: npt.NDArray[np.float64],
    hq_province: npt.NDArray[np.str_],
) -> str | None:
    """The district whose headquarters is nearest, within the place's own province."""
    km = haversine_km_array(place.latitude, place.longitude, hq_lat, hq_lon)
    km[hq_province != place.province] = np.inf
    best = int(np.argmin(km))
    return districts[best].district if np.isfinite(km[best]) else None


def _apply_supplement_overrides(entries: list[Entry], exact: dict[str, list[Hit]]) -> None:
    """Where the supplement names a place, GeoNames places of that name far away lose it."""
    for key, owners in exact.items():
        chosen = [entries[i] for i, _ in owners if entries[i].source == "supplement"]
        if not chosen:
            continue
        exact[key] = [
            (i, primary)
            for i, primary in owners
            if entries[i].source != "geonames"
            or min(
                haversine_km(s.latitude, s.longitude, entries[i].latitude, entries[i].longitude)
                for s in chosen
            )
            <= SUPPLEMENT_OVERRIDE_KM
        ]


def _kind_free(piece: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((piece, strip_kind_words(piece))))


def _prefer_province(hits: list[int], entries: list[Entry], province: str | None) -> int:
    same = [i for i in hits if entries[i].province == province]
    return (same or hits)[0]
