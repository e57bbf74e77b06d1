"""The community tip line: anonymous tips from people near project sites, a one-time token
for the tipster to follow up, photos stripped of metadata, rate limits that never store an
address, and an analyst triage that turns a verified tip into a draft incident.

Abuse control: a client is throttled under a key that is the SHA-256 of a salt that changes
every day (derived from the server secret and the date) and the client's address; the key
lives only in the memory of the server process, never in the database or the logs, and
cannot be linked across days."""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth.models import Organisation
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from silkguard.core.tlp import TLP
from silkguard.geo.distance import haversine_km
from silkguard.geo.gazetteer import load_gazetteer
from silkguard.incidents import query as incidents_query
from silkguard.incidents.query import IncidentFilter
from silkguard.intake.extract import default_extractor
from silkguard.intake.models import Tip
from silkguard.intake.service import submit_report
from silkguard.risk import service as risk_service
from silkguard.risk.surface import Assessor

__all__ = [
    "MAX_PHOTO_BYTES",
    "MAX_TEXT",
    "NEARBY_KM",
    "OUTCOMES",
    "NewTip",
    "add_details",
    "client_key",
    "list_tips",
    "strip_photo",
    "submit_tip",
    "tip_context",
    "tip_contexts",
    "tip_status",
    "triage",
]

MAX_TEXT = 5_000
MAX_PHOTO_BYTES = 5 * 2**20
MAX_PIXELS = 40_000_000
OUTCOMES = ("verified", "duplicate", "not_actionable", "malicious")
_LANGS = ("en", "ur")


@dataclass(frozen=True)
class NewTip:
    tip: Tip
    token: str


def client_key(secret: str, address: str, today: date) -> str:
    """The rate-limit key of a client today: nothing that can be turned back into the address
    or linked to the same client tomorrow."""
    salt = hmac.new(secret.encode(), f"tips:{today.isoformat()}".encode(), hashlib.sha256)
    return hashlib.sha256(salt.digest() + address.encode()).hexdigest()


def strip_photo(data: bytes) -> tuple[bytes, str]:
    """The photo re-encoded from its pixels alone (no EXIF, GPS, comments or other metadata),
    as JPEG (or PNG when it has transparency)."""
    if len(data) > MAX_PHOTO_BYTES:
        msg = f"photo: {len(data)} bytes; at most {MAX_PHOTO_BYTES // 2**20} MB"
        raise PayloadTooLarge(msg)
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                msg = f"photo: {img.width}x{img.height} pixels is too large; send a smaller one"
                raise InvalidInput(msg)
            img.load()
            alpha = img.mode in ("RGBA", "LA") or "transparency" in img.info
            clean = Image.new("RGBA" if alpha else "RGB", img.size)
            clean.paste(img.convert("RGBA" if alpha else "RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        msg = (
            f"photo: not an image this server can read ({exc.__class__.__name__}); "
            "send a JPEG or PNG"
        )
        raise InvalidInput(msg) from None
    out = io.BytesIO()
    if alpha:
        clean.save(out, format="PNG")
        return out.getvalue(), "image/png"
    clean.save(out, format="JPEG", quality=88)
    return out.getvalue(), "image/jpeg"


def _org(session: Session, slug: str) -> Organisation:
    org = session.execute(
        select(Organisation).where(Organisation.slug == slug)
    ).scalar_one_or_none()
    if org is None:
        msg = f"no tip line {slug!r}"
        raise NotFound(msg)
    return org


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def submit_tip(
    session: Session,
    *,
    org_slug: str,
    what: str,
    where: str = "",
    lat: float | None = None,
    lon: float | None = None,
    when: str = "",
    contact: str | None = None,
    photo: bytes | None = None,
    language: str = "en",
    now: datetime | None = None,
) -> NewTip:
    """Store a tip for an organisation's tip line and return the tipster's one-time token."""
    at = now or utcnow()
    org = _org(session, org_slug)
    text = what.strip()
    if not text:
        msg = "what: say what you saw"
        raise InvalidInput(msg)
    if len(text) > MAX_TEXT:
        msg = f"what: {len(text)} characters; at most {MAX_TEXT}"
        raise PayloadTooLarge(msg)
    if len(where) > 300 or len(when) > 100 or (contact is not None and len(contact) > 200):
        msg = "where (300), when (100) and contact (200 characters) are too long"
        raise InvalidInput(msg)
    if (lat is None) != (lon is None) or (
        lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)
    ):
        msg = "lat/lon: give both, in degrees, or neither"
        raise InvalidInput(msg)
    clean_photo, photo_type = strip_photo(photo) if photo else (None, None)
    token = secrets.token_urlsafe(24)
    report_text = "\n".join(
        p for p in (text, f"Where: {where}" if where else "", f"When: {when}" if when else "") if p
    )
    draft = default_extractor().extract(report_text[: MAX_TEXT + 500], at.date())
    tip = Tip(
        id=uuid.uuid4(),
        org_id=org.id,
        received_at=at,
        language=language if language in _LANGS else "en",
        what=text,
        where_text=where.strip(),
        latitude=lat,
        longitude=lon,
        when_text=when.strip(),
        contact=(contact or "").strip() or None,
        photo=clean_photo,
        photo_type=photo_type,
        status="new",
        token_hash=_hash(token),
        extraction=draft.as_dict(),
        follow_ups=[],
    )
    session.add(tip)
    session.flush()
    return NewTip(tip=tip, token=token)


def _by_token(session: Session, token: str) -> Tip:
    tip = session.execute(select(Tip).where(Tip.token_hash == _hash(token))).scalar_one_or_none()
    if tip is None:
        msg = "no tip for this token; keep the token you were given when you sent the tip"
        raise NotFound(msg)
    return tip


def tip_status(session: Session, *, token: str) -> dict[str, Any]:
    """What the tipster may know: that it arrived, and whether it was looked at."""
    tip = _by_token(session, token)
    return {
        "received": tip.received_at.date().isoformat(),
        "reviewed": tip.status != "new",
        "details_added": len(tip.follow_ups),
    }


def add_details(session: Session, *, token: str, text: str, now: datetime | None = None) -> None:
    tip = _by_token(session, token)
    clean = text.strip()
    if not clean or len(clean) > MAX_TEXT:
        msg = f"text: 1-{MAX_TEXT} characters"
        raise InvalidInput(msg)
    if len(tip.follow_ups) >= 20:
        msg = "this tip has 20 additions already; send a new tip"
        raise Conflict(msg)
    tip.follow_ups = [*tip.follow_ups, {"at": (now or utcnow()).isoformat(), "text": clean}]
    session.flush()


def list_tips(
    session: Session, *, principal: Principal, status: str | None = "new", limit: int = 100
) -> Sequence[Tip]:
    stmt = select(Tip).where(Tip.org_id == principal.org_id)
    if status is not None:
        stmt = stmt.where(Tip.status == status)
    return session.scalars(stmt.order_by(Tip.received_at.desc()).limit(limit)).all()


def triage(
    session: Session,
    *,
    principal: Principal,
    tip_id: uuid.UUID,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> Tip:
    """Record an analyst's outcome; ``verified`` stores the tip as a draft incident (source
    kind ``tip``) for the usual review, never as a confirmed one."""
    at = now or utcnow()
    if outcome not in OUTCOMES:
        msg = f"outcome {outcome!r}: use one of {', '.join(OUTCOMES)}"
        raise InvalidInput(msg)
    tip = session.get(Tip, tip_id)
    if tip is None or tip.org_id != principal.org_id:
        msg = f"tip {tip_id} does not exist in your organisation"
        raise NotFound(msg)
    if tip.status != "new":
        msg = f"tip {tip_id} was already triaged ({tip.status})"
        raise Conflict(msg)
    if outcome == "verified":
        text = "\n".join(
            p
            for p in (
                tip.what,
                f"Where: {tip.where_text}" if tip.where_text else "",
                *(f["text"] for f in tip.follow_ups),
            )
            if p
        )
        result = submit_report(
            session,
            principal=principal,
            text=text,
            report_date=tip.received_at.date(),
            tlp=TLP.AMBER,
            force=True,
            source_kind="tip",
        )
        assert result.incident is not None
        tip.incident_id = result.incident.id
    tip.status = outcome
    tip.triaged_by = principal.actor
    tip.triaged_at = at
    tip.triage_note = note[:2000]
    session.flush()
    audit.record(
        session,
        action="tip.triage",
        actor=principal.actor,
        org_id=principal.org_id,
        object_type="tip",
        object_id=tip.id,
        detail={"outcome": outcome},
        now=at,
    )
    return tip


# -- triage context ---------------------------------------------------------------------------

#: Incidents this close to a tip's point are shown beside it in the triage queue.
NEARBY_KM = 25.0
#: ... when they happened this long before the tip (or up to two days after it).
NEARBY_BEFORE = timedelta(days=90)
NEARBY_AFTER = timedelta(days=2)
NEARBY_SHOWN = 5


def _tip_point(tip: Tip) -> tuple[float, float, str, str | None] | None:
    """Where the tip is about: the tipster's map point, else the place they named (offline
    gazetteer), else the place the extractor found in the text."""
    if tip.latitude is not None and tip.longitude is not None:
        return tip.latitude, tip.longitude, "map_point", None
    if tip.where_text:
        found = load_gazetteer().geocode(tip.where_text, None, None)
        if found is not None:
            return found.latitude, found.longitude, "where", found.place
    lat, lon = tip.extraction.get("latitude"), tip.extraction.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return float(lat), float(lon), "text", tip.extraction.get("place")
    return None


def tip_contexts(
    session: Session, *, principal: Principal, tips: Sequence[Tip]
) -> list[dict[str, Any]]:
    """:func:`tip_context` of each tip, reading the newest visible forecast once."""
    assessor: Assessor | None = None
    try:
        run = risk_service.latest_run(session, principal=principal)
    except NotFound:
        pass
    else:
        assessor = risk_service.assessor_for(session, run)
    return [_context(session, principal, tip, assessor) for tip in tips]


def tip_context(session: Session, *, principal: Principal, tip: Tip) -> dict[str, Any]:
    """What an analyst needs beside a tip: where it is about (``basis``: the tipster's
    ``map_point``, the place they named, ``where``, or the place found in the ``text``); the
    incidents the analyst may see within :data:`NEARBY_KM` of it around its time (nearest
    first: a duplicate or a pattern); and the current threat level there from the newest
    visible forecast, with its reason."""
    return tip_contexts(session, principal=principal, tips=[tip])[0]


def _context(
    session: Session, principal: Principal, tip: Tip, assessor: Assessor | None
) -> dict[str, Any]:
    point = _tip_point(tip)
    if point is None:
        return {"point": None, "nearby": [], "threat": None}
    lat, lon, basis, place = point
    dlat = NEARBY_KM / 111.0
    dlon = NEARBY_KM / (111.0 * max(0.1, math.cos(math.radians(lat))))
    found, _ = incidents_query.search(
        session,
        principal=principal,
        filters=IncidentFilter(
            since=tip.received_at - NEARBY_BEFORE,
            until=tip.received_at + NEARBY_AFTER,
            bbox=(lon - dlon, lat - dlat, lon + dlon, lat + dlat),
        ),
        limit=500,
    )
    near = sorted(
        (
            (haversine_km(lat, lon, i.latitude, i.longitude), i)
            for i in found
            if i.latitude is not None and i.longitude is not None
        ),
        key=lambda pair: (pair[0], pair[1].occurred_at),
    )
    nearby = [
        {
            "id": str(i.id),
            "occurred_at": i.occurred_at.isoformat(),
            "place": i.place or i.district or "",
            "attack_type": i.attack_type,
            "killed": i.killed,
            "injured": i.injured,
            "status": i.status,
            "distance_km": round(d, 1),
        }
        for d, i in near
        if d <= NEARBY_KM
    ][:NEARBY_SHOWN]
    threat: dict[str, Any] | None = None
    if assessor is not None:
        reading = assessor.at_point(lat, lon)
        threat = {"level": reading.level, "name": reading.name, "reason": reading.reason}
    return {
        "point": {"lat": lat, "lon": lon, "basis": basis, "place": place},
        "nearby": nearby,
        "threat": threat,
    }
