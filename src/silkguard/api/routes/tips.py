"""The community tip line.

Public, no login: ``GET /tip/{org}`` (a form in English and Urdu, simple enough for a phone),
``POST /tip/{org}`` (the form), ``POST /api/v1/public/tips/{org}`` (JSON), and the tipster's
follow-up with their token: ``GET|POST /api/v1/public/tips/status/{token}``. Nothing about
the sender (address, user agent) is stored; see :mod:`silkguard.intake.tips`.

Analysts: ``GET /api/v1/tips`` (the triage queue with what the extractor read) and
``POST /api/v1/tips/{id}/triage`` (verified -> a draft incident; duplicate; not actionable;
malicious)."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from silkguard.api.deps import SessionDep, SettingsDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.ratelimit import SlidingWindowLimiter
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, RateLimited, SilkguardError
from silkguard.intake import tips

__all__ = ["TIPS_PER_WINDOW", "TIP_WINDOW_S", "page_router", "public_router", "router"]

TIPS_PER_WINDOW = 5
TIP_WINDOW_S = 600.0

router = APIRouter(prefix="/tips", tags=["tips"], responses=problem_responses(403))
public_router = APIRouter(prefix="/public/tips", tags=["tips"])
page_router = APIRouter(include_in_schema=False)
Reviewer = Annotated[Principal, Depends(require(Permission.INCIDENT_REVIEW))]


def _throttle(request: Request, secret: str) -> None:
    limiter: SlidingWindowLimiter | None = getattr(request.app.state, "tip_limiter", None)
    if limiter is None:
        limiter = request.app.state.tip_limiter = SlidingWindowLimiter(
            TIPS_PER_WINDOW, TIP_WINDOW_S
        )
    address = request.client.host if request.client else "unknown"
    key = tips.client_key(secret, address, utcnow().date())
    now = time.monotonic()
    if not limiter.hit(key, now):
        wait = limiter.retry_after(key, now)
        msg = f"too many tips from this connection; please wait {wait:.0f} s and send again"
        raise RateLimited(msg, retry_after_s=wait)


class TipIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "what": "Two men on a motorbike filming the camp gate for an hour",
                    "where": "Dasu, near the main camp gate",
                    "when": "this morning around 9",
                }
            ]
        },
    )
    what: Annotated[str, Field(min_length=1, max_length=tips.MAX_TEXT)]
    where: Annotated[str, Field(max_length=300)] = ""
    lat: Annotated[float | None, Field(ge=-90, le=90, strict=True)] = None
    lon: Annotated[float | None, Field(ge=-180, le=180, strict=True)] = None
    when: Annotated[str, Field(max_length=100)] = ""
    contact: Annotated[str | None, Field(max_length=200)] = None
    photo_base64: Annotated[
        str | None, Field(max_length=7_000_000, description="JPEG or PNG; metadata is removed")
    ] = None
    language: Literal["en", "ur"] = "en"


class TipReceipt(BaseModel):
    token: str = Field(description="Keep it: it lets you check the tip or add details")
    received: str


class Details(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(min_length=1, max_length=tips.MAX_TEXT)]


@public_router.post(
    "/{org}",
    status_code=201,
    summary="Send a tip (no login, anonymous by default)",
    responses=problem_responses(400, 404, 413, 422, 429),
)
def send_tip(
    org: str, body: TipIn, session: SessionDep, settings: SettingsDep, request: Request
) -> TipReceipt:
    _throttle(request, settings.secret_key)
    photo = None
    if body.photo_base64:
        try:
            photo = base64.b64decode(body.photo_base64, validate=True)
        except (binascii.Error, ValueError):
            msg = "photo_base64: not base64"
            raise InvalidInput(msg) from None
    made = tips.submit_tip(
        session,
        org_slug=org,
        what=body.what,
        where=body.where,
        lat=body.lat,
        lon=body.lon,
        when=body.when,
        contact=body.contact,
        photo=photo,
        language=body.language,
    )
    session.commit()
    return TipReceipt(token=made.token, received=made.tip.received_at.date().isoformat())


@public_router.get(
    "/status/{token}",
    summary="Check your tip with your token",
    responses=problem_responses(404),
)
def tip_status(token: str, session: SessionDep) -> dict[str, Any]:
    return tips.tip_status(session, token=token)


@public_router.post(
    "/status/{token}",
    summary="Add details to your tip with your token",
    responses=problem_responses(400, 404, 409, 422),
)
def add_details(token: str, body: Details, session: SessionDep) -> dict[str, Any]:
    tips.add_details(session, token=token, text=body.text)
    session.commit()
    return tips.tip_status(session, token=token)


class TipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    received_at: Any
    language: str
    what: str
    where_text: str
    latitude: float | None
    longitude: float | None
    when_text: str
    contact: str | None
    photo_type: str | None
    status: str
    extraction: dict[str, Any]
    follow_ups: list[dict[str, Any]]
    incident_id: uuid.UUID | None
    context: Annotated[
        dict[str, Any] | None,
        Field(
            description="For triage: where the tip is about, visible incidents within 25 km "
            "around its time (nearest first) and the current threat level there"
        ),
    ] = None


class TriageIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"outcome": "verified", "note": ""}]}
    )
    outcome: Literal["verified", "duplicate", "not_actionable", "malicious"]
    note: Annotated[str, Field(max_length=2000)] = ""


@router.get("", summary="The tip triage queue (new tips by default)")
def list_tips(
    session: SessionDep,
    principal: Reviewer,
    status: Literal["new", "verified", "duplicate", "not_actionable", "malicious"] = "new",
) -> list[TipRead]:
    found = tips.list_tips(session, principal=principal, status=status)
    contexts = tips.tip_contexts(session, principal=principal, tips=found)
    return [
        TipRead.model_validate(t).model_copy(update={"context": c})
        for t, c in zip(found, contexts, strict=True)
    ]


@router.post(
    "/{tip_id}/triage",
    summary="Triage a tip; verified makes it a draft incident for review",
    responses=problem_responses(400, 404, 409, 422),
)
def triage_tip(
    tip_id: uuid.UUID, body: TriageIn, session: SessionDep, principal: Reviewer
) -> TipRead:
    tip = tips.triage(
        session, principal=principal, tip_id=tip_id, outcome=body.outcome, note=body.note
    )
    out = TipRead.model_validate(tip)
    session.commit()
    return out


# -- the public form ------------------------------------------------------------------------

_STYLE = (
    "body{font-family:sans-serif;max-width:32em;margin:1em auto;padding:0 1em}"
    "label{display:block;margin:.8em 0 .2em}textarea,input{width:100%;font-size:1.1em}"
    "button{width:100%;font-size:1.3em;padding:.7em;margin-top:1em}"
)


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Tip line / اطلاع</title><style>{_STYLE}</style></head><body>{body}</body></html>",
        status_code=status,
    )


@page_router.get("/tip/{org}")
def tip_form(org: str) -> HTMLResponse:
    o = escape(org, quote=True)
    return _page(
        "<h1>Report something you saw / جو دیکھا اس کی اطلاع دیں</h1>"
        "<p>You do not need to give your name. / آپ کو اپنا نام بتانے کی ضرورت نہیں۔</p>"  # noqa: RUF001
        f"<form method='post' action='/tip/{o}' enctype='multipart/form-data'>"
        "<label>What did you see? / آپ نے کیا دیکھا؟<textarea name='what' rows='5' required>"
        "</textarea></label>"
        "<label>Where? / کہاں؟<input name='where'></label>"
        "<label>When? / کب؟<input name='when'></label>"
        "<label>Contact (optional) / رابطہ (اختیاری)<input name='contact'></label>"
        "<label>Photo (optional) / تصویر (اختیاری)<input type='file' name='photo' "
        "accept='image/jpeg,image/png'></label>"
        "<button>Send / بھیجیں</button></form>"
    )


@page_router.post("/tip/{org}")
def tip_form_post(
    org: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    what: Annotated[str, Form(max_length=tips.MAX_TEXT)],
    where: Annotated[str, Form(max_length=300)] = "",
    when: Annotated[str, Form(max_length=100)] = "",
    contact: Annotated[str, Form(max_length=200)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    data = photo.file.read(tips.MAX_PHOTO_BYTES + 1) if photo is not None else b""
    try:
        _throttle(request, settings.secret_key)
        made = tips.submit_tip(
            session,
            org_slug=org,
            what=what,
            where=where,
            when=when,
            contact=contact or None,
            photo=data or None,
        )
        session.commit()
    except SilkguardError as exc:
        return _page(f"<h1>Not sent</h1><p>{escape(exc.msg)}</p>", status=exc.http_status)
    token = escape(made.token)
    return _page(
        "<h1>Thank you / شکریہ</h1><p>Keep this code to check your tip or add details: / "
        f"یہ کوڈ محفوظ رکھیں:</p><p><strong>{token}</strong></p>"
    )
