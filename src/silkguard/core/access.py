"""Who is asking, and the one visibility rule for every shareable object (TLP 2.0 + sharing
groups + organisation). Every listing, read, search and export of a shareable table goes
through :func:`visible_clause`; docs/visibility.md states the rules in words.

| marking | who sees the object |
|---|---|
| CLEAR | every signed-in user |
| GREEN | every signed-in user of the community (all organisations on this platform) |
| AMBER | the owning organisation, and organisations in a sharing group the object is shared with |
| AMBER+STRICT | the owning organisation only |
| RED | the named recipients, and the user who created the object |

Drafts and rejected objects are seen by the owning organisation only, whatever their marking.
Objects without an owning organisation (public datasets) are seen as CLEAR/GREEN allow; a
more restrictive marking on such an object makes it visible to no one until it is assigned."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, or_

from silkguard.core.tlp import TLP

__all__ = ["Principal", "visible_clause", "visible_in_python"]


@dataclass(frozen=True)
class Principal:
    """The caller: a user, or an API key acting for an organisation with a role."""

    org_id: uuid.UUID
    role: str
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    group_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    scopes: frozenset[str] | None = None  # API keys may be narrowed to some permissions

    @property
    def actor(self) -> str:
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"key:{self.api_key_id}"


_OPEN = (TLP.CLEAR.value, TLP.GREEN.value)
_PUBLISHED = ("confirmed",)


def visible_clause(
    principal: Principal,
    *,
    org_col: SQLColumnExpression[uuid.UUID | None],
    tlp_col: SQLColumnExpression[str],
    status_col: SQLColumnExpression[str] | None = None,
    created_by_col: SQLColumnExpression[uuid.UUID | None] | None = None,
    shared_with_groups: Callable[[frozenset[uuid.UUID]], ColumnElement[bool]] | None = None,
    is_recipient: Callable[[uuid.UUID], ColumnElement[bool]] | None = None,
) -> ColumnElement[bool]:
    """A SQL condition true for exactly the rows ``principal`` may see."""
    own = org_col == principal.org_id
    shared: ColumnElement[bool] = false()
    if shared_with_groups is not None and principal.group_ids:
        shared = shared_with_groups(principal.group_ids)
    red: ColumnElement[bool] = false()
    if principal.user_id is not None:
        parts: list[ColumnElement[bool]] = []
        if is_recipient is not None:
            parts.append(is_recipient(principal.user_id))
        if created_by_col is not None:
            parts.append(created_by_col == principal.user_id)
        red = or_(false(), *parts)
    by_marking = or_(
        tlp_col.in_(_OPEN),
        and_(tlp_col == TLP.AMBER.value, or_(own, shared)),
        and_(tlp_col == TLP.AMBER_STRICT.value, own),
        and_(tlp_col == TLP.RED.value, red),
    )
    if status_col is None:
        return by_marking
    published = status_col.in_(_PUBLISHED)
    return and_(by_marking, or_(published, own))


def visible_in_python(
    principal: Principal,
    *,
    org_id: uuid.UUID | None,
    tlp: str,
    status: str | None = None,
    created_by: uuid.UUID | None = None,
    group_ids: frozenset[uuid.UUID] = frozenset(),
    recipients: frozenset[uuid.UUID] = frozenset(),
) -> bool:
    """The same rule for one object already in memory (tests check both agree)."""
    own = org_id is not None and org_id == principal.org_id
    if status is not None and status not in _PUBLISHED and not own:
        return False
    if tlp in _OPEN:
        return True
    if tlp == TLP.AMBER.value:
        return own or bool(group_ids & principal.group_ids)
    if tlp == TLP.AMBER_STRICT.value:
        return own
    if tlp == TLP.RED.value:
        uid = principal.user_id
        return uid is not None and (uid in recipients or uid == created_by)
    return False
