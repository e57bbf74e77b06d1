from __future__ import annotations

import re

import pytest

from silkguard.auth.roles import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    allowed,
    key_permissions,
    parse_permission,
    parse_role,
)
from silkguard.core.errors import InvalidInput


def test_table_covers_every_role() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_admin_has_every_permission() -> None:
    assert all(allowed(Role.ADMIN, p) for p in Permission)


def test_partner_has_no_write_permission() -> None:
    assert ROLE_PERMISSIONS[Role.PARTNER] == {
        Permission.INCIDENT_READ,
        Permission.INCIDENT_EXPORT,
        Permission.RISK_READ,
        Permission.REPORT_READ,
    }
    assert not any(p.writes for p in ROLE_PERMISSIONS[Role.PARTNER])


def test_every_role_but_staff_reads_situation_reports() -> None:
    readers = {r for r in Role if allowed(r, Permission.REPORT_READ)}
    assert readers == set(Role) - {Role.STAFF}
    assert not Permission.REPORT_READ.writes


def test_every_permission_is_dotted_and_held_by_someone_besides_admin_or_admin_only() -> None:
    for perm in Permission:
        assert perm.subject, perm
        assert perm.verb, perm
    admin_only = {p for p in Permission if not any(allowed(r, p) for r in Role if r != Role.ADMIN)}
    assert admin_only == {
        Permission.ORG_MANAGE,
        Permission.USER_READ,
        Permission.USER_MANAGE,
        Permission.KEY_MANAGE,
        Permission.MOVEMENT_POLICY,
        Permission.AUDIT_READ,
        Permission.PLAN_MANAGE,
    }


@pytest.mark.parametrize(
    ("role", "perm", "expected"),
    [
        (Role.ANALYST, Permission.INCIDENT_MERGE, True),
        (Role.ANALYST, Permission.MOVEMENT_APPROVE, False),
        (Role.MOVEMENT_CONTROLLER, Permission.PERSONAL_DATA_READ, True),
        (Role.MOVEMENT_CONTROLLER, Permission.INCIDENT_UPDATE, False),
        (Role.MOVEMENT_CONTROLLER, Permission.MOVEMENT_APPROVE, False),
        (Role.APPROVER, Permission.MOVEMENT_APPROVE, True),
        (Role.APPROVER, Permission.MOVEMENT_REQUEST, False),
        (Role.STAFF, Permission.MOVEMENT_REQUEST, True),
        (Role.STAFF, Permission.PERSONAL_DATA_READ, False),
    ],
)
def test_allowed(role: Role, perm: Permission, expected: bool) -> None:
    assert allowed(role, perm) is expected


def test_key_scopes_only_narrow() -> None:
    assert key_permissions(Role.PARTNER, []) == ROLE_PERMISSIONS[Role.PARTNER]
    assert key_permissions(Role.PARTNER, [Permission.INCIDENT_READ, Permission.ORG_MANAGE]) == {
        Permission.INCIDENT_READ
    }


def test_parse_names_the_accepted_values() -> None:
    assert parse_role(" Analyst ") is Role.ANALYST
    assert parse_permission("movement.approve") is Permission.MOVEMENT_APPROVE
    with pytest.raises(InvalidInput, match="role 'boss' does not exist; use one of admin, analyst"):
        parse_role("boss")
    with pytest.raises(
        InvalidInput, match=re.escape("permission 'incident.delete' does not exist")
    ):
        parse_permission("incident.delete")
