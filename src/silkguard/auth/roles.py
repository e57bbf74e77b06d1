"""Roles, permissions and the one table that joins them.

Every check of the form "may this user do that" goes through :func:`allowed` (people) or
:func:`key_permissions` (API keys); nothing else decides who may do what. Organisation and TLP
visibility (which incidents a role may see at all) is a separate query filter.

=====================  =================================================================
role                   permissions
=====================  =================================================================
admin                  every permission
analyst                incident.* (read, create, update, review, merge, export),
                       risk.* (read, manage), org.read, sharing.manage, plan.read, site.read,
                       report.read
movement_controller    incident.read, movement.request (request and run movements),
                       movement.read, site.* (read, manage), alert.raise,
                       personal_data.read, person.manage, position.report, risk.read,
                       report.read;
                       approving is left to approvers, so
                       the control room cannot wave its own movements through
approver               incident.read, movement.read, movement.approve, risk.read, site.read,
                       report.read
                       (admins alone replace the movement policy: movement.policy)
staff                  incident.read (what TLP and sharing groups allow, as for every
                       role), movement.request, movement.read, risk.read, site.read,
                       position.report (their own device reports positions)
partner                incident.read, incident.export, risk.read, report.read (what TLP and
                       sharing groups allow)
=====================  =================================================================

A permission is ``<object>.<verb>``; ``read`` and ``export`` verbs change nothing
(:attr:`Permission.writes` is False for them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from silkguard.core.errors import InvalidInput

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "Role",
    "allowed",
    "key_permissions",
    "parse_permission",
    "parse_role",
]


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    MOVEMENT_CONTROLLER = "movement_controller"
    APPROVER = "approver"
    STAFF = "staff"
    PARTNER = "partner"


class Permission(StrEnum):
    INCIDENT_READ = "incident.read"
    INCIDENT_CREATE = "incident.create"
    INCIDENT_UPDATE = "incident.update"
    INCIDENT_REVIEW = "incident.review"  # confirm or reject a draft
    INCIDENT_MERGE = "incident.merge"
    INCIDENT_EXPORT = "incident.export"
    ORG_READ = "org.read"
    ORG_MANAGE = "org.manage"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    KEY_MANAGE = "key.manage"
    AUDIT_READ = "audit.read"
    SHARING_MANAGE = "sharing.manage"
    PERSONAL_DATA_READ = "personal_data.read"
    MOVEMENT_REQUEST = "movement.request"
    MOVEMENT_APPROVE = "movement.approve"
    MOVEMENT_READ = "movement.read"
    MOVEMENT_POLICY = "movement.policy"  # replace the organisation's movement policy
    ALERT_RAISE = "alert.raise"
    ALERT_READ = "alert.read"  # alerts and their roll-call boards
    PLAN_READ = "plan.read"
    PLAN_MANAGE = "plan.manage"
    RISK_READ = "risk.read"
    RISK_MANAGE = "risk.manage"  # run forecasts and backtests, set the level thresholds
    SITE_READ = "site.read"
    SITE_MANAGE = "site.manage"
    PERSON_MANAGE = "person.manage"  # add people, record their consent
    POSITION_REPORT = "position.report"  # send positions (devices, trackers, apps)
    REPORT_READ = "report.read"  # situation reports (each shows only what its reader may see)

    @property
    def subject(self) -> str:
        """The kind of object: ``incident`` for ``incident.read``."""
        return self.value.partition(".")[0]

    @property
    def verb(self) -> str:
        return self.value.partition(".")[2]

    @property
    def writes(self) -> bool:
        """Whether the permission lets its holder change anything."""
        return self.verb not in _NON_WRITING_VERBS


_NON_WRITING_VERBS = frozenset({"read", "export"})


def _all_of(subject: str) -> frozenset[Permission]:
    return frozenset(p for p in Permission if p.subject == subject)


_P = Permission
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(Permission),
        Role.ANALYST: _all_of("incident")
        | _all_of("risk")
        | {_P.ORG_READ, _P.SHARING_MANAGE, _P.PLAN_READ, _P.SITE_READ, _P.ALERT_READ}
        | {_P.REPORT_READ},
        Role.MOVEMENT_CONTROLLER: frozenset({_P.MOVEMENT_REQUEST, _P.MOVEMENT_READ})
        | _all_of("site")
        | {_P.PERSON_MANAGE, _P.POSITION_REPORT, _P.ALERT_READ}
        | {_P.INCIDENT_READ, _P.ALERT_RAISE, _P.PERSONAL_DATA_READ, _P.RISK_READ}
        | {_P.REPORT_READ},
        Role.APPROVER: frozenset(
            {
                _P.INCIDENT_READ,
                _P.MOVEMENT_READ,
                _P.MOVEMENT_APPROVE,
                _P.RISK_READ,
                _P.SITE_READ,
                _P.ALERT_READ,
                _P.REPORT_READ,
            }
        ),
        Role.STAFF: frozenset(
            {
                _P.INCIDENT_READ,
                _P.MOVEMENT_REQUEST,
                _P.MOVEMENT_READ,
                _P.RISK_READ,
                _P.SITE_READ,
                _P.POSITION_REPORT,
            }
        ),
        Role.PARTNER: frozenset(
            {_P.INCIDENT_READ, _P.INCIDENT_EXPORT, _P.RISK_READ, _P.REPORT_READ}
        ),
    }
)


def allowed(role: Role, perm: Permission) -> bool:
    """Whether ``role`` holds ``perm`` according to :data:`ROLE_PERMISSIONS`."""
    return perm in ROLE_PERMISSIONS[role]


def key_permissions(role: Role, scopes: Iterable[Permission]) -> frozenset[Permission]:
    """What an API key may do: its role's permissions, narrowed to its scopes when it has any.

    A scope outside the role grants nothing (keys are refused such scopes when created)."""
    granted = ROLE_PERMISSIONS[role]
    wanted = frozenset(scopes)
    return granted & wanted if wanted else granted


def parse_role(value: str) -> Role:
    """``Role`` from user input, with the accepted values in the error."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        accepted = ", ".join(r.value for r in Role)
        msg = f"role {value!r} does not exist; use one of {accepted}"
        raise InvalidInput(msg) from None


def parse_permission(value: str) -> Permission:
    """``Permission`` from user input (``incident.read``), with the accepted values."""
    try:
        return Permission(value.strip().lower())
    except ValueError:
        accepted = ", ".join(p.value for p in Permission)
        msg = f"permission {value!r} does not exist; use one of {accepted}"
        raise InvalidInput(msg) from None
