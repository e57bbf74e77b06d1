"""Overdue movements become alerts: when the overdue check declares a movement overdue, an
alert is raised around where it was last known (its last check-in, else its origin), and its
party is added to the roll-call whatever their positions, so each traveller is asked to
answer and the escalation to supervisors and emergency contacts follows if they do not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.alerts.models import Alert
from silkguard.alerts.service import raise_alert
from silkguard.alerts.vocab import AlertCategory, AlertSeverity, AlertSource
from silkguard.journeys import service as movements
from silkguard.journeys.models import Movement, MovementEvent, MovementMember

__all__ = ["OVERDUE_RADIUS_KM", "alert_for_overdue", "install"]

OVERDUE_RADIUS_KM = 25.0


def alert_for_overdue(session: Session, movement: Movement, *, secret: str) -> Alert:
    """Raise the alert for one overdue movement."""
    last = session.execute(
        select(MovementEvent)
        .where(MovementEvent.movement_id == movement.id, MovementEvent.kind == "check_in")
        .order_by(MovementEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if last is not None:
        lat, lon = float(last.detail["lat"]), float(last.detail["lon"])
        where_en, where_zh = "its last check-in", "最后签到地点"
    else:
        lat, lon = movement.origin_lat, movement.origin_lon
        where_en, where_zh = movement.origin_label, movement.origin_label
    members = session.scalars(
        select(MovementMember.person_id).where(MovementMember.movement_id == movement.id)
    ).all()
    route = f"{movement.origin_label} -> {movement.destination_label}"
    return raise_alert(
        session,
        principal=None,
        org_id=movement.org_id,
        area={"type": "Circle", "center": [lon, lat], "radius_km": OVERDUE_RADIUS_KM},
        severity=AlertSeverity.HIGH.value,
        category=AlertCategory.SECURITY.value,
        messages={
            "en": {
                "headline": f"Movement overdue: {route}",
                "body": f"The movement {route} has not arrived; last known near {where_en}. "
                "Travellers: answer the roll-call now.",
            },
            "zh": {
                "headline": f"行程逾期未到：{route}",  # noqa: RUF001
                "body": f"行程 {route} 尚未到达，最后已知位置：{where_zh}。请立即回复点名。",  # noqa: RUF001
            },
        },
        secret=secret,
        valid_for=timedelta(hours=12),
        source=AlertSource.OVERDUE_MOVEMENT.value,
        source_ref=f"movement:{movement.id}",
        extra_people=dict.fromkeys(members, "movement"),
    )


_state: dict[str, str] = {}


def install(secret: str) -> None:
    """Register the overdue listener once per process (the API and the CLI call this); roll-call
    tokens are made with ``secret`` (the newest call's secret wins)."""
    first = not _state
    _state["secret"] = secret
    if not first:
        return

    @movements.on_overdue
    def _raise(session: Session, movement: Movement) -> None:
        alert_for_overdue(session, movement, secret=_state["secret"])
