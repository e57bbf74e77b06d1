"""Movement policy: loading and validating TOML policies, and decisions on movements."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silkguard.core.errors import InvalidInput
from silkguard.journeys import policy as policy_module
from silkguard.journeys.policy import (
    MEASURES,
    Assessment,
    Decision,
    Policy,
    default_policy,
    evaluate,
    load_policy,
    night_overlap,
)

PKT = timezone(timedelta(hours=5))
FULL_L5 = frozenset({"police_escort", "armoured_vehicles", "tracker", "military_escort"})


def pkt(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, Pakistan time, as UTC (what callers pass)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=PKT).astimezone(UTC)


def movement(
    level: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    vehicles: int = 2,
    party: int = 4,
    measures: frozenset[str] = frozenset(),
) -> Assessment:
    return Assessment(
        max_level=level,
        departure=start or pkt(1, 8),
        arrival=end or pkt(1, 12),
        vehicles=vehicles,
        party=party,
        measures=measures,
    )


@pytest.fixture(scope="module")
def policy() -> Policy:
    return default_policy()


HEAD = 'version = 1\nname = "test"\nrevision = 3\n'


def policy_text(*rules: str, head: str = HEAD) -> str:
    return head + "".join(f"\n[[rule]]\n{r.strip()}\n" for r in rules)


def rule(rid: str, when: str, effect: str) -> str:
    return f'id = "{rid}"\ndescription = "d {rid}"\nwhen = {{ {when} }}\n{effect}'


# --------------------------------------------------------------------------- the check


def test_level_5_refused_without_escort_and_allowed_with_it(policy: Policy) -> None:
    bare = evaluate(policy, movement(5))
    assert bare.status == "needs_measures"
    assert not bare.allowed
    assert bare.missing_measures == FULL_L5
    assert any("police_escort" in r and "escort-level-4" in r for r in bare.reasons)
    assert any("military_escort" in r and "military-escort-level-5" in r for r in bare.reasons)

    escorted = evaluate(policy, movement(5, measures=FULL_L5))
    assert escorted.status == "needs_approval"
    assert escorted.allowed
    assert escorted.approvals_required == 2
    assert not escorted.missing_measures
    assert escorted.fired_ids == (
        "approval-level-3",
        "escort-level-4",
        "convoy-cap-level-4",
        "military-escort-level-5",
        "approvals-level-5",
    )
    assert "5 (severe) >= 4" in escorted.fired[1].why
    assert any("approvals-level-5" in r for r in escorted.reasons)
    assert (escorted.policy_name, escorted.policy_revision) == ("silkguard default", 1)


def test_default_levels(policy: Policy) -> None:
    assert evaluate(policy, movement(1)).status == "approved"
    assert evaluate(policy, movement(2)).fired == ()
    low = evaluate(policy, movement(3))
    assert (low.status, low.approvals_required) == ("needs_approval", 1)
    extreme = evaluate(policy, movement(6, measures=frozenset(MEASURES)))
    assert extreme.status == "refused"
    assert any("forbid-level-6" in r for r in extreme.reasons)


# --------------------------------------------------------------------------- night


@pytest.mark.parametrize(
    ("level", "start", "end", "fires"),
    [
        (3, pkt(1, 17), pkt(1, 19, 30), True),  # runs into the night
        (3, pkt(1, 8), pkt(1, 12), False),
        (3, pkt(1, 23), pkt(2, 1), True),  # across midnight
        (3, pkt(1, 5), pkt(1, 7), True),  # ends after dawn
        (3, pkt(1, 6), pkt(1, 18), False),  # the window is half open
        (3, pkt(1, 7), pkt(3, 7), True),  # several days
        (2, pkt(1, 23), pkt(2, 1), False),  # low threat at night is fine
    ],
)
def test_night_rule(
    policy: Policy, level: int, start: datetime, end: datetime, *, fires: bool
) -> None:
    decision = evaluate(policy, movement(level, start=start, end=end))
    assert ("no-night-level-3" in decision.fired_ids) is fires
    assert (decision.status == "refused") is fires


def test_night_reason_names_the_local_time(policy: Policy) -> None:
    decision = evaluate(policy, movement(3, start=pkt(1, 17), end=pkt(1, 19, 30)))
    night = next(f for f in decision.fired if f.rule_id == "no-night-level-3")
    assert "2026-03-01 18:00" in night.why
    assert any("no-night-level-3" in r for r in decision.reasons)


def scheduled(
    levels: tuple[int, ...], spans: list[tuple[datetime, datetime]], **kw: object
) -> Assessment:
    """A movement whose segments (``levels``) are driven in ``spans``."""
    return Assessment(
        max_level=max(levels),
        departure=(first := min(a for a, _ in spans)),
        arrival=max([b for _, b in spans] + [first + timedelta(minutes=1)]),
        vehicles=2,
        party=4,
        levels_by_segment=levels,
        segment_times=tuple(spans),
        **kw,  # type: ignore[arg-type]
    )


def test_night_rule_fires_only_because_the_dangerous_segment_is_reached_after_dark(
    policy: Policy,
) -> None:
    # 15:00-19:00: two quiet segments in daylight, the level-4 one from 17:45, into the night
    spans = [(pkt(1, 15), pkt(1, 16, 30)), (pkt(1, 16, 30), pkt(1, 17, 45))]
    late = scheduled((1, 2, 4), [*spans, (pkt(1, 17, 45), pkt(1, 19))])
    decision = evaluate(policy, late)
    assert "no-night-level-3" in decision.fired_ids
    assert decision.status == "refused"
    why = next(f.why for f in decision.fired if f.rule_id == "no-night-level-3")
    assert "segment 3 of 3" in why
    assert "2026-03-01 18:00" in why
    assert any("forbidden by rule no-night-level-3" in r for r in decision.reasons)
    # leaving earlier, the level-4 segment is behind the party by 17:30; the last quiet
    # segment runs into the night, which the default policy allows at level 1
    early = scheduled(
        (4, 1, 1),
        [
            (pkt(1, 15), pkt(1, 17, 30)),
            (pkt(1, 17, 30), pkt(1, 18, 30)),
            (pkt(1, 18, 30), pkt(1, 19)),
        ],
    )
    decision = evaluate(policy, early)
    assert "no-night-level-3" not in decision.fired_ids
    assert "escort-level-4" in decision.fired_ids  # the level rules still see the segment
    assert decision.status == "needs_measures"
    # without the schedule the conservative reading fires the rule for the same movement
    fallback = Assessment(
        max_level=4,
        departure=early.departure,
        arrival=early.arrival,
        vehicles=2,
        party=4,
        levels_by_segment=(4, 1, 1),
    )
    decision = evaluate(policy, fallback)
    assert "no-night-level-3" in decision.fired_ids
    why = next(f.why for f in decision.fired if f.rule_id == "no-night-level-3")
    assert "no schedule per segment" in why


@pytest.mark.parametrize(
    ("span", "fires"),
    [
        ((pkt(1, 6), pkt(1, 18)), False),  # dawn to dusk: the window is half open
        ((pkt(1, 7), pkt(1, 8)), False),
        ((pkt(1, 5, 59), pkt(1, 7)), True),  # a minute before dawn
        ((pkt(1, 17), pkt(1, 18, 1)), True),  # a minute after dusk
        ((pkt(1, 23), pkt(2, 1)), True),  # across midnight
        ((pkt(1, 7), pkt(3, 7)), True),  # several days
        ((pkt(2, 12), pkt(2, 12)), False),  # an instant at noon
        ((pkt(2, 2), pkt(2, 2)), True),  # an instant at 02:00
    ],
)
def test_segment_night_boundaries(
    policy: Policy, span: tuple[datetime, datetime], *, fires: bool
) -> None:
    a = scheduled((1, 3), [(span[0] - timedelta(hours=1), span[0]), span])
    assert ("no-night-level-3" in evaluate(policy, a).fired_ids) is fires


def test_a_night_rule_without_a_level_looks_at_every_segment() -> None:
    pol = load_policy(
        policy_text(rule("tracker-at-night", "night = true", 'require = ["tracker"]'))
    )
    day = scheduled((1, 1), [(pkt(1, 8), pkt(1, 9)), (pkt(1, 9), pkt(1, 10))])
    assert evaluate(pol, day).fired == ()
    dusk = scheduled((1, 1), [(pkt(1, 17), pkt(1, 17, 30)), (pkt(1, 17, 30), pkt(1, 18, 30))])
    fired = evaluate(pol, dusk).fired
    assert [f.rule_id for f in fired] == ["tracker-at-night"]
    assert "1 of 2 segments" in fired[0].why
    # the policy's own window decides, not the default one
    late = load_policy(
        policy_text(
            rule("tracker-at-night", "night = true", 'require = ["tracker"]'),
            head=HEAD + 'night_start = "20:00"\nnight_end = "05:00"\n',
        )
    )
    assert evaluate(late, dusk).fired == ()


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"levels_by_segment": (1, 3), "segment_times": ((pkt(1, 8), pkt(1, 9)),)}, "1 spans"),
        ({"segment_times": ((pkt(1, 8), pkt(1, 9)),)}, "levels_by_segment has None"),
        (
            {
                "levels_by_segment": (3,),
                "segment_times": ((datetime(2026, 3, 1, 8), pkt(1, 9)),),  # noqa: DTZ001
            },
            "aware",
        ),
        (
            {"levels_by_segment": (3,), "segment_times": ((pkt(1, 9), pkt(1, 8)),)},
            "before it starts",
        ),
    ],
)
def test_bad_segment_times_are_refused(kw: dict[str, object], word: str) -> None:
    with pytest.raises(InvalidInput, match=word):
        Assessment(max_level=3, departure=pkt(1, 8), arrival=pkt(1, 12), **kw)  # type: ignore[arg-type]


def test_fixed_offset_fallback_without_tzdata(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(key: str) -> None:
        raise ZoneInfoNotFoundError(key)

    monkeypatch.setattr(policy_module, "ZoneInfo", missing)
    tz = policy_module._local_tz()
    assert tz.utcoffset(None) == timedelta(hours=5)
    monkeypatch.setattr(policy_module, "LOCAL_TZ", tz)
    assert night_overlap(pkt(1, 17), pkt(1, 19), time(18), time(6)) == pkt(1, 18)


def test_night_overlap_with_window_inside_one_day() -> None:
    start, end = time(1, 0), time(4, 0)
    assert night_overlap(pkt(1, 0), pkt(1, 2), start, end) == pkt(1, 1)
    assert night_overlap(pkt(1, 4), pkt(2, 0, 30), start, end) is None
    assert night_overlap(pkt(1, 22), pkt(2, 1, 30), start, end) == pkt(2, 1)


# --------------------------------------------------------------------------- combining rules


def test_convoy_cap(policy: Policy) -> None:
    ok = evaluate(policy, movement(4, vehicles=6, measures=FULL_L5))
    assert ok.max_vehicles == 6
    assert ok.allowed
    big = evaluate(policy, movement(4, vehicles=7, measures=FULL_L5))
    assert big.status == "refused"
    assert any("7 vehicles exceed the cap of 6" in r for r in big.reasons)
    assert evaluate(policy, movement(3, vehicles=20)).max_vehicles is None


def test_caps_take_the_minimum_approvals_the_maximum_and_measures_the_union() -> None:
    text = policy_text(
        rule("cap-a", "min_level = 2", "max_vehicles = 8"),
        rule("cap-b", "min_level = 3", "max_vehicles = 5"),
        rule("ap-a", "min_level = 2", "approvals = 1"),
        rule("ap-b", "min_level = 3", "approvals = 3"),
        rule("req-a", "min_level = 2", 'require = ["tracker", "satellite_phone"]'),
        rule("req-b", "min_level = 3", 'require = ["tracker", "advance_recce"]'),
        rule("big-party", "min_party = 10", 'require = ["medic"]'),
    )
    pol = load_policy(text)
    d = evaluate(pol, movement(3, party=12, measures=frozenset({"tracker"})))
    assert d.max_vehicles == 5
    assert d.approvals_required == 3
    assert d.required_measures == {"tracker", "satellite_phone", "advance_recce", "medic"}
    assert d.missing_measures == {"satellite_phone", "advance_recce", "medic"}
    assert "the party has 12 people >= 10" in d.fired[-1].why
    lower = evaluate(pol, movement(2, party=3))
    assert (lower.max_vehicles, lower.approvals_required) == (8, 1)
    assert "big-party" not in lower.fired_ids


def test_rule_without_condition_always_fires() -> None:
    pol = load_policy(policy_text('id = "always"\ndescription = "x"\nrequire = ["tracker"]'))
    d = evaluate(pol, movement(1))
    assert d.fired_ids == ("always",)
    assert d.fired[0].why == "the rule applies to every movement"


def test_assessment_is_validated() -> None:
    with pytest.raises(InvalidInput, match="max_level"):
        movement(7)
    with pytest.raises(InvalidInput, match="unknown measures"):
        movement(3, measures=frozenset({"tank"}))
    with pytest.raises(InvalidInput, match="time-zone aware"):
        Assessment(max_level=3, departure=datetime(2026, 3, 1), arrival=pkt(1, 9))  # noqa: DTZ001
    with pytest.raises(InvalidInput, match="not after departure"):
        movement(3, start=pkt(1, 9), end=pkt(1, 9))
    with pytest.raises(InvalidInput, match="highest of levels_by_segment"):
        Assessment(3, pkt(1, 8), pkt(1, 9), levels_by_segment=(1, 2))
    seg = Assessment(5, pkt(1, 8), pkt(1, 9), levels_by_segment=(1, 5, 5, 2))
    assert "(2 of 4 segments at >= 4)" in evaluate(default_policy(), seg).fired[1].why


# --------------------------------------------------------------------------- loading


def test_default_policy_loads_from_file(tmp_path: Path) -> None:
    pol = default_policy()
    assert pol.version == 1
    assert pol.night_start == time(18, 0)
    assert len(pol.fingerprint) == 64
    path = tmp_path / "acme.toml"
    path.write_text(policy_text(rule("r", "min_level = 2", "approvals = 1")), encoding="utf-8")
    loaded = load_policy(path)
    assert loaded.source == str(path)
    assert loaded.revision == 3


def bad(text: str) -> str:
    with pytest.raises(InvalidInput) as info:
        load_policy(text, name="acme.toml")
    return info.value.msg


def test_toml_syntax_error_has_line() -> None:
    msg = bad(HEAD + "\n[[rule]]\nid = escort\n")
    assert "acme.toml: not valid TOML" in msg
    assert "line 6" in msg


def test_unknown_top_level_field() -> None:
    msg = bad(policy_text(rule("r", "min_level = 2", "approvals = 1"), head=HEAD + "owner = 1\n"))
    assert "acme.toml:4: top level: unknown field 'owner'" in msg
    assert "accepted: version, name, revision" in msg


def test_unknown_rule_field_names_the_rule() -> None:
    msg = bad(
        policy_text(
            rule("ok", "min_level = 2", "approvals = 1"),
            rule("escort", "min_level = 4", 'require = ["tracker"]\nseverity = 2'),
        )
    )
    assert "rule 2 (id 'escort'): unknown field 'severity'" in msg
    assert "acme.toml:16:" in msg  # the line of severity
    assert "accepted: id, description, when" in msg


def test_unknown_when_field_and_measure() -> None:
    msg = bad(policy_text(rule("r", "min_level = 2, nite = true", 'require = ["tank"]')))
    assert "unknown field 'when.nite'" in msg
    assert "unknown measure(s) tank; known measures: police_escort, military_escort" in msg
    assert "2 problem(s)" in msg


def test_duplicate_ids() -> None:
    msg = bad(
        policy_text(rule("r", "min_level = 2", "approvals = 1"), rule("r", "", "forbid = true"))
    )
    assert "duplicate id 'r' (also rule 1)" in msg


def test_contradictory_caps() -> None:
    msg = bad(
        policy_text(
            rule("cap-4", "min_level = 4", "max_vehicles = 6"),
            rule("cap-4-again", "min_level = 4", "max_vehicles = 8"),
        )
    )
    assert "(id 'cap-4-again'): contradictory" in msg
    assert "caps the same movements" in msg
    assert "cap-4'" in msg


def test_forbid_inside_require_is_fine_but_require_inside_forbid_is_not() -> None:
    load_policy(
        policy_text(
            rule("escort", "min_level = 4", 'require = ["police_escort"]'),
            rule("no-6", "min_level = 6", "forbid = true"),
        )
    )
    msg = bad(
        policy_text(
            rule("no-4", "min_level = 4", "forbid = true"),
            rule("escort-5", "min_level = 5", 'require = ["police_escort"]'),
        )
    )
    assert "(id 'escort-5'): contradictory: rule 'no-4' forbids every movement" in msg


def test_contradictory_approvals_and_vehicle_conditions() -> None:
    msg = bad(
        policy_text(
            rule("two", "min_level = 3", "approvals = 2"),
            rule("one", "min_level = 5", "approvals = 1"),
            rule("cap", "", "max_vehicles = 4"),
            rule("big", "min_vehicles = 6", 'require = ["convoy"]'),
            rule("self", "min_vehicles = 9", "max_vehicles = 3"),
        )
    )
    assert "(id 'one'): contradictory: it asks for 1 approval(s)" in msg
    assert "(id 'big'): contradictory: it applies only to 6 or more vehicles" in msg
    assert "(id 'self'): contradictory: it applies only to 9 or more vehicles but caps" in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            policy_text(rule("r", "min_level = 7", "forbid = true")),
            "7 is out of range; accepted: 1..6",
        ),
        (policy_text(rule("r", "min_level = true", "forbid = true")), "must be a whole number"),
        (
            policy_text(
                rule("r", "min_level = 3", "forbid = true"),
                head=HEAD + 'night_start = "18:00"\nnight_end = "18:00"\n',
            ),
            "has zero length",
        ),
        (
            policy_text(
                rule("r", "min_level = 3", "forbid = true"), head=HEAD + 'night_end = "6am"\n'
            ),
            'a 24-hour time "HH:MM"',
        ),
        (policy_text('id = "r"\ndescription = "d"\nwhen = { min_level = 3 }'), "found none"),
        (
            policy_text(rule("r", "min_level = 3", "forbid = true\napprovals = 2")),
            "found forbid, approvals; split it into one rule per effect",
        ),
        (policy_text(rule("r", "min_level = 3", "forbid = false")), "only 'forbid = true'"),
        (policy_text(rule("r", "night = false", "forbid = true")), "only 'night = true'"),
        (policy_text(rule("r", "", "approvals = 0")), "0 is out of range"),
        (policy_text(rule("Bad Id", "", "approvals = 1")), "'id' must be a slug"),
        (policy_text(rule("r", "", "require = []")), "non-empty list of measures"),
        (HEAD, "at least one [[rule]]"),
        (
            policy_text(
                rule("r", "", "approvals = 1"), head='version = 2\nname = "x"\nrevision = 1\n'
            ),
            "schema version 2 is not supported",
        ),
        (
            policy_text(
                rule("r", "", "approvals = 1"), head='version = 1\nname = ""\nrevision = 0\n'
            ),
            "name: must be a non-empty string",
        ),
    ],
)
def test_bad_policies(text: str, expected: str) -> None:
    assert expected in bad(text)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.toml")


# --------------------------------------------------------------------------- monotonicity


def _at_least_as_strict(hi: Decision, lo: Decision) -> bool:
    return (
        hi.strictness >= lo.strictness
        and hi.required_measures >= lo.required_measures
        and hi.approvals_required >= lo.approvals_required
        and (lo.max_vehicles is None or (hi.max_vehicles or 0) <= lo.max_vehicles)
        and set(hi.fired_ids) >= set(lo.fired_ids)
    )


@settings(max_examples=200, deadline=None)
@given(
    lo=st.integers(1, 6),
    bump=st.integers(0, 5),
    start_h=st.integers(0, 23),
    hours=st.integers(1, 30),
    vehicles=st.integers(1, 10),
    measures=st.frozensets(st.sampled_from(sorted(MEASURES))),
)
def test_raising_the_level_is_never_less_strict(
    lo: int, bump: int, start_h: int, hours: int, vehicles: int, measures: frozenset[str]
) -> None:
    policy = default_policy()
    hi = min(6, lo + bump)
    start = pkt(1, start_h)
    end = start + timedelta(hours=hours)
    d_lo, d_hi = (
        evaluate(policy, movement(lv, start=start, end=end, vehicles=vehicles, measures=measures))
        for lv in (lo, hi)
    )
    assert _at_least_as_strict(d_hi, d_lo)
