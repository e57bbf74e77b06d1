"""``/api/v1/alerts``: raise an alert over an area, watch its roll-call board, close it;
``/api/v1/sos`` and ``/api/v1/escort`` for a person's own SOS and "escort me" timer; the
public roll-call answer (``/api/v1/rollcall/{token}``, no login: the token is the key) and the
SMS gateway's webhooks (``/api/v1/sms/inbound`` and ``/api/v1/sms/delivery-reports``)."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import anyio
from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from silkguard.alerts import service as alerts
from silkguard.alerts.cap import cap_document
from silkguard.alerts.feed import atom_feed
from silkguard.alerts.schemas import (
    AlertCreate,
    AlertRead,
    BoardRead,
    EscortCreate,
    EscortRead,
    RollCallAnswer,
    SosCreate,
)
from silkguard.api.deps import CurrentPrincipal, SessionDep, SettingsDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.errors import PermissionDenied, Unauthenticated
from silkguard.core.settings import Settings
from silkguard.people import personnel
from silkguard.people.models import Person

__all__ = ["public_router", "router", "self_router"]

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=problem_responses(403))
self_router = APIRouter(tags=["alerts"], responses=problem_responses(403))
public_router = APIRouter(tags=["alerts"])
Reader = Annotated[Principal, Depends(require(Permission.ALERT_READ))]
_SENDER = "alerts@silkguard"
Raiser = Annotated[Principal, Depends(require(Permission.ALERT_RAISE))]


def _dispatch(request: Request, alert_id: uuid.UUID) -> None:
    """Hand the alert's queued deliveries to the delivery worker, if the app runs one."""
    dispatcher = getattr(request.app.state, "dispatch_alert", None)
    if dispatcher is not None:
        dispatcher(alert_id)


@router.get("", summary="Your organisation's alerts, newest first")
def list_alerts(
    session: SessionDep, principal: Reader, status: str | None = None
) -> list[AlertRead]:
    return [
        AlertRead.model_validate(a)
        for a in alerts.list_alerts(session, principal=principal, status=status)
    ]


@router.post(
    "",
    status_code=201,
    summary="Raise an alert: everyone affected is found and messaged in their language",
    responses=problem_responses(400, 422),
)
def raise_alert(
    body: AlertCreate,
    session: SessionDep,
    principal: Raiser,
    settings: SettingsDep,
    request: Request,
) -> AlertRead:
    alert = alerts.raise_alert(
        session,
        principal=principal,
        org_id=principal.org_id,
        area=body.area,
        severity=body.severity.value,
        category=body.category.value,
        messages={k: v.model_dump() for k, v in body.messages.items()},
        secret=settings.secret_key,
        valid_for=timedelta(minutes=body.valid_minutes),
        drill=body.drill,
        public=body.public,
        tlp=body.tlp.value,
    )
    out = AlertRead.model_validate(alert)
    session.commit()
    _dispatch(request, alert.id)
    return out


@router.get("/{alert_id}", summary="One alert", responses=problem_responses(404))
def get_alert(alert_id: uuid.UUID, session: SessionDep, principal: Reader) -> AlertRead:
    return AlertRead.model_validate(
        alerts.get_alert(session, principal=principal, alert_id=alert_id)
    )


@router.get(
    "/{alert_id}/board",
    summary="The roll-call board: accounted, unaccounted, need help, never reached",
    responses=problem_responses(404),
)
def alert_board(alert_id: uuid.UUID, session: SessionDep, principal: Reader) -> BoardRead:
    b = alerts.board(session, principal=principal, alert_id=alert_id)
    return BoardRead.model_validate(b, from_attributes=True)


@router.post(
    "/{alert_id}/close",
    summary="Close the roll-call (who was never reached is recorded)",
    responses=problem_responses(404, 409),
)
def close_alert(alert_id: uuid.UUID, session: SessionDep, principal: Raiser) -> BoardRead:
    b = alerts.close_alert(session, principal=principal, alert_id=alert_id)
    out = BoardRead.model_validate(b, from_attributes=True)
    session.commit()
    return out


def _me(session: Session, principal: Principal) -> Person:
    if principal.user_id is None:
        msg = (
            "SOS, escort timers and your roll-calls are for people: sign in as yourself "
            "(not with an API key)"
        )
        raise PermissionDenied(msg)
    person = personnel.person_of_user(session, user_id=principal.user_id)
    if person is None:
        msg = "your user is not linked to a person; ask your movement controller to link it"
        raise PermissionDenied(msg)
    return person


@self_router.post(
    "/sos",
    status_code=201,
    summary="Raise an SOS around you at once",
    responses=problem_responses(400, 422),
)
def sos(
    body: SosCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    request: Request,
) -> AlertRead:
    person = _me(session, principal)
    alert = alerts.raise_sos(
        session,
        person_id=person.id,
        via="api",
        secret=settings.secret_key,
        lat=body.lat,
        lon=body.lon,
    )
    out = AlertRead.model_validate(alert)
    session.commit()
    _dispatch(request, alert.id)
    return out


class Recorded(BaseModel):
    recorded: bool
    answer: str


class MyRollCall(BaseModel):
    """An active alert that counts you among the affected, in your language."""

    alert_id: uuid.UUID
    severity: str
    category: str
    drill: bool
    headline: str
    body: str
    language: str
    created_at: datetime
    answer: str
    answered_at: datetime | None


@self_router.get(
    "/me/rollcalls",
    summary="Your open roll-calls: the active alerts you are asked to answer",
)
def my_rollcalls(session: SessionDep, principal: CurrentPrincipal) -> list[MyRollCall]:
    person = _me(session, principal)
    out = []
    for alert, rec in alerts.open_rollcalls(session, person_id=person.id):
        msg = alert.messages.get(rec.language) or alert.messages.get("en") or {}
        out.append(
            MyRollCall(
                alert_id=alert.id,
                severity=alert.severity,
                category=alert.category,
                drill=alert.drill,
                headline=str(msg.get("headline", "")),
                body=str(msg.get("body", "")),
                language=rec.language,
                created_at=alert.created_at,
                answer=rec.answer,
                answered_at=rec.answered_at,
            )
        )
    return out


@self_router.post(
    "/me/rollcalls/{alert_id}",
    summary="Answer the roll-call of an alert as yourself: safe or need help",
    responses=problem_responses(400, 404, 409, 422),
)
def answer_my_rollcall(
    alert_id: uuid.UUID,
    body: RollCallAnswer,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Recorded:
    person = _me(session, principal)
    rec = alerts.answer_own_rollcall(
        session,
        alert_id=alert_id,
        person_id=person.id,
        answer=body.answer,
        via="app",
        code=body.code,
        secret=settings.secret_key,
    )
    session.commit()
    return Recorded(recorded=True, answer=rec.answer)


@self_router.post(
    "/escort",
    status_code=201,
    summary='"Escort me": an SOS is raised unless you cancel within the minutes given',
    responses=problem_responses(400, 422),
)
def start_escort(
    body: EscortCreate, session: SessionDep, principal: CurrentPrincipal
) -> EscortRead:
    person = _me(session, principal)
    timer = alerts.start_escort(session, person_id=person.id, minutes=body.minutes, note=body.note)
    out = EscortRead.model_validate(timer)
    session.commit()
    return out


@self_router.post(
    "/escort/{timer_id}/cancel",
    summary="Cancel your escort timer (you have arrived safely)",
    responses=problem_responses(404, 409),
)
def cancel_escort(
    timer_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> EscortRead:
    person = _me(session, principal)
    timer = alerts.cancel_escort(session, timer_id=timer_id, person_id=person.id)
    out = EscortRead.model_validate(timer)
    session.commit()
    return out


@public_router.post(
    "/rollcall/{token}",
    summary="Answer a roll-call with the token from your message (no login)",
    responses=problem_responses(400, 404, 409, 422),
)
def answer_rollcall(
    token: str, body: RollCallAnswer, session: SessionDep, settings: SettingsDep
) -> Recorded:
    rec = alerts.answer_rollcall(
        session,
        token=token,
        answer=body.answer,
        via="web",
        code=body.code,
        secret=settings.secret_key,
    )
    session.commit()
    # a duress answer reads exactly as a safe one
    return Recorded(recorded=True, answer=rec.answer)


class InboundSms(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"from": "+923001234567", "text": "SAFE 3FA2"}]},
    )
    sender: Annotated[str, Field(alias="from", pattern=r"^\+[1-9][0-9]{6,14}$")]
    text: Annotated[str, Field(min_length=1, max_length=480)]


@public_router.post(
    "/sms/inbound",
    summary="Inbound SMS from the gateway: SAFE / HELP / SOS answers",
    responses=problem_responses(400, 401, 404, 409, 422),
)
def inbound_sms(
    body: InboundSms,
    session: SessionDep,
    settings: SettingsDep,
    gateway_token: Annotated[str, Header(alias="X-Silkguard-Gateway-Token")] = "",
) -> dict[str, Any]:
    _gateway(settings, gateway_token, "inbound SMS")
    rec = alerts.inbound_sms(session, phone=body.sender, text=body.text, secret=settings.secret_key)
    session.commit()
    if rec is None:
        return {"recorded": True, "answer": "sos"}
    return {"recorded": True, "answer": rec.answer}


class SmsDeliveryReport(BaseModel):
    """The gateway's report on one SMS it accepted (docs/alerts.md, "SMS delivery reports")."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"message_id": "SM5f2a", "status": "delivered"},
                {"message_id": "SM5f2b", "status": "failed", "error": "30003 unreachable"},
            ]
        },
    )
    message_id: Annotated[str, Field(min_length=1, max_length=200)]
    status: Literal["delivered", "failed", "undelivered", "expired", "rejected"]
    error: Annotated[str | None, Field(max_length=1000)] = None


class SmsReportRecorded(BaseModel):
    delivery_id: int
    state: str
    changed: bool
    next_channel_queued: bool


def _gateway(settings: Settings, token: str, what: str) -> None:
    expected = settings.sms_inbound_token
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        msg = f"{what} need the gateway token in X-Silkguard-Gateway-Token"
        raise Unauthenticated(msg)


@public_router.post(
    "/sms/delivery-reports",
    summary="Delivery report from the SMS gateway: delivered, or failed with its error",
    responses=problem_responses(400, 401, 404, 409, 422),
)
def sms_delivery_report(
    body: SmsDeliveryReport,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    gateway_token: Annotated[str, Header(alias="X-Silkguard-Gateway-Token")] = "",
) -> SmsReportRecorded:
    """Authenticated like inbound SMS. A failure queues the person's next channel at once;
    the same report twice changes nothing."""
    _gateway(settings, gateway_token, "delivery reports")
    outcome = alerts.sms_delivery_report(
        session, message_id=body.message_id, status=body.status, error=body.error
    )
    out = SmsReportRecorded(
        delivery_id=outcome.delivery.id,
        state=outcome.delivery.state,
        changed=outcome.changed,
        next_channel_queued=bool(outcome.queued),
    )
    alert_id = outcome.delivery.alert_id
    session.commit()
    if outcome.queued:
        _dispatch(request, alert_id)
    return out


_ATOM = "application/atom+xml"
_CAP = "application/cap+xml"


@public_router.get(
    "/public/alerts.atom",
    summary="Atom index of public alerts, each linking its CAP 1.2 document (no login)",
    response_class=Response,
    responses={200: {"content": {_ATOM: {}}, "description": "Atom 1.0 feed"}},
)
def public_feed(session: SessionDep, settings: SettingsDep) -> Response:
    base = settings.public_base_url.rstrip("/")
    found = [alerts.to_cap(a, sender=_SENDER) for a in alerts.public_alerts(session)]
    body = atom_feed(
        found,
        feed_url=f"{base}/api/v1/public/alerts.atom",
        cap_url_template=f"{base}/api/v1/public/alerts/{{id}}.cap",
    )
    return Response(content=body, media_type=_ATOM)


@public_router.get(
    "/public/alerts/{alert_id}.cap",
    summary="One public alert as a CAP 1.2 document (no login)",
    response_class=Response,
    responses={
        200: {"content": {_CAP: {}}, "description": "CAP 1.2 XML"},
        **problem_responses(404),
    },
)
def public_cap(alert_id: uuid.UUID, session: SessionDep) -> Response:
    alert = alerts.get_public_alert(session, alert_id=alert_id)
    return Response(content=cap_document(alerts.to_cap(alert, sender=_SENDER)), media_type=_CAP)


@router.get(
    "/{alert_id}/events",
    summary="Live roll-call board as server-sent events (one 'board' event per change)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(404)},
)
async def alert_events(
    alert_id: uuid.UUID,
    request: Request,
    principal: Reader,
    poll_s: Annotated[float, Query(ge=0.2, le=30)] = 1.0,
    max_s: Annotated[float, Query(ge=1, le=3600)] = 600.0,
) -> StreamingResponse:
    """Reads the board from the database, so it works the same behind several API workers
    whichever worker received the answers; the stream ends when the alert is closed or after
    ``max_s`` seconds (clients reconnect)."""
    factory = request.app.state.session_factory

    def read() -> str:
        with factory() as session:
            b = alerts.board(session, principal=principal, alert_id=alert_id)
            return BoardRead.model_validate(b, from_attributes=True).model_dump_json()

    first = await to_thread.run_sync(read)  # a 404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        last = first
        yield f"event: board\ndata: {first}\n\n"
        deadline = time.monotonic() + max_s
        while time.monotonic() < deadline and not await request.is_disconnected():
            await anyio.sleep(poll_s)
            now = await to_thread.run_sync(read)
            if now != last:
                last = now
                yield f"event: board\ndata: {now}\n\n"
                if '"status":"closed"' in now:
                    return
            else:
                yield ": keep-alive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")
