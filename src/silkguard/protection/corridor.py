"""Route segments x time slots as the targets of a schedule game (issue 8). Pure module.

**Segments.** The routes (lists of directed edge ids of a :class:`RoadGraph`) are overlaid;
the road links they use form a network whose *stretches* run between break nodes: a junction
of that network (degree other than 2), a route's origin or destination, or a change of road
name. A stretch longer than ``max_km`` is cut at its nodes, walking along it, before the link
that would take a piece over ``max_km``; a single link longer than ``max_km`` stays whole.
Two routes using the same road therefore share the same segments, which is what lets one
escort cover several movements.

**Slots.** A day (Pakistan time) is cut into ``n`` equal slots. Slot ``k`` has a *weight*,
a policy choice: by default ``1 + night_factor x`` the share of the slot inside the night
window 18:00-06:00 (the movement policy's and the departure comparison's), so with four
slots 00-06 and 18-24 weigh 2 and 06-12 and 12-18 weigh 1. Any weights may be given instead.

**Payoffs of target (segment s, slot k)**, the same shape as the site game's:

* likelihood ``w = rate_s x weight_k``, where ``rate_s`` is the segment's exposure in
  corridor-average hours under the risk forecast (the journeys' route risk; the hours on the
  segment when there is no forecast), floored at ``LIKELIHOOD_FLOOR x hours``;
* consequence ``c`` = people exposed: on the worst day of the horizon, the sum of the parties
  of the movements whose passage over ``s`` (from the earliest departure plus the time to reach
  ``s`` to the latest departure plus the time to leave it) overlaps slot ``k``; ``idle_people``
  (default 1) when no movement is there;
* attacker ``w c`` uncovered and ``-0.5 w c`` covered; defender ``-c`` uncovered, ``0`` covered.

Likelihood and consequence of any target may be overridden; the explanation says so.

**Resources** (every schedule is a set of targets): escort teams and quick-reaction forces
cover a contiguous stretch of up to ``span_km`` along one route (whole segments, at least one)
within one slot; a checkpost covers one segment in every slot.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np

from silkguard.core.errors import InvalidInput
from silkguard.network.graph import RoadGraph
from silkguard.protection.colgen import column_generation
from silkguard.protection.eraser import eraser
from silkguard.protection.game import FloatArray, Payoffs, ResourceType, SecurityGame
from silkguard.protection.solution import Solution

__all__ = [
    "IDLE_PEOPLE",
    "LIKELIHOOD_FLOOR",
    "Force",
    "RouteSegment",
    "Segmentation",
    "SlotScheme",
    "TargetRow",
    "Trip",
    "corridor_game",
    "corridor_targets",
    "default_slot_weights",
    "segment_routes",
    "solve_corridor",
]

#: Pakistan time, in which slots are laid out (the same zone as the movement policy's).
LOCAL_TZ: tzinfo = ZoneInfo("Asia/Karachi")
#: A segment off the forecast grid still counts this share of a corridor-average hour per hour.
LIKELIHOOD_FLOOR = 0.01
#: People counted on a segment and slot no planned movement uses (unplanned traffic).
IDLE_PEOPLE = 1.0
DEFAULT_MAX_KM = 50.0
MAX_SLOTS = 24


@dataclass(frozen=True, slots=True)
class RouteSegment:
    """A stretch of road: its links (node pairs, in order), length, time and exposure."""

    index: int
    segment_id: str
    nodes: tuple[int, ...]
    length_km: float
    hours: float
    exposure: float
    road: str


@dataclass(frozen=True)
class Segmentation:
    """The segments of a set of routes and, per route, the segments it runs through in
    order with the seconds from departure at which it enters and leaves each."""

    segments: tuple[RouteSegment, ...]
    #: per route: (segment index, enter_s, leave_s) in travel order
    passages: tuple[tuple[tuple[int, float, float], ...], ...]


def _link(graph: RoadGraph, e: int) -> tuple[int, int]:
    a, b = int(graph.tails[e]), int(graph.heads[e])
    return (a, b) if a < b else (b, a)


def _links(
    graph: RoadGraph, routes: Sequence[Sequence[int]]
) -> tuple[dict[tuple[int, int], int], set[int]]:
    """The links the routes use (first directed edge seen per node pair) and their ends."""
    link_edge: dict[tuple[int, int], int] = {}
    ends: set[int] = set()
    for route in routes:
        for e in route:
            if not 0 <= int(e) < graph.n_edges:
                msg = f"edge {e!r} is not an edge of the road graph (0..{graph.n_edges - 1})"
                raise InvalidInput(msg)
            link_edge.setdefault(_link(graph, int(e)), int(e))
        ends.add(int(graph.tails[route[0]]))
        ends.add(int(graph.heads[route[-1]]))
    return link_edge, ends


def _chains(
    graph: RoadGraph, link_edge: Mapping[tuple[int, int], int], ends: set[int]
) -> list[list[int]]:
    """The used network's stretches between break nodes, as node sequences."""
    adjacent: dict[int, list[tuple[int, int]]] = {}
    for pair in link_edge:
        adjacent.setdefault(pair[0], []).append(pair)
        adjacent.setdefault(pair[1], []).append(pair)

    def breaks(node: int) -> bool:
        here = adjacent[node]
        roads = {int(graph.name_idx[link_edge[x]]) for x in here}
        return node in ends or len(here) != 2 or len(roads) != 1

    seen: set[tuple[int, int]] = set()
    chains: list[list[int]] = []
    starts = sorted(n for n in adjacent if breaks(n))
    for start in starts + sorted(adjacent):  # the second pass catches loops without breaks
        for first in sorted(adjacent[start]):
            if first in seen:
                continue
            nodes = [start]
            link: tuple[int, int] | None = first
            while link is not None:
                seen.add(link)
                nxt = link[1] if link[0] == nodes[-1] else link[0]
                nodes.append(nxt)
                onward = [x for x in adjacent[nxt] if x not in seen]
                link = None if breaks(nxt) or nxt == start or not onward else onward[0]
            chains.append(nodes)
    return chains


def segment_routes(
    graph: RoadGraph,
    routes: Sequence[Sequence[int]],
    exposure: FloatArray | None = None,
    *,
    max_km: float = DEFAULT_MAX_KM,
) -> Segmentation:
    """Split ``routes`` (directed edge ids, in travel order) into shared segments;
    ``exposure`` is the risk per edge (corridor-average hours), zeros when omitted."""
    if not routes or any(len(r) == 0 for r in routes):
        msg = "segment_routes needs at least one route, each with at least one road edge"
        raise InvalidInput(msg)
    if not (math.isfinite(max_km) and max_km > 0):
        msg = f"max_km {max_km!r} must be a positive number of kilometres"
        raise InvalidInput(msg)
    expo = np.zeros(graph.n_edges) if exposure is None else np.asarray(exposure, dtype=np.float64)
    times = np.asarray(graph.travel_time_s, dtype=np.float64)
    link_edge, ends = _links(graph, routes)
    segments: list[RouteSegment] = []
    segment_of: dict[tuple[int, int], int] = {}
    for nodes in _chains(graph, link_edge, ends):
        for piece in _cut(graph, link_edge, nodes, max_km):
            links = [(a, b) if a < b else (b, a) for a, b in itertools.pairwise(piece)]
            edges = [link_edge[x] for x in links]
            for x in links:
                segment_of[x] = len(segments)
            lo, hi = sorted((piece[0], piece[-1]))
            segments.append(
                RouteSegment(
                    index=len(segments),
                    segment_id=f"{lo}-{hi}",
                    nodes=tuple(piece),
                    length_km=float(graph.length_m[edges].sum() / 1000.0),
                    hours=float(times[edges].sum() / 3600.0),
                    exposure=float(expo[edges].sum()),
                    road=graph.names[int(graph.name_idx[edges[0]])],
                )
            )
    passages = []
    for route in routes:
        seq: list[tuple[int, float, float]] = []
        clock = 0.0
        for e in route:
            s = segment_of[_link(graph, int(e))]
            step = float(times[int(e)])
            if seq and seq[-1][0] == s:
                seq[-1] = (s, seq[-1][1], clock + step)
            else:
                seq.append((s, clock, clock + step))
            clock += step
        passages.append(tuple(seq))
    return Segmentation(segments=tuple(segments), passages=tuple(passages))


def _cut(
    graph: RoadGraph, link_edge: Mapping[tuple[int, int], int], nodes: list[int], max_km: float
) -> list[list[int]]:
    """Cut a chain of nodes, walking along it, before the link that would take the piece over
    ``max_km``: no piece is longer unless it is a single link."""
    pieces: list[list[int]] = []
    piece = [nodes[0]]
    km = 0.0
    for a, b in itertools.pairwise(nodes):
        step = float(graph.length_m[link_edge[(a, b) if a < b else (b, a)]]) / 1000.0
        if len(piece) > 1 and km + step > max_km + 1e-9:
            pieces.append(piece)
            piece, km = [a], 0.0
        piece.append(b)
        km += step
    pieces.append(piece)
    return pieces


# -- slots ------------------------------------------------------------------------------------


def default_slot_weights(
    n_slots: int,
    *,
    night_factor: float = 1.0,
    night_start: time = time(18, 0),
    night_end: time = time(6, 0),
) -> tuple[float, ...]:
    """``1 + night_factor x`` the share of each slot inside the night window."""
    _check_slots(n_slots)
    hours = 24.0 / n_slots
    start_h = night_start.hour + night_start.minute / 60.0
    end_h = night_end.hour + night_end.minute / 60.0
    out = []
    for k in range(n_slots):
        lo, hi = k * hours, (k + 1) * hours
        windows = [(start_h, 24.0), (0.0, end_h)] if end_h <= start_h else [(start_h, end_h)]
        dark = sum(max(0.0, min(hi, b) - max(lo, a)) for a, b in windows)
        out.append(1.0 + night_factor * dark / hours)
    return tuple(out)


def _check_slots(n_slots: int) -> None:
    if isinstance(n_slots, bool) or not isinstance(n_slots, int) or not 1 <= n_slots <= MAX_SLOTS:
        msg = f"slots {n_slots!r}: a whole number from 1 to {MAX_SLOTS} (e.g. 4 slots of 6 h)"
        raise InvalidInput(msg)
    if 24 % n_slots:
        msg = (
            f"slots {n_slots!r} does not divide the day into whole hours; "
            "use 1, 2, 3, 4, 6, 8, 12 or 24"
        )
        raise InvalidInput(msg)


@dataclass(frozen=True)
class SlotScheme:
    """``n`` equal slots of the local day with their weights (the night policy)."""

    weights: tuple[float, ...]
    tz: tzinfo = LOCAL_TZ

    def __post_init__(self) -> None:
        _check_slots(len(self.weights))
        for k, w in enumerate(self.weights):
            if not (math.isfinite(w) and w > 0):
                msg = f"slot_weights[{k}] is {w!r}; slot weights must be positive numbers"
                raise InvalidInput(msg)

    @classmethod
    def default(cls, n_slots: int = 4) -> SlotScheme:
        return cls(default_slot_weights(n_slots))

    @property
    def n(self) -> int:
        return len(self.weights)

    @property
    def hours(self) -> int:
        return 24 // self.n

    def label(self, k: int) -> str:
        return f"{k * self.hours:02d}-{(k + 1) * self.hours:02d}"

    def slot_of(self, when: datetime) -> int:
        local = when.astimezone(self.tz)
        return int((local.hour + local.minute / 60.0) // self.hours)

    def bounds(self, day: date, k: int) -> tuple[datetime, datetime]:
        lo = datetime.combine(day, time(0), self.tz) + timedelta(hours=k * self.hours)
        return lo, lo + timedelta(hours=self.hours)


# -- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trip:
    """A planned movement over route ``route`` (an index into the segmented routes) leaving
    between ``earliest`` and ``latest`` with ``people`` aboard; ``name`` labels it."""

    route: int
    people: float
    earliest: datetime
    latest: datetime
    name: str = ""


@dataclass(frozen=True)
class TargetRow:
    """One (segment, slot) target with the numbers its payoffs come from."""

    target_id: str
    segment: int
    slot: int
    rate: float
    weight: float
    likelihood: float
    consequence: float
    people: float
    trips: tuple[str, ...]
    explanation: str


def _people(
    seg: Segmentation, trips: Sequence[Trip], slots: SlotScheme, start: date, days: int
) -> tuple[FloatArray, list[list[set[str]]]]:
    """Worst-day people per (segment, slot) and the trips behind them."""
    n_seg = len(seg.segments)
    per_day = np.zeros((days, n_seg, slots.n))
    names: list[list[set[str]]] = [[set() for _ in range(slots.n)] for _ in range(n_seg)]
    for trip in trips:
        if not 0 <= trip.route < len(seg.passages):
            msg = f"trip {trip.name!r}: route {trip.route} is not one of the segmented routes"
            raise InvalidInput(msg)
        for s, enter_s, leave_s in seg.passages[trip.route]:
            lo = trip.earliest + timedelta(seconds=enter_s)
            hi = trip.latest + timedelta(seconds=leave_s)
            for d in range(days):
                day = start + timedelta(days=d)
                for k in range(slots.n):
                    a, b = slots.bounds(day, k)
                    if lo < b and hi > a:
                        per_day[d, s, k] += trip.people
                        names[s][k].add(trip.name)
    return per_day.max(axis=0), names


def _override(
    tid: str, edits: Mapping[str, float], likelihood: float, consequence: float
) -> tuple[float, float, list[str]]:
    notes = []
    for key, value in edits.items():
        if key not in ("likelihood", "consequence"):
            msg = f"override of {tid!r}: {key!r} is not 'likelihood' or 'consequence'"
            raise InvalidInput(msg)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            msg = f"override of {tid!r}: {key} {value!r} must be a positive number"
            raise InvalidInput(msg)
        notes.append(f"{key} set to {value:g} by hand")
        if key == "likelihood":
            likelihood = float(value)
        else:
            consequence = float(value)
    return likelihood, consequence, notes


def corridor_targets(
    seg: Segmentation,
    trips: Sequence[Trip],
    slots: SlotScheme,
    *,
    start: date,
    days: int,
    forecast: bool,
    idle_people: float = IDLE_PEOPLE,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    labels: Sequence[str] | None = None,
) -> list[TargetRow]:
    """Targets in (segment, slot) order with payoffs derived as the module docstring says.

    ``forecast=False``: no forecast, the rate of a segment is its hours. ``overrides`` maps a
    target id (``"<segment id>@<slot label>"``) to ``{"likelihood": x}`` and/or
    ``{"consequence": y}``. ``labels`` names the segments in explanations."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        msg = f"days {days!r}: a whole number from 1 to 366"
        raise InvalidInput(msg)
    if not (math.isfinite(idle_people) and idle_people > 0):
        msg = f"idle_people {idle_people!r} must be a positive number of people"
        raise InvalidInput(msg)
    people, names = _people(seg, trips, slots, start, days)
    rows = []
    for seg_i in seg.segments:
        if forecast:
            rate = max(seg_i.exposure, LIKELIHOOD_FLOOR * seg_i.hours)
            rate_text = (
                f"exposure {rate:.3g} corridor-average hours over {seg_i.length_km:.0f} km"
                + (" (floor: off the forecast grid)" if seg_i.exposure < rate else "")
            )
        else:
            rate = max(seg_i.hours, 1e-6)
            rate_text = f"{rate:.3g} h on the road, no forecast (all roads at the average)"
        name = labels[seg_i.index] if labels is not None else seg_i.segment_id
        for k in range(slots.n):
            tid = f"{seg_i.segment_id}@{slots.label(k)}"
            weight = slots.weights[k]
            likelihood = rate * weight
            p = float(people[seg_i.index, k])
            who = sorted(names[seg_i.index][k])
            consequence = p if p > 0 else idle_people
            cons_text = (
                f"{p:g} people on the worst day ({len(who)} movement(s))"
                if p > 0
                else f"no planned movement: {idle_people:g} (idle default)"
            )
            likelihood, consequence, edited = _override(
                tid, (overrides or {}).get(tid, {}), likelihood, consequence
            )
            text = (
                f"{name} {slots.label(k)} h: likelihood {likelihood:.3g} = {rate_text} x slot "
                f"weight {weight:g}; consequence {consequence:g} = {cons_text}"
            )
            if edited:
                text += "; " + ", ".join(edited)
            rows.append(
                TargetRow(
                    tid, seg_i.index, k, rate, weight, likelihood, consequence, p, tuple(who), text
                )
            )
    unknown = sorted(set(overrides or {}) - {r.target_id for r in rows})
    if unknown:
        msg = f"override for unknown target {unknown[0]!r}; target ids look like '12-45@06-12'"
        raise InvalidInput(msg)
    return rows


def payoffs_of(rows: Sequence[TargetRow]) -> Payoffs:
    w = np.array([r.likelihood for r in rows])
    c = np.array([r.consequence for r in rows])
    return Payoffs(
        defender_covered=np.zeros_like(c),
        defender_uncovered=-c,
        attacker_covered=-0.5 * w * c,
        attacker_uncovered=w * c,
    )


# -- resources --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Force:
    """``count`` units covering a stretch of up to ``span_km`` within one slot (escort teams,
    quick-reaction forces) or, with ``checkpost=True``, one segment in every slot."""

    name: str
    count: int
    span_km: float = 150.0
    checkpost: bool = False


def _stretches(seg: Segmentation, span_km: float) -> list[tuple[int, ...]]:
    """From every segment of every route, the longest run of whole segments within
    ``span_km`` (at least one segment), deduplicated."""
    found: dict[frozenset[int], tuple[int, ...]] = {}
    for passage in seg.passages:
        order = [s for s, _, _ in passage]
        for i in range(len(order)):
            run = [order[i]]
            km = seg.segments[order[i]].length_km
            for s in order[i + 1 :]:
                km += seg.segments[s].length_km
                if km > span_km + 1e-9 or s in run:
                    break
                run.append(s)
            found.setdefault(frozenset(run), tuple(run))
    return list(found.values())


def corridor_game(
    seg: Segmentation,
    rows: Sequence[TargetRow],
    slots: SlotScheme,
    forces: Sequence[Force],
) -> SecurityGame:
    """The schedule game: targets ``rows`` (in (segment, slot) order) and one resource type
    per force."""
    n_slots = slots.n
    resources = []
    for force in forces:
        if isinstance(force.count, bool) or not isinstance(force.count, int) or force.count < 0:
            msg = f"{force.name}: count {force.count!r} must be a whole number >= 0"
            raise InvalidInput(msg)
        if force.checkpost:
            schedules = [tuple(s.index * n_slots + k for k in range(n_slots)) for s in seg.segments]
            what = f"{len(schedules)} segments to post a checkpost on"
        else:
            if not (math.isfinite(force.span_km) and force.span_km > 0):
                msg = f"{force.name}: span_km {force.span_km!r} must be a positive distance"
                raise InvalidInput(msg)
            schedules = [
                tuple(s * n_slots + k for s in run)
                for run in _stretches(seg, force.span_km)
                for k in range(n_slots)
            ]
            what = f"{len(schedules)} stretches x slots to cover"
        if force.count > len(schedules):
            msg = (
                f"{force.count} {force.name} unit(s) but only {what}; each unit takes a "
                f"different one, so lower the number of {force.name} units"
            )
            raise InvalidInput(msg)
        if force.count:
            resources.append(ResourceType(force.name, force.count, tuple(schedules)))
    if not resources:
        msg = "no resources: give at least one escort team, quick-reaction force or checkpost"
        raise InvalidInput(msg)
    return SecurityGame.single(payoffs_of(rows), resources, target_ids=[r.target_id for r in rows])


def solve_corridor(game: SecurityGame, *, solver: str = "colgen") -> Solution:
    """Solve by column generation (default) or the ERASER-C MILP (``solver="eraser"``): the
    same model and optimum; on the corridor's games column generation is ~100x faster."""
    if solver == "colgen":
        return column_generation(game)
    if solver == "eraser":
        return eraser(game)
    msg = f"solver {solver!r}: use 'colgen' (column generation) or 'eraser' (ERASER-C MILP)"
    raise InvalidInput(msg)
