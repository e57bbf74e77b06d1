"""Privacy by default: an operator sees a person's exact position only while there is a
protective reason to, namely the person is

* on the roll-call of an active alert (inside its area, at a site inside it, travelling
  through it, or the subject of an SOS), or
* travelling on a movement that is under way or overdue.

Otherwise only aggregate counts are shown (:func:`silkguard.people.positions.summary`). Every
reveal is audited with the grounds it was allowed on."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.alerts.models import Alert, AlertRecipient
from silkguard.core.clock import utcnow
from silkguard.journeys.models import Movement, MovementMember
from silkguard.journeys.states import MovementState

__all__ = ["reveal_grounds"]

_ON_THE_ROAD = (MovementState.UNDER_WAY.value, MovementState.OVERDUE.value)


def reveal_grounds(
    session: Session, *, person_id: uuid.UUID, now: datetime | None = None
) -> str | None:
    """Why the person's exact position may be shown now, or None when it may not."""
    at = now or utcnow()
    alert = session.execute(
        select(Alert.id, Alert.source)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(
            AlertRecipient.person_id == person_id,
            Alert.status == "active",
            Alert.valid_until > at,
        )
        .order_by(Alert.created_at.desc())
        .limit(1)
    ).first()
    if alert is not None:
        kind = "SOS" if alert.source == "sos" else "alert"
        return f"on the roll-call of active {kind} {alert.id}"
    movement = session.execute(
        select(Movement.id)
        .join(MovementMember, MovementMember.movement_id == Movement.id)
        .where(MovementMember.person_id == person_id, Movement.state.in_(_ON_THE_ROAD))
        .limit(1)
    ).scalar_one_or_none()
    if movement is not None:
        return f"travelling on movement {movement} (under way or overdue)"
    return None
