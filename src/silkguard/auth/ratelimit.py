"""An in-process sliding-window rate limiter (login attempts per IP, tips per client, ...).

It is per process: with N API workers a client may get N times the budget. The hard limit on
password guessing is the per-account lockout stored in the database; this limiter only keeps
floods away from the (deliberately slow) password hashing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

__all__ = ["SlidingWindowLimiter"]


class SlidingWindowLimiter:
    """Allow at most ``max_events`` per key in any window of ``window_s`` seconds.

    An event at time ``t`` counts against the key until ``t + window_s`` (exclusive); refused
    attempts do not count. ``now`` is any monotonic clock in seconds (``time.monotonic()``).
    Memory is bounded by ``max_keys``: past it, the least recently used key is dropped (usually
    one whose events have expired long ago); a dropped key starts afresh, so under a flood of
    distinct keys the limiter fails open, which is acceptable because it is not the only
    defence."""

    def __init__(self, max_events: int, window_s: float, *, max_keys: int = 10_000) -> None:
        if max_events < 1:
            msg = f"max_events is {max_events}; it must be at least 1"
            raise ValueError(msg)
        if window_s <= 0:
            msg = f"window_s is {window_s}; it must be positive"
            raise ValueError(msg)
        if max_keys < 1:
            msg = f"max_keys is {max_keys}; it must be at least 1"
            raise ValueError(msg)
        self.max_events = max_events
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys are remembered now."""
        with self._lock:
            return len(self._events)

    def _expire(self, events: deque[float], now: float) -> None:
        horizon = now - self.window_s
        while events and events[0] <= horizon:
            events.popleft()

    def _evict(self) -> None:
        # Keys are kept in order of last use, so the front holds the coldest (usually expired).
        while len(self._events) >= self.max_keys:
            self._events.popitem(last=False)

    def hit(self, key: str, now: float) -> bool:
        """Record an attempt for ``key`` at ``now``; True if it is allowed, False if refused."""
        with self._lock:
            events = self._events.get(key)
            if events is None:
                self._evict()
                events = self._events[key] = deque()
            else:
                self._events.move_to_end(key)
                self._expire(events, now)
            if len(events) >= self.max_events:
                return False
            events.append(now)
            return True

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0.0 if it may now)."""
        with self._lock:
            events = self._events.get(key)
            if events is None:
                return 0.0
            self._expire(events, now)
            if len(events) < self.max_events:
                return 0.0
            return max(0.0, events[0] + self.window_s - now)

    def reset(self, key: str) -> None:
        """Forget ``key`` (for example after a successful login)."""
        with self._lock:
            self._events.pop(key, None)
