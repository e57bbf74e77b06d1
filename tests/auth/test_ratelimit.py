from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkguard.auth.ratelimit import SlidingWindowLimiter


@given(
    max_events=st.integers(1, 5),
    window_s=st.integers(1, 20),
    gaps=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b", "c"])), max_size=80),
)
def test_never_more_than_max_events_in_any_window(
    max_events: int, window_s: int, gaps: list[tuple[int, str]]
) -> None:
    limiter = SlidingWindowLimiter(max_events, float(window_s))
    now = 0
    allowed: dict[str, list[int]] = {}
    for gap, key in gaps:
        now += gap
        if limiter.hit(key, float(now)):
            allowed.setdefault(key, []).append(now)
        else:
            assert limiter.retry_after(key, float(now)) > 0
    for times in allowed.values():
        for start in times:  # every window [start, start + window_s) that begins at an event
            inside = [t for t in times if start <= t < start + window_s]
            assert len(inside) <= max_events


@given(max_events=st.integers(1, 5), window_s=st.integers(1, 20))
def test_a_steady_caller_gets_exactly_the_budget(max_events: int, window_s: int) -> None:
    limiter = SlidingWindowLimiter(max_events, float(window_s))
    results = [limiter.hit("k", 0.0) for _ in range(max_events + 3)]
    assert results == [True] * max_events + [False] * 3
    assert limiter.retry_after("k", 0.0) == window_s
    assert limiter.retry_after("k", window_s - 0.5) == 0.5
    assert limiter.hit("k", float(window_s))  # the first events have left the window
    assert limiter.retry_after("other", 0.0) == 0.0


def test_memory_is_bounded() -> None:
    limiter = SlidingWindowLimiter(1, 60.0, max_keys=100)
    for i in range(1000):
        assert limiter.hit(f"client-{i}", float(i))
    assert len(limiter) <= 100
    assert not limiter.hit("client-999", 999.5)  # recent keys are kept
    limiter.reset("client-999")
    assert limiter.hit("client-999", 999.5)


def test_thread_safe() -> None:
    limiter = SlidingWindowLimiter(50, 60.0)
    wins: list[bool] = []

    def hammer() -> None:
        for _ in range(100):
            wins.append(limiter.hit("shared", 1.0))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 50


@pytest.mark.parametrize(
    ("args", "message"),
    [((0, 1.0), "max_events is 0"), ((1, 0.0), "window_s is 0.0"), ((1, -1.0), "window_s is -1")],
)
def test_arguments_are_checked(args: tuple[int, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlidingWindowLimiter(*args)
