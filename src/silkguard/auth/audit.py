"""The audit trail: an append-only hash chain of who did what.

Each entry's ``hash`` is ``sha256(prev_hash + canonical JSON of its content)`` and its
``prev_hash`` is the hash of the entry before (64 zeros for the first). Appending locks the
single :class:`AuditHead` row, so concurrent writers queue and the chain never forks; entry ids
come from the head and are gap-free. :func:`verify` recomputes the chain and reports the first
entry that was altered, deleted or reordered, and a head that no longer matches the last entry
(truncation).

What it proves: nobody changed the stored trail *without recomputing every later hash and the
head*. Someone with write access to the database can still rewrite it wholesale; keep copies
of the head hash elsewhere (for example in the daily report) to detect that too.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.auth.models import GENESIS_HASH, AuditEntry, AuditHead
from silkguard.core.errors import InvalidInput

__all__ = ["AuditVerification", "entry_hash", "query", "record", "verify"]

_HEAD_ID = 1
_MAX_QUERY_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class AuditVerification:
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str


def _json_default(value: object) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    msg = (
        f"audit detail holds a {type(value).__name__} ({value!r}); use JSON values "
        "(str, int, float, bool, None, list, dict), UUIDs, datetimes or enums"
    )
    raise InvalidInput(msg)


def _canonical(value: object) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def _normalise_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    # Store exactly what a round trip through the database gives back (string keys, lists
    # for tuples, ISO strings for datetimes), so the hash recomputes identically later.
    try:
        text = _canonical(dict(detail or {}))
    except ValueError as exc:  # NaN or infinity
        msg = f"audit detail is not valid JSON ({exc}); replace NaN/infinite numbers"
        raise InvalidInput(msg) from None
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def entry_hash(
    *,
    prev_hash: str,
    entry_id: int,
    at: datetime,
    actor: str,
    org_id: uuid.UUID | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    request_id: str | None,
    detail: Mapping[str, Any],
) -> str:
    """The chained hash of one entry's content."""
    content = [
        entry_id,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        actor,
        None if org_id is None else str(org_id),
        action,
        object_type,
        object_id,
        request_id,
        detail,
    ]
    return hashlib.sha256((prev_hash + _canonical(content)).encode("utf-8")).hexdigest()


def _locked_head(session: Session) -> AuditHead:
    # populate_existing: a head loaded earlier in this session may be stale once the lock is ours.
    stmt = (
        select(AuditHead)
        .where(AuditHead.id == _HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = session.execute(stmt).scalar_one_or_none()
    if head is None:  # the migration creates it; a schema made by create_all may not have it
        head = AuditHead(id=_HEAD_ID, last_id=0, last_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def record(
    session: Session,
    *,
    action: str,
    actor: str,
    org_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: str | uuid.UUID | None = None,
    request_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    now: datetime,
) -> AuditEntry:
    """Append one entry to the trail (flushes; the caller's unit of work commits).

    ``actor`` is ``user:<uuid>``, ``key:<uuid>``, ``cli:<os user>``, ``anonymous`` or
    ``system``; ``action`` is dotted like a permission (``user.create``, ``auth.login``)."""
    if not action or not actor:
        msg = "an audit entry needs an action and an actor"
        raise InvalidInput(msg)
    if now.tzinfo is None:
        msg = f"audit time {now!r} is naive; pass an aware UTC datetime (core.clock.utcnow())"
        raise InvalidInput(msg)
    head = _locked_head(session)
    at = now.astimezone(UTC)
    clean_detail = _normalise_detail(detail)
    object_ref = None if object_id is None else str(object_id)
    entry_id = head.last_id + 1
    digest = entry_hash(
        prev_hash=head.last_hash,
        entry_id=entry_id,
        at=at,
        actor=actor,
        org_id=org_id,
        action=action,
        object_type=object_type,
        object_id=object_ref,
        request_id=request_id,
        detail=clean_detail,
    )
    entry = AuditEntry(
        id=entry_id,
        at=at,
        actor=actor,
        org_id=org_id,
        action=action,
        object_type=object_type,
        object_id=object_ref,
        request_id=request_id,
        detail=clean_detail,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(entry)
    head.last_id = entry_id
    head.last_hash = digest
    session.flush()
    return entry


def _broken(checked: int, entry_id: int, reason: str) -> AuditVerification:
    return AuditVerification(ok=False, checked=checked, first_broken_id=entry_id, reason=reason)


def _gap_reason(expected_id: int, found_id: int) -> str:
    if found_id < expected_id:  # cannot happen with a primary key, but say so if it does
        return f"entry #{found_id} appears after #{expected_id - 1} (ids out of order)"
    missing = (
        f"entry #{expected_id} is"
        if found_id == expected_id + 1
        else f"entries #{expected_id} to #{found_id - 1} are"
    )
    before = "the trail starts" if expected_id == 1 else f"#{expected_id - 1} is followed by"
    return f"{missing} missing: {before} #{found_id} (deleted rows)"


def verify(session: Session) -> AuditVerification:
    """Walk the whole trail in id order (streaming) and report the first break, if any."""
    e = AuditEntry
    stmt = (
        select(
            e.id,
            e.at,
            e.actor,
            e.org_id,
            e.action,
            e.object_type,
            e.object_id,
            e.request_id,
            e.detail,
            e.prev_hash,
            e.hash,
        )
        .order_by(e.id)
        .execution_options(yield_per=1000)
    )
    expected_id = 1
    prev_hash = GENESIS_HASH
    checked = 0
    with session.execute(stmt) as rows:  # closes the server-side cursor on early return
        for row in rows:
            if row.id != expected_id:
                return _broken(checked, expected_id, _gap_reason(expected_id, row.id))
            if row.prev_hash != prev_hash:
                return _broken(
                    checked,
                    row.id,
                    f"its prev_hash does not match the hash of entry #{row.id - 1} "
                    "(an entry was altered, replaced or re-ordered)",
                )
            digest = entry_hash(
                prev_hash=row.prev_hash,
                entry_id=row.id,
                at=row.at,
                actor=row.actor,
                org_id=row.org_id,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                request_id=row.request_id,
                detail=row.detail,
            )
            if digest != row.hash:
                return _broken(checked, row.id, "its content does not match its hash (altered)")
            checked += 1
            prev_hash = row.hash
            expected_id += 1
    return _check_head(session, checked=checked, last_id=expected_id - 1, last_hash=prev_hash)


def _check_head(
    session: Session, *, checked: int, last_id: int, last_hash: str
) -> AuditVerification:
    head = session.get(AuditHead, _HEAD_ID)
    head_id = 0 if head is None else head.last_id
    head_hash = GENESIS_HASH if head is None else head.last_hash
    if head_id > last_id:
        return _broken(
            checked,
            last_id + 1,
            f"the head records {head_id} entries but the trail ends at #{last_id} "
            "(entries at the end were deleted)",
        )
    if head_id < last_id:
        return _broken(
            checked,
            head_id + 1,
            f"the trail runs to #{last_id} but the head records only {head_id} entries "
            "(entries were added without the head)",
        )
    if head_hash != last_hash:
        return _broken(checked, last_id, "the head's hash does not match the last entry (altered)")
    return AuditVerification(ok=True, checked=checked, first_broken_id=None, reason="")


def query(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    org_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    after_id: int | None = None,
    newest_first: bool = False,
) -> list[AuditEntry]:
    """Entries matching every given filter, oldest first; page with ``after_id`` (the last id
    seen). With ``newest_first`` the order is reversed and ``after_id`` pages backwards
    (entries with smaller ids). ``action`` ending in ``.*`` matches a prefix (``auth.*``);
    ``since`` is inclusive and ``until`` exclusive."""
    if not 1 <= limit <= _MAX_QUERY_LIMIT:
        msg = f"limit is {limit}; use 1 to {_MAX_QUERY_LIMIT} and page with after_id"
        raise InvalidInput(msg)
    stmt = select(AuditEntry)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action is not None:
        if action.endswith(".*"):
            stmt = stmt.where(AuditEntry.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if org_id is not None:
        stmt = stmt.where(AuditEntry.org_id == org_id)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    if newest_first:
        if after_id is not None:
            stmt = stmt.where(AuditEntry.id < after_id)
        stmt = stmt.order_by(AuditEntry.id.desc())
    else:
        if after_id is not None:
            stmt = stmt.where(AuditEntry.id > after_id)
        stmt = stmt.order_by(AuditEntry.id)
    return list(session.execute(stmt.limit(limit)).scalars())
