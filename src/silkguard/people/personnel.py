"""Personnel and their consent to location sharing.

A person's record is personal data: only their organisation sees it, and reading it needs the
``personal_data.read`` permission at the edges (API, CLI), which also write the audit entry.
Consent is an append-only history; the person's current consent is the newest record, copied
onto the person so position ingest can check it in the same query that finds the person.
While consent is absent, positions are dropped on arrival and the latest position is cleared.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth.models import User
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import Conflict, InvalidInput, NotFound
from silkguard.people.models import ConsentRecord, LatestPosition, Person, Site

__all__ = [
    "CHANNELS",
    "LANGUAGES",
    "consent_history",
    "create_person",
    "get_person",
    "list_people",
    "person_of_user",
    "set_consent",
]

#: Languages messages are written in: English, Simplified Chinese, Urdu.
LANGUAGES = ("en", "zh", "ur")
#: Ways to reach a person, in the vocabulary the alert channels use.
CHANNELS = ("mqtt", "webhook", "sms", "email")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check(person: dict[str, Any]) -> None:
    """Validate the fields of a new person, naming the field and the accepted form."""
    ref = person["ref"]
    if not _REF.match(ref):
        msg = f"ref {ref!r}: 1-64 letters, digits, '.', '_' or '-' (the staff number)"
        raise InvalidInput(msg)
    if not person["name"].strip() or len(person["name"]) > 200:
        msg = "name: give the person's name (1-200 characters)"
        raise InvalidInput(msg)
    phone = person.get("phone")
    if phone is not None and not _PHONE.match(phone):
        msg = f"phone {phone!r}: write it in international form, e.g. +923001234567"
        raise InvalidInput(msg)
    email = person.get("email")
    if email is not None and not _EMAIL.match(email):
        msg = f"email {email!r} is not an e-mail address"
        raise InvalidInput(msg)
    device = person.get("device_id")
    if device is not None and not _DEVICE.match(device):
        msg = f"device_id {device!r}: 1-64 letters, digits, '.', '_' or '-' (no '/', '+', '#')"
        raise InvalidInput(msg)
    url = person.get("webhook_url")
    if url is not None and not url.startswith(("https://", "http://")):
        msg = f"webhook_url {url!r} must be an http(s) URL"
        raise InvalidInput(msg)
    _check_reach(person)


def _check_reach(person: dict[str, Any]) -> None:
    """Languages, channels (each needs its address) and the emergency contact."""
    phone, email = person.get("phone"), person.get("email")
    device, url = person.get("device_id"), person.get("webhook_url")
    for lang in person.get("languages") or []:
        if lang not in LANGUAGES:
            msg = f"languages: {lang!r} is not supported; use {', '.join(LANGUAGES)}"
            raise InvalidInput(msg)
    reachable = {
        "mqtt": device,
        "webhook": url,
        "sms": phone,
        "email": email,
    }
    for channel in person.get("channels") or []:
        if channel not in CHANNELS:
            msg = f"channels: {channel!r} is not a channel; use {', '.join(CHANNELS)}"
            raise InvalidInput(msg)
        if reachable[channel] is None:
            field = {"mqtt": "device_id", "webhook": "webhook_url", "sms": "phone"}.get(
                channel, channel
            )
            msg = f"channels: {channel!r} is listed but {field} is not given"
            raise InvalidInput(msg)
    contact = person.get("emergency_contact")
    if contact is not None:
        cphone = contact.get("phone")
        if not str(contact.get("name", "")).strip() or not (
            isinstance(cphone, str) and _PHONE.match(cphone)
        ):
            msg = (
                "emergency_contact: give a name and a phone in international form, e.g. "
                '{"name": "Sara Khan", "phone": "+923001234567"}'
            )
            raise InvalidInput(msg)


def create_person(
    session: Session,
    *,
    principal: Principal,
    ref: str,
    name: str,
    function: str = "",
    phone: str | None = None,
    email: str | None = None,
    device_id: str | None = None,
    webhook_url: str | None = None,
    languages: Sequence[str] = ("en",),
    channels: Sequence[str] = (),
    emergency_contact: dict[str, Any] | None = None,
    supervisor_id: uuid.UUID | None = None,
    home_site_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    location_consent: bool = False,
    now: datetime | None = None,
) -> Person:
    """Add a person to the caller's organisation. ``location_consent=True`` records consent
    given at creation (by the caller, on the person's behalf; note it in the consent form)."""
    at = now or utcnow()
    fields: dict[str, Any] = {
        "ref": ref,
        "name": name,
        "function": function.strip(),
        "phone": phone,
        "email": email,
        "device_id": device_id,
        "webhook_url": webhook_url,
        "languages": list(languages),
        "channels": list(channels),
        "emergency_contact": emergency_contact,
    }
    _check(fields)
    if supervisor_id is not None:
        boss = session.get(Person, supervisor_id)
        if boss is None or boss.org_id != principal.org_id:
            msg = f"supervisor_id {supervisor_id}: no such person in your organisation"
            raise InvalidInput(msg)
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.org_id != principal.org_id:
            msg = f"user_id {user_id}: no such user in your organisation"
            raise InvalidInput(msg)
    if home_site_id is not None:
        site = session.get(Site, home_site_id)
        if site is None or site.org_id != principal.org_id:
            msg = f"home_site_id {home_site_id}: no such site in your organisation"
            raise InvalidInput(msg)
    if user_id is not None and person_of_user(session, user_id=user_id) is not None:
        msg = f"user_id {user_id} is already linked to another person; a user is one person"
        raise Conflict(msg)
    person = Person(
        id=uuid.uuid4(),
        org_id=principal.org_id,
        supervisor_id=supervisor_id,
        home_site_id=home_site_id,
        user_id=user_id,
        location_consent=False,
        active=True,
        created_at=at,
        updated_at=at,
        **fields,
    )
    try:
        with session.begin_nested():
            session.add(person)
            session.flush()
    except sa_exc.IntegrityError:
        msg = (
            f"a person with ref {ref!r} or device {device_id!r} already exists in your "
            "organisation; refs and device ids are unique"
        )
        raise Conflict(msg) from None
    audit.record(
        session,
        action="person.create",
        actor=principal.actor,
        org_id=principal.org_id,
        object_type="person",
        object_id=person.id,
        detail={"ref": ref},
        now=at,
    )
    if location_consent:
        set_consent(
            session,
            principal=principal,
            person_id=person.id,
            given=True,
            note="recorded when the person was added",
            now=at,
        )
    return person


def get_person(session: Session, *, principal: Principal | None, person_id: uuid.UUID) -> Person:
    """A person of the caller's organisation (trusted callers pass ``None``)."""
    person = session.get(Person, person_id)
    if person is None or (principal is not None and person.org_id != principal.org_id):
        msg = f"person {person_id} does not exist in your organisation"
        raise NotFound(msg)
    return person


def person_of_user(session: Session, *, user_id: uuid.UUID) -> Person | None:
    """The person record linked to a user account, if any."""
    return session.execute(select(Person).where(Person.user_id == user_id)).scalar_one_or_none()


def list_people(
    session: Session, *, principal: Principal, site_id: uuid.UUID | None = None
) -> Sequence[Person]:
    """The caller's organisation's people (optionally those based at one site), by name."""
    stmt = select(Person).where(Person.org_id == principal.org_id)
    if site_id is not None:
        stmt = stmt.where(Person.home_site_id == site_id)
    return session.execute(stmt.order_by(Person.name, Person.id)).scalars().all()


def set_consent(
    session: Session,
    *,
    principal: Principal | None,
    person_id: uuid.UUID,
    given: bool,
    note: str = "",
    recorded_by: str | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record that the person gave or withdrew consent to location sharing. Withdrawing
    clears the latest position at once (positions already stored stay until retention)."""
    at = now or utcnow()
    person = get_person(session, principal=principal, person_id=person_id)
    if len(note) > 2000:
        msg = f"note has {len(note)} characters; at most 2000"
        raise InvalidInput(msg)
    actor = recorded_by or (principal.actor if principal is not None else "system")
    record = ConsentRecord(
        person_id=person.id, purpose="location", given=given, at=at, recorded_by=actor, note=note
    )
    session.add(record)
    person.location_consent = given
    person.updated_at = at
    if not given:
        session.execute(delete(LatestPosition).where(LatestPosition.person_id == person.id))
    session.flush()
    audit.record(
        session,
        action="person.consent",
        actor=actor,
        org_id=person.org_id,
        object_type="person",
        object_id=person.id,
        detail={"given": given, "purpose": "location"},
        now=at,
    )
    return record


def consent_history(session: Session, *, person_id: uuid.UUID) -> Sequence[ConsentRecord]:
    """Every consent record of a person, oldest first (trusted callers)."""
    return (
        session.execute(
            select(ConsentRecord)
            .where(ConsentRecord.person_id == person_id)
            .order_by(ConsentRecord.id)
        )
        .scalars()
        .all()
    )
