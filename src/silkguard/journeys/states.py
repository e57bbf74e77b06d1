"""The life of a movement: one transition table, and nothing else decides what may follow what.

::

    draft --submit--> submitted --approve--> approved --start--> under_way --arrive--> arrived
                      submitted --reject---> rejected            under_way --overdue-> overdue
    draft | submitted | approved --cancel--> cancelled           under_way --incident> incident
                                                                 overdue --arrive | incident-->

``rejected``, ``cancelled``, ``arrived`` and ``incident`` are final.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from silkguard.core.errors import Conflict

__all__ = [
    "ACTIVE",
    "FINAL",
    "TRANSITIONS",
    "Action",
    "MovementState",
    "allowed",
    "transition",
]


class MovementState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    UNDER_WAY = "under_way"
    OVERDUE = "overdue"
    ARRIVED = "arrived"
    INCIDENT = "incident"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What happens to a movement (the edges of the state machine)."""

    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    START = "start"
    ARRIVE = "arrive"
    OVERDUE = "overdue"
    INCIDENT = "incident"


_S = MovementState
_A = Action

#: state -> {action: next state}. The one table.
TRANSITIONS: Mapping[MovementState, Mapping[Action, MovementState]] = MappingProxyType(
    {
        _S.DRAFT: {_A.SUBMIT: _S.SUBMITTED, _A.CANCEL: _S.CANCELLED},
        _S.SUBMITTED: {_A.APPROVE: _S.APPROVED, _A.REJECT: _S.REJECTED, _A.CANCEL: _S.CANCELLED},
        _S.APPROVED: {_A.START: _S.UNDER_WAY, _A.CANCEL: _S.CANCELLED},
        _S.UNDER_WAY: {_A.ARRIVE: _S.ARRIVED, _A.OVERDUE: _S.OVERDUE, _A.INCIDENT: _S.INCIDENT},
        _S.OVERDUE: {_A.ARRIVE: _S.ARRIVED, _A.INCIDENT: _S.INCIDENT},
        _S.REJECTED: {},
        _S.CANCELLED: {},
        _S.ARRIVED: {},
        _S.INCIDENT: {},
    }
)

#: States with no way out.
FINAL: frozenset[MovementState] = frozenset(s for s, out in TRANSITIONS.items() if not out)
#: States in which the party is on the road.
ACTIVE: frozenset[MovementState] = frozenset({_S.UNDER_WAY, _S.OVERDUE})


def _state(value: str) -> MovementState:
    try:
        return MovementState(value)
    except ValueError:
        accepted = ", ".join(s.value for s in MovementState)
        msg = f"movement state {value!r} does not exist; states are {accepted}"
        raise Conflict(msg) from None


def allowed(state: str) -> Mapping[Action, MovementState]:
    """The actions possible from ``state`` and where each leads."""
    return TRANSITIONS[_state(state)]


def _describe(state: MovementState) -> str:
    out = TRANSITIONS[state]
    if not out:
        return f"{state.value} is final: nothing can follow it"
    steps = ", ".join(f"{a.value} (-> {s.value})" for a, s in out.items())
    return f"from {state.value} you may: {steps}"


def transition(state: str, action: str) -> MovementState:
    """The state ``action`` leads to from ``state``; :class:`Conflict` (409) when the table
    has no such edge, naming the current state and what is allowed from it."""
    current = _state(state)
    try:
        act = Action(action)
    except ValueError:
        accepted = ", ".join(a.value for a in Action)
        msg = f"movement action {action!r} does not exist; actions are {accepted}"
        raise Conflict(msg) from None
    target = TRANSITIONS[current].get(act)
    if target is None:
        msg = f"cannot {act.value} a movement that is {current.value}; {_describe(current)}"
        raise Conflict(msg)
    return target
