"""Sharing groups: named sets of organisations that objects can be shared with (TLP:AMBER
within a group, for example). The owner organisation is always a member. Whether members may
see each other (``hidden_membership``) is for the API to honour; the TLP rules that use
groups live in ``sharing``. Use through ``silkguard.auth.service``."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from silkguard.auth._validate import check_name, require_org
from silkguard.auth.models import SharingGroup, SharingGroupMember
from silkguard.core.errors import Conflict, NotFound

__all__ = [
    "add_group_member",
    "create_sharing_group",
    "get_sharing_group",
    "group_members",
    "groups_of_org",
    "remove_group_member",
]


def create_sharing_group(
    session: Session, *, name: str, owner_org_id: uuid.UUID, hidden_membership: bool = False
) -> SharingGroup:
    """A new group owned by (and containing) ``owner_org_id``; names are unique."""
    clean = check_name(name, field="sharing group name")
    require_org(session, owner_org_id)
    if session.execute(select(SharingGroup.id).where(SharingGroup.name == clean)).first():
        msg = f"sharing group {clean!r} exists already; choose another name"
        raise Conflict(msg)
    group = SharingGroup(name=clean, owner_org_id=owner_org_id, hidden_membership=hidden_membership)
    session.add(group)
    session.flush()
    session.add(SharingGroupMember(group_id=group.id, org_id=owner_org_id))
    session.flush()
    return group


def get_sharing_group(session: Session, *, group_id: uuid.UUID) -> SharingGroup:
    group = session.get(SharingGroup, group_id)
    if group is None:
        msg = f"no sharing group has id {group_id}"
        raise NotFound(msg)
    return group


def add_group_member(session: Session, *, group_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    """Add ``org_id`` to the group; False if it was a member already."""
    get_sharing_group(session, group_id=group_id)
    require_org(session, org_id)
    if session.get(SharingGroupMember, (group_id, org_id)) is not None:
        return False
    session.add(SharingGroupMember(group_id=group_id, org_id=org_id))
    session.flush()
    return True


def remove_group_member(session: Session, *, group_id: uuid.UUID, org_id: uuid.UUID) -> None:
    """Take ``org_id`` out of the group. The owner cannot leave its own group."""
    group = get_sharing_group(session, group_id=group_id)
    if org_id == group.owner_org_id:
        msg = f"organisation {org_id} owns sharing group {group.name!r} and cannot leave it"
        raise Conflict(msg)
    member = session.get(SharingGroupMember, (group_id, org_id))
    if member is None:
        msg = f"organisation {org_id} is not a member of sharing group {group.name!r}"
        raise NotFound(msg)
    session.delete(member)
    session.flush()


# built once: every authenticated request runs it
_GROUPS_OF_ORG = (
    select(SharingGroupMember.group_id)
    .where(SharingGroupMember.org_id == bindparam("org_id"))
    .order_by(SharingGroupMember.group_id)
)


def groups_of_org(session: Session, *, org_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the groups ``org_id`` belongs to (the input of the visibility filter)."""
    return list(session.execute(_GROUPS_OF_ORG, {"org_id": org_id}).scalars())


def group_members(session: Session, *, group_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the member organisations, owner included."""
    get_sharing_group(session, group_id=group_id)
    stmt = (
        select(SharingGroupMember.org_id)
        .where(SharingGroupMember.group_id == group_id)
        .order_by(SharingGroupMember.org_id)
    )
    return list(session.execute(stmt).scalars())
