"""Movement policy: an organisation's declarative, versioned rules, evaluated on a movement.

A policy is a TOML document (format in docs/network.md, section "Movement policy")::

    version = 1                 # schema version; this module reads version 1
    name = "acme security"
    revision = 7                # the organisation's own version of its policy
    night_start = "18:00"       # local Asia/Karachi time; default 18:00-06:00
    night_end = "06:00"

    [[rule]]
    id = "escort-level-4"
    description = "Police escort and armoured vehicles from substantial threat up"
    when = { min_level = 4 }
    require = ["police_escort", "armoured_vehicles"]

A rule's ``when`` is a conjunction of lower bounds (``min_level``, ``min_vehicles``,
``min_party``) and ``night = true``; a missing ``when`` applies to every movement. Each rule
has exactly one effect: ``require`` (measures from :data:`MEASURES`), ``forbid = true``,
``approvals = N`` or ``max_vehicles = N``. :func:`load_policy` validates the whole document and
reports every problem at once; :func:`evaluate` applies a policy to an :class:`Assessment` and
returns a :class:`Decision` that lists the rules that fired and why.

**Contradictory rules.** Because conditions are lower bounds, rule A's condition *contains*
rule B's when every movement B applies to is also one A applies to. A policy is rejected when a
rule could never take effect because of another one:

* a ``forbid`` rule contains the condition of a non-forbid rule (the forbid always wins, so the
  other rule's requirement can never be met); a forbid *inside* a broader ``require`` is fine:
  it forbids the worst cases of what the other rule otherwise allows;
* two ``max_vehicles`` caps where the narrower rule allows more vehicles (including two caps
  with the same condition and different values): the smaller cap always wins;
* two ``approvals`` rules where the narrower rule asks for fewer approvals: the larger count
  always wins;
* a rule that only applies from ``min_vehicles = k`` contained in a cap below ``k`` (or a cap
  rule whose own ``min_vehicles`` exceeds its cap): every movement it applies to is refused.

**Night.** The night window is in Asia/Karachi local time (UTC+05:00, no daylight saving). If
the time-zone database is missing the fixed +05:00 offset is used, which gives the same answer.
A movement is at night when any moment of ``[departure, arrival)`` falls in the window; the
window may wrap midnight and movements may last several days.

When the assessment carries ``segment_times`` (for every segment of ``levels_by_segment``,
the span in which it may be driven), a rule with ``night = true`` fires only when a segment it
applies to (level >= the rule's ``min_level``; every segment without one) is driven at night:
a movement that passes the dangerous stretch in daylight and is on the road after dark only
on quiet roads does not fire ``no-night-level-3``. Without segment times (older movements, or
callers that do not know the schedule) the conservative fallback applies: the route's highest
level with any moment of ``[departure, arrival)`` at night, as if every segment were driven at
every moment of the movement.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from silkguard.core.errors import InvalidInput
from silkguard.risk.levels import LEVEL_NAMES

__all__ = [
    "LOCAL_TZ",
    "MEASURES",
    "SCHEMA_VERSION",
    "Assessment",
    "Condition",
    "Decision",
    "FiredRule",
    "Policy",
    "Rule",
    "Status",
    "default_policy",
    "default_policy_text",
    "describe_decision",
    "evaluate",
    "load_policy",
    "night_overlap",
]

#: The policy schema version this module reads.
SCHEMA_VERSION = 1

#: The protective measures a rule may require and a movement request may provide.
MEASURES: Mapping[str, str] = {
    "police_escort": "an escort of police or levies",
    "military_escort": "an escort of the army, FC or SSD",
    "armoured_vehicles": "every vehicle armoured",
    "tracker": "live vehicle tracking watched by the operations room",
    "satellite_phone": "a satellite phone in every vehicle",
    "advance_recce": "the route reconnoitred ahead of the movement",
    "close_protection": "a close-protection officer with the party",
    "convoy": "vehicles move together as a formed convoy",
    "medic": "a trained medic with the party",
}

Status = Literal["refused", "needs_measures", "needs_approval", "approved"]
_STATUS_RANK: Mapping[str, int] = {
    "approved": 0,
    "needs_approval": 1,
    "needs_measures": 2,
    "refused": 3,
}

_LOCAL_TZ_NAME = "Asia/Karachi"
_MIN_LEVEL, _MAX_LEVEL = 1, 6
_MAX_APPROVALS = 10
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_TOP_FIELDS = ("version", "name", "revision", "night_start", "night_end", "rule")
_RULE_FIELDS = ("id", "description", "when", "require", "forbid", "approvals", "max_vehicles")
_EFFECTS = ("require", "forbid", "approvals", "max_vehicles")
_WHEN_FIELDS = ("min_level", "night", "min_vehicles", "min_party")


def _local_tz() -> tzinfo:
    try:
        return ZoneInfo(_LOCAL_TZ_NAME)
    except ZoneInfoNotFoundError:  # no tzdata: Pakistan has kept UTC+5 without DST since 2009
        return timezone(timedelta(hours=5), "PKT")


LOCAL_TZ = _local_tz()


def _level(n: int) -> str:
    return f"{n} ({LEVEL_NAMES[n]})"


@dataclass(frozen=True)
class Condition:
    """When a rule applies: all of the bounds hold (missing bounds always hold)."""

    min_level: int = 1
    night: bool = False
    min_vehicles: int = 1
    min_party: int = 1

    def contains(self, other: Condition) -> bool:
        """Whether every movement ``other`` applies to is one this condition applies to."""
        return (
            self.min_level <= other.min_level
            and self.min_vehicles <= other.min_vehicles
            and self.min_party <= other.min_party
            and (other.night or not self.night)
        )

    def describe(self) -> str:
        parts = []
        if self.min_level > 1:
            parts.append(f"threat level >= {_level(self.min_level)}")
        if self.night:
            parts.append("at night")
        if self.min_vehicles > 1:
            parts.append(f"{self.min_vehicles} or more vehicles")
        if self.min_party > 1:
            parts.append(f"{self.min_party} or more people")
        return " and ".join(parts) if parts else "every movement"


@dataclass(frozen=True)
class Rule:
    """One rule: a condition and exactly one effect (the other effect fields are empty)."""

    id: str
    description: str
    when: Condition
    require: frozenset[str] = frozenset()
    forbid: bool = False
    approvals: int = 0
    max_vehicles: int | None = None

    @property
    def effect(self) -> str:
        """Which effect the rule has: ``require``, ``forbid``, ``approvals`` or ``max_vehicles``."""
        if self.forbid:
            return "forbid"
        if self.approvals:
            return "approvals"
        if self.max_vehicles is not None:
            return "max_vehicles"
        return "require"


@dataclass(frozen=True)
class Policy:
    """A validated policy. ``fingerprint`` is the SHA-256 of the source text, for audit."""

    name: str
    revision: int
    rules: tuple[Rule, ...]
    night_start: time = time(18, 0)
    night_end: time = time(6, 0)
    version: int = SCHEMA_VERSION
    source: str = "<policy>"
    fingerprint: str = ""


@dataclass(frozen=True)
class Assessment:
    """What :func:`evaluate` needs to know about a requested movement.

    ``max_level`` is the highest threat level (1-6) along the route; ``levels_by_segment``, if
    given, are the levels of its segments (their maximum must be ``max_level``). ``departure``
    and ``arrival`` are time-zone aware; ``measures`` are the measures the request provides.
    ``segment_times``, if given, has one ``(earliest entry, latest exit)`` pair of aware
    datetimes per segment of ``levels_by_segment``: when the segment may be driven (the
    night condition then looks at the segments, see the module docstring)."""

    max_level: int
    departure: datetime
    arrival: datetime
    vehicles: int = 1
    party: int = 1
    measures: frozenset[str] = frozenset()
    levels_by_segment: tuple[int, ...] | None = None
    segment_times: tuple[tuple[datetime, datetime], ...] | None = None

    def _check_segment_times(self) -> list[str]:
        if self.segment_times is None:
            return []
        spans = tuple((a, b) for a, b in self.segment_times)
        object.__setattr__(self, "segment_times", spans)
        if self.levels_by_segment is None or len(spans) != len(self.levels_by_segment):
            n = None if self.levels_by_segment is None else len(self.levels_by_segment)
            return [
                f"segment_times has {len(spans)} spans but levels_by_segment has {n} "
                "segments; give one (entry, exit) pair per segment"
            ]
        for i, (a, b) in enumerate(spans):
            if not all(isinstance(x, datetime) and x.utcoffset() is not None for x in (a, b)):
                return [f"segment_times[{i}] must be time-zone aware datetimes"]
            if b < a:
                return [f"segment_times[{i}] ends ({b.isoformat()}) before it starts"]
        return []

    def __post_init__(self) -> None:
        problems = self._check_segment_times()
        if isinstance(self.max_level, bool) or self.max_level not in LEVEL_NAMES:
            problems.append(f"max_level must be a threat level 1-6, got {self.max_level!r}")
        if self.levels_by_segment is not None:
            segs = tuple(self.levels_by_segment)
            object.__setattr__(self, "levels_by_segment", segs)
            bad = [lv for lv in segs if isinstance(lv, bool) or lv not in LEVEL_NAMES]
            if bad:
                problems.append(f"levels_by_segment must be threat levels 1-6, got {bad[:5]}")
            elif not segs or max(segs) != self.max_level:
                problems.append(
                    f"max_level {self.max_level} is not the highest of levels_by_segment "
                    f"{list(segs)[:10]}; pass max_level=max(levels_by_segment)"
                )
        for name in ("departure", "arrival"):
            when = getattr(self, name)
            if not isinstance(when, datetime) or when.utcoffset() is None:
                problems.append(f"{name} must be a time-zone aware datetime, got {when!r}")
        if not problems and self.arrival <= self.departure:
            problems.append(
                f"arrival {self.arrival.isoformat()} is not after departure "
                f"{self.departure.isoformat()}"
            )
        for name in ("vehicles", "party"):
            n = getattr(self, name)
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                problems.append(f"{name} must be a whole number >= 1, got {n!r}")
        measures = frozenset(self.measures)
        object.__setattr__(self, "measures", measures)
        unknown = sorted(m for m in measures if m not in MEASURES)
        if unknown:
            problems.append(f"unknown measures {unknown}; known: {', '.join(MEASURES)}")
        if problems:
            msg = "Invalid movement assessment: " + "; ".join(problems) + "."
            raise InvalidInput(msg)


@dataclass(frozen=True)
class FiredRule:
    """A rule whose condition held, with why in plain words."""

    rule_id: str
    description: str
    effect: str
    why: str


@dataclass(frozen=True)
class Decision:
    """The outcome of a policy on one movement.

    ``status`` is ``refused`` when a forbid fired or the convoy exceeds a cap; else
    ``needs_measures`` when required measures are missing (the request must add them);
    else ``needs_approval`` when ``approvals_required`` > 0; else ``approved``. ``allowed``
    means the policy permits the movement as requested (possibly after approvals)."""

    status: Status
    required_measures: frozenset[str]
    missing_measures: frozenset[str]
    approvals_required: int
    max_vehicles: int | None
    fired: tuple[FiredRule, ...]
    reasons: tuple[str, ...]
    policy_name: str = ""
    policy_revision: int = 0

    @property
    def allowed(self) -> bool:
        return self.status in ("approved", "needs_approval")

    @property
    def fired_ids(self) -> tuple[str, ...]:
        return tuple(f.rule_id for f in self.fired)

    @property
    def strictness(self) -> int:
        """Rank of the status: approved 0, needs_approval 1, needs_measures 2, refused 3."""
        return _STATUS_RANK[self.status]


# --------------------------------------------------------------------------- loading


class _Problems:
    """Collects the problems of one document so they are all reported at once."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = text.splitlines()
        self.items: list[str] = []
        self._rule_starts = [
            i for i, line in enumerate(self.lines) if re.match(r"^\s*\[\[\s*rule\s*\]\]", line)
        ]

    def line_of(self, key: str, rule_index: int | None = None) -> int | None:
        """Best-effort 1-based line of ``key =`` (within the rule's block if given)."""
        lo, hi = 0, len(self.lines)
        if rule_index is not None:
            if rule_index >= len(self._rule_starts):
                return None
            lo = self._rule_starts[rule_index]
            if rule_index + 1 < len(self._rule_starts):
                hi = self._rule_starts[rule_index + 1]
        pattern = re.compile(rf"(^|[{{,\s]){re.escape(key)}\s*=")
        for i in range(lo, hi):
            if pattern.search(self.lines[i].split("#", 1)[0]):
                return i + 1
        return None

    def add(
        self, where: str, problem: str, *, key: str = "", rule_index: int | None = None
    ) -> None:
        line = self.line_of(key, rule_index) if key else None
        at = f"{self.source}:{line}" if line else self.source
        self.items.append(f"{at}: {where}: {problem}")

    def raise_if_any(self) -> None:
        if self.items:
            head = f"{self.source}: invalid movement policy ({len(self.items)} problem(s)):"
            msg = "\n".join([head, *(f"  - {p}" for p in self.items)])
            raise InvalidInput(msg)


def _rule_label(index: int, raw: Mapping[str, Any]) -> str:
    rid = raw.get("id")
    return f"rule {index + 1} (id {rid!r})" if isinstance(rid, str) else f"rule {index + 1}"


def _int_field(
    value: Any, lo: int, hi: int | None, what: str, problems: _Problems, **kw: Any
) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(what, f"must be a whole number, got {value!r}", **kw)
        return None
    if value < lo or (hi is not None and value > hi):
        accepted = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        problems.add(what, f"{value} is out of range; accepted: {accepted}", **kw)
        return None
    return value


def _hhmm(value: Any, what: str, problems: _Problems) -> time | None:
    if not isinstance(value, str) or not _HHMM_RE.match(value):
        problems.add(
            what, f'must be a 24-hour time "HH:MM" such as "18:00", got {value!r}', key=what
        )
        return None
    return time(int(value[:2]), int(value[3:]))


def _unknown(raw: Mapping[str, Any], accepted: Sequence[str]) -> list[str]:
    return sorted(k for k in raw if k not in accepted)


def _parse_when(raw: Any, label: str, index: int, problems: _Problems) -> Condition:
    if raw is None:
        return Condition()
    if not isinstance(raw, dict):
        problems.add(
            label,
            f"'when' must be a table such as {{ min_level = 4 }}, got {raw!r}",
            key="when",
            rule_index=index,
        )
        return Condition()
    for key in _unknown(raw, _WHEN_FIELDS):
        problems.add(
            label,
            f"unknown field 'when.{key}'; accepted: {', '.join(_WHEN_FIELDS)}",
            key=key,
            rule_index=index,
        )
    kw: dict[str, Any] = {"key": "", "rule_index": index}
    values: dict[str, Any] = {}
    if "min_level" in raw:
        kw["key"] = "min_level"
        values["min_level"] = _int_field(
            raw["min_level"], _MIN_LEVEL, _MAX_LEVEL, f"{label}, when.min_level", problems, **kw
        )
    for name in ("min_vehicles", "min_party"):
        if name in raw:
            kw["key"] = name
            values[name] = _int_field(raw[name], 1, None, f"{label}, when.{name}", problems, **kw)
    if "night" in raw and raw["night"] is not True:
        problems.add(
            f"{label}, when.night",
            f"only 'night = true' is accepted, got {raw['night']!r}; "
            "omit 'night' for a rule that applies at any time",
            key="night",
            rule_index=index,
        )
    cond = {k: v for k, v in values.items() if v is not None}
    return Condition(night=raw.get("night") is True, **cond)


def _parse_effect(
    effect: str, value: Any, label: str, index: int, problems: _Problems
) -> dict[str, Any]:
    """The Rule keyword arguments of one effect (problems are added to ``problems``)."""
    rule_kw: dict[str, Any] = {}
    if effect == "require":
        if not isinstance(value, list) or not value or not all(isinstance(m, str) for m in value):
            problems.add(
                label,
                f"'require' must be a non-empty list of measures, got {value!r}",
                key="require",
                rule_index=index,
            )
        else:
            unknown = sorted({m for m in value if m not in MEASURES})
            if unknown:
                problems.add(
                    label,
                    f"unknown measure(s) {', '.join(unknown)}; known measures: "
                    f"{', '.join(MEASURES)}",
                    key="require",
                    rule_index=index,
                )
            rule_kw["require"] = frozenset(value)
    elif effect == "forbid":
        if value is not True:
            problems.add(
                label,
                f"only 'forbid = true' is accepted, got {value!r}; delete a rule to allow",
                key="forbid",
                rule_index=index,
            )
        rule_kw["forbid"] = True
    elif effect == "approvals":
        n = _int_field(
            value,
            1,
            _MAX_APPROVALS,
            f"{label}, approvals",
            problems,
            key="approvals",
            rule_index=index,
        )
        rule_kw["approvals"] = n or 1
    else:
        cap = _int_field(
            value, 1, None, f"{label}, max_vehicles", problems, key="max_vehicles", rule_index=index
        )
        rule_kw["max_vehicles"] = cap or 1
    return rule_kw


def _parse_rule(raw: Any, index: int, problems: _Problems) -> Rule | None:
    if not isinstance(raw, dict):
        problems.add(f"rule {index + 1}", "must be a [[rule]] table")
        return None
    label = _rule_label(index, raw)
    before = len(problems.items)
    for key in _unknown(raw, _RULE_FIELDS):
        problems.add(
            label,
            f"unknown field {key!r}; accepted: {', '.join(_RULE_FIELDS)}",
            key=key,
            rule_index=index,
        )
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        problems.add(
            label,
            f"'id' must be a slug of lower-case letters, digits, '-' and '_' (at most 64), "
            f"got {rid!r}",
            key="id",
            rule_index=index,
        )
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.add(
            label,
            "'description' must be a non-empty string saying what the rule is for",
            key="description",
            rule_index=index,
        )
    when = _parse_when(raw.get("when"), label, index, problems)
    effects = [e for e in _EFFECTS if e in raw]
    if len(effects) != 1:
        if effects:
            problem = f"found {', '.join(effects)}; split it into one rule per effect"
        else:
            problem = 'found none; add one, such as require = ["police_escort"]'
        problems.add(
            label,
            f"a rule has exactly one effect of {', '.join(_EFFECTS)}; {problem}",
            key=effects[1] if len(effects) > 1 else "id",
            rule_index=index,
        )
        return None
    rule_kw = _parse_effect(effects[0], raw[effects[0]], label, index, problems)
    if len(problems.items) > before:
        return None
    assert isinstance(rid, str)
    assert isinstance(description, str)
    return Rule(id=rid, description=description.strip(), when=when, **rule_kw)


def _contradictions(rules: Sequence[Rule], problems: _Problems) -> None:
    """Rules that can never take effect because of another rule (module docstring)."""
    index = {r.id: i for i, r in enumerate(rules)}

    def add(b: Rule, why: str) -> None:
        i = index[b.id]
        problems.add(f"rule {i + 1} (id {b.id!r})", f"contradictory: {why}", key="id", rule_index=i)

    for b in rules:
        if b.max_vehicles is not None and b.when.min_vehicles > b.max_vehicles:
            add(
                b,
                f"it applies only to {b.when.min_vehicles} or more vehicles but caps convoys at "
                f"{b.max_vehicles}, so it refuses every movement it applies to; use forbid = true",
            )
    for a in rules:
        for b in rules:
            if a is b or not a.when.contains(b.when):
                continue
            # b's condition is inside a's: whenever b applies, a applies too.
            if a.forbid and not b.forbid:
                add(
                    b,
                    f"rule {a.id!r} forbids every movement this rule applies to "
                    f"({a.when.describe()} contains {b.when.describe()}), so its "
                    f"{b.effect} can never take effect; narrow {a.id!r} or drop this rule",
                )
            elif a.max_vehicles is not None and b.max_vehicles is not None:
                if b.max_vehicles > a.max_vehicles:
                    add(
                        b,
                        f"it allows {b.max_vehicles} vehicles but rule {a.id!r} caps the same "
                        f"movements ({b.when.describe()}) at {a.max_vehicles}; use one cap or "
                        "make the narrower rule the stricter",
                    )
            elif a.approvals and b.approvals and b.approvals < a.approvals:
                add(
                    b,
                    f"it asks for {b.approvals} approval(s) but rule {a.id!r} asks for "
                    f"{a.approvals} for the same movements ({b.when.describe()}); use one "
                    "count or make the narrower rule the stricter",
                )
            if a.max_vehicles is not None and not b.forbid and b.when.min_vehicles > a.max_vehicles:
                add(
                    b,
                    f"it applies only to {b.when.min_vehicles} or more vehicles, which rule "
                    f"{a.id!r} refuses (at most {a.max_vehicles}) whenever this rule applies",
                )


def _parse_rules(raw_rules: Any, problems: _Problems) -> list[Rule]:
    rules: list[Rule] = []
    if raw_rules is None or (isinstance(raw_rules, list) and not raw_rules):
        problems.add(
            "rule",
            "a policy has at least one [[rule]] table (without rules it approves everything)",
        )
    elif not isinstance(raw_rules, list):
        problems.add("rule", "rules are written as [[rule]] tables", key="rule")
    else:
        for i, raw in enumerate(raw_rules):
            rule = _parse_rule(raw, i, problems)
            if rule is not None:
                rules.append(rule)
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        rid = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(rid, str):
            if rid in seen:
                problems.add(
                    f"rule {i + 1}",
                    f"duplicate id {rid!r} (also rule {seen[rid] + 1}); ids must be unique",
                    key="id",
                    rule_index=i,
                )
            else:
                seen[rid] = i
    return rules


def _parse(data: Mapping[str, Any], problems: _Problems) -> Policy | None:
    for key in _unknown(data, _TOP_FIELDS):
        hint = " (rules are [[rule]] tables)" if key == "rules" else ""
        problems.add(
            "top level",
            f"unknown field {key!r}{hint}; accepted: {', '.join(_TOP_FIELDS)}",
            key=key,
        )
    version = data.get("version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        problems.add(
            "version",
            f"schema version {version!r} is not supported; this silkguard reads "
            f"version = {SCHEMA_VERSION}",
            key="version",
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add("name", f"must be a non-empty string, got {name!r}", key="name")
    revision = _int_field(data.get("revision"), 1, None, "revision", problems, key="revision")
    night_start = _hhmm(data.get("night_start", "18:00"), "night_start", problems)
    night_end = _hhmm(data.get("night_end", "06:00"), "night_end", problems)
    if night_start is not None and night_start == night_end:
        problems.add(
            "night_start/night_end",
            f"the night window {night_start:%H:%M}-{night_end:%H:%M} has zero length; give "
            'different times, such as night_start = "18:00" and night_end = "06:00"',
            key="night_end",
        )
    rules = _parse_rules(data.get("rule"), problems)
    if problems.items:
        return None
    _contradictions(rules, problems)
    if problems.items:
        return None
    assert isinstance(name, str)
    assert revision is not None
    assert night_start is not None
    assert night_end is not None
    return Policy(
        name=name.strip(),
        revision=revision,
        rules=tuple(rules),
        night_start=night_start,
        night_end=night_end,
        version=SCHEMA_VERSION,
    )


def load_policy(source: str | PathLike[str], *, name: str = "<policy>") -> Policy:
    """Parse and validate a policy: a :class:`~pathlib.Path` (or other path-like) is read as a
    file, a ``str`` is the TOML text itself (``name`` names it in messages). Raises
    :class:`InvalidInput` listing every problem with the line where it can be found."""
    if isinstance(source, str):
        text, label = source, name
    else:
        path = Path(source)
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"{label}: cannot read the policy file: {exc}. Give a readable UTF-8 TOML file."
            raise InvalidInput(msg) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = (
            f"{label}: not valid TOML: {exc}. Fix the syntax there (strings in double quotes, "
            "one key = value per line, rules as [[rule]] tables)."
        )
        raise InvalidInput(msg) from exc
    problems = _Problems(label, text)
    policy = _parse(data, problems)
    problems.raise_if_any()
    assert policy is not None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Policy(
        name=policy.name,
        revision=policy.revision,
        rules=policy.rules,
        night_start=policy.night_start,
        night_end=policy.night_end,
        version=policy.version,
        source=label,
        fingerprint=digest,
    )


def default_policy_text() -> str:
    """The TOML text of the policy silkguard ships (``journeys/data/default_policy.toml``)."""
    return (
        resources.files("silkguard.journeys")
        .joinpath("data", "default_policy.toml")
        .read_text(encoding="utf-8")
    )


def default_policy() -> Policy:
    """The policy silkguard ships (``journeys/data/default_policy.toml``)."""
    return load_policy(default_policy_text(), name="default_policy.toml")


# --------------------------------------------------------------------------- evaluation


def night_overlap(
    departure: datetime, arrival: datetime, start: time, end: time
) -> datetime | None:
    """The first local moment of ``[departure, arrival)`` inside the daily window
    ``[start, end)`` (wrapping midnight when ``end <= start``), or None."""
    dep = departure.astimezone(LOCAL_TZ)
    arr = arrival.astimezone(LOCAL_TZ)
    day = dep.date() - timedelta(days=1)
    while day <= arr.date():
        w_start = datetime.combine(day, start, tzinfo=LOCAL_TZ)
        end_day = day if end > start else day + timedelta(days=1)
        w_end = datetime.combine(end_day, end, tzinfo=LOCAL_TZ)
        first = max(dep, w_start)
        if first < min(arr, w_end):
            return first
        day += timedelta(days=1)
    return None


def _dark_segments(a: Assessment, min_level: int, policy: Policy) -> list[tuple[int, datetime]]:
    """Segments at ``min_level`` or above that may be driven at night, with the first local
    moment of night on each, in route order."""
    assert a.segment_times is not None
    assert a.levels_by_segment is not None
    out = []
    for i, (level, (enter, leave)) in enumerate(
        zip(a.levels_by_segment, a.segment_times, strict=True)
    ):
        if level < min_level:
            continue
        # a segment of no duration is driven at one instant
        end = leave if leave > enter else enter + timedelta(seconds=1)
        at = night_overlap(enter, end, policy.night_start, policy.night_end)
        if at is not None:
            out.append((i, at))
    return out


def _why_night(cond: Condition, a: Assessment, policy: Policy) -> str | None:
    """Why the night part of ``cond`` holds (per segment when the assessment has segment
    times, else for the whole movement), or None."""
    window = f"night is {policy.night_start:%H:%M}-{policy.night_end:%H:%M} {_LOCAL_TZ_NAME}"
    if a.segment_times is not None and a.levels_by_segment is not None:
        dark = _dark_segments(a, cond.min_level, policy)
        if not dark:
            return None
        first, at = dark[0]
        n = len(a.levels_by_segment)
        if cond.min_level > 1:
            what = f"{len(dark)} segment(s) at level >= {_level(cond.min_level)} are"
        else:
            what = f"{len(dark)} of {n} segments are"
        return (
            f"{what} driven at night, the first (segment {first + 1} of {n}, level "
            f"{_level(a.levels_by_segment[first])}) from {at:%Y-%m-%d %H:%M} ({window})"
        )
    moment = night_overlap(a.departure, a.arrival, policy.night_start, policy.night_end)
    if moment is None:
        return None
    return (
        f"the movement is on the road at night from {moment:%Y-%m-%d %H:%M} ({window}; no "
        "schedule per segment, so the route's highest level counts for the whole movement)"
    )


def _why(rule: Rule, a: Assessment, policy: Policy) -> str | None:
    """Why the rule's condition holds, or None if it does not."""
    cond = rule.when
    parts = []
    if cond.min_level > 1:
        if a.max_level < cond.min_level:
            return None
        where = ""
        if a.levels_by_segment:
            n = sum(lv >= cond.min_level for lv in a.levels_by_segment)
            where = f" ({n} of {len(a.levels_by_segment)} segments at >= {cond.min_level})"
        parts.append(
            f"highest threat level on the route is {_level(a.max_level)} >= "
            f"{_level(cond.min_level)}{where}"
        )
    if cond.night:
        night = _why_night(cond, a, policy)
        if night is None:
            return None
        parts.append(night)
    if cond.min_vehicles > 1:
        if a.vehicles < cond.min_vehicles:
            return None
        parts.append(f"the convoy has {a.vehicles} vehicles >= {cond.min_vehicles}")
    if cond.min_party > 1:
        if a.party < cond.min_party:
            return None
        parts.append(f"the party has {a.party} people >= {cond.min_party}")
    return "; ".join(parts) if parts else "the rule applies to every movement"


def evaluate(policy: Policy, assessment: Assessment) -> Decision:
    """Apply every rule of ``policy`` to ``assessment`` (see :class:`Decision`). Fired rules and
    reasons are in policy order."""
    hits = [(r, why) for r in policy.rules if (why := _why(r, assessment, policy)) is not None]
    fired = [FiredRule(r.id, r.description, r.effect, why) for r, why in hits]
    forbids = [r for r, _ in hits if r.forbid]
    required: dict[str, list[str]] = {}
    for r, _ in hits:
        for m in sorted(r.require):
            required.setdefault(m, []).append(r.id)
    approvals = max((r.approvals for r, _ in hits), default=0)
    approval_rules = [r.id for r, _ in hits if approvals and r.approvals == approvals]
    caps = [r.max_vehicles for r, _ in hits if r.max_vehicles is not None]
    cap = min(caps) if caps else None
    cap_rules = [r.id for r, _ in hits if cap is not None and r.max_vehicles == cap]

    reasons = [f"forbidden by rule {r.id}: {r.description}" for r in forbids]
    if cap is not None and assessment.vehicles > cap:
        reasons.append(
            f"{assessment.vehicles} vehicles exceed the cap of {cap} set by rule "
            f"{', '.join(cap_rules)}; split the movement into convoys of at most {cap}"
        )
    missing = {m: ids for m, ids in required.items() if m not in assessment.measures}
    reasons.extend(f"missing {m} required by rule {', '.join(ids)}" for m, ids in missing.items())
    status: Status
    if forbids or (cap is not None and assessment.vehicles > cap):
        status = "refused"
    elif missing:
        status = "needs_measures"
    elif approvals:
        status = "needs_approval"
    else:
        status = "approved"
    if approvals:
        who = "an approver" if approvals == 1 else f"{approvals} distinct approvers"
        reasons.append(f"needs sign-off by {who} (rule {', '.join(approval_rules)})")
    return Decision(
        status=status,
        required_measures=frozenset(required),
        missing_measures=frozenset(missing),
        approvals_required=approvals,
        max_vehicles=cap,
        fired=tuple(fired),
        reasons=tuple(reasons),
        policy_name=policy.name,
        policy_revision=policy.revision,
    )


def describe_decision(decision: Decision) -> str:
    """The decision in a few plain lines (status, reasons, rules that fired)."""
    lines = [f"{decision.status} under {decision.policy_name} revision {decision.policy_revision}"]
    lines.extend(f"  - {r}" for r in decision.reasons)
    lines.extend(f"  fired {f.rule_id}: {f.why}" for f in decision.fired)
    return "\n".join(lines)
