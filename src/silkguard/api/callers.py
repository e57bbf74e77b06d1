"""Callers remembered between requests, for as long as nothing about them has changed.

Finding the caller of a request costs the API key's row (or the user's) and the groups of
their organisation: several statements on every request, more than a small read costs. Each
API process remembers the callers it has found, tagged with the ``principals`` change counter
(core.changes) read before looking them up (so an entry is never older than its tag); a
request reads the counters (one statement outside any transaction, which the map index needs
anyway) and uses what it remembers only while the counter is unchanged. Any write to users,
API keys, sharing groups or their members, by any process, raises the counter and so forgets
every remembered caller at once: a revoked key or a disabled user is refused by the very next
request, as before.

What the database would check per request is still checked per request: a key's expiry
(against the clock) and its ``last_used_at`` (a request that is due to write it goes to the
database, which writes it, once a minute as before)."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from silkguard.auth.apikeys import LAST_USED_RESOLUTION
from silkguard.core.access import Principal

__all__ = ["CallerCache"]


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    counter: int
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


class CallerCache:
    """API keys (by a hash of the whole key) and users (by id) found at a counter value."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # requests whose caller was remembered (tests, benchmarks)

    @staticmethod
    def _key_name(key_text: str) -> tuple[str, str]:
        return "key", hashlib.sha256(key_text.encode()).hexdigest()

    def _get(self, name: tuple[str, str], counter: int | None) -> _Entry | None:
        if counter is None:
            return None
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            if entry.counter != counter:
                del self._entries[name]
                return None
            self._entries.move_to_end(name)
            return entry

    def _put(self, name: tuple[str, str], entry: _Entry) -> None:
        with self._lock:
            self._entries[name] = entry
            self._entries.move_to_end(name)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def api_key(self, key_text: str, counter: int | None, now: datetime) -> Principal | None:
        """The caller of ``key_text`` if found at ``counter`` and nothing is due: not expired
        by now, and its last use recorded less than a minute ago."""
        entry = self._get(self._key_name(key_text), counter)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= now:
            return None
        if entry.last_used_at is None or now - entry.last_used_at >= LAST_USED_RESOLUTION:
            return None
        self.hits += 1
        return entry.principal

    def remember_api_key(
        self,
        key_text: str,
        counter: int | None,
        principal: Principal,
        *,
        expires_at: datetime | None,
        last_used_at: datetime | None,
    ) -> None:
        if counter is not None:
            entry = _Entry(principal, counter, expires_at, last_used_at)
            self._put(self._key_name(key_text), entry)

    def user(self, user_id: uuid.UUID, counter: int | None) -> Principal | None:
        entry = self._get(("user", str(user_id)), counter)
        if entry is None:
            return None
        self.hits += 1
        return entry.principal

    def remember_user(self, counter: int | None, principal: Principal) -> None:
        if counter is not None and principal.user_id is not None:
            self._put(("user", str(principal.user_id)), _Entry(principal, counter))
