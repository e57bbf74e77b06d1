"""Alerts: raise, find everyone affected, queue a message per person over their first
channel, deliver with escalation to the next channel, roll-call, SOS, duress and the
"escort me" dead-man timer.

Who is affected (the fan-out) -- active people of the alert's organisation who are
  * ``position``: their latest position (kept only with consent) is inside the area;
  * ``site``: their home site lies inside the area;
  * ``movement``: they travel on a movement under way or overdue whose route passes through.

Each affected person gets one roll-call row with a one-time token (an HMAC of the alert and
person under the server secret, so it can be rebuilt when a message is sent and is stored
only as a hash) and one queued delivery on the first of their channels. A delivery that
fails for good queues the next channel in the person's order; a person whose every channel
failed is "never reached" when the roll-call closes. Deliveries are keyed by (alert, person,
channel, purpose), so running the fan-out or a delivery job twice sends nothing twice.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, select, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from silkguard.alerts.areas import Area, parse_area
from silkguard.alerts.cap import AlertText, Circle, PublicAlert
from silkguard.alerts.cap import Polygon as CapPolygon
from silkguard.alerts.models import Alert, AlertRecipient, Delivery, EscortTimer
from silkguard.alerts.vocab import (
    AlertCategory,
    AlertSeverity,
    AlertSource,
    DeliveryState,
    parse_enum,
)
from silkguard.auth import audit
from silkguard.auth.passwords import hash_password, verify_password
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import insert_rows
from silkguard.core.errors import Conflict, InvalidInput, NotFound
from silkguard.core.tlp import TLP, parse_tlp
from silkguard.journeys.models import Movement, MovementMember
from silkguard.journeys.states import MovementState
from silkguard.people.models import LatestPosition, Person, Site

__all__ = [
    "ANSWERS",
    "Board",
    "Outbound",
    "SendResult",
    "Sender",
    "answer_rollcall",
    "board",
    "cancel_escort",
    "close_alert",
    "deliver",
    "deliver_many",
    "delivery_keys",
    "fan_out",
    "fire_due_escorts",
    "get_alert",
    "get_public_alert",
    "inbound_sms",
    "list_alerts",
    "public_alerts",
    "raise_alert",
    "raise_sos",
    "remind",
    "rollcall_token",
    "send_serially",
    "set_duress_code",
    "sms_delivery_report",
    "start_escort",
    "to_cap",
]

ANSWERS = ("safe", "need_help")
REQUIRED_LANGUAGES = ("en", "zh")
MAX_VALID = timedelta(days=14)
SOS_RADIUS_KM = 2.0
#: A fan-out adding at least this many recipients, and more than 1/_ANALYZE_FRACTION of the
#: table, refreshes the planner's statistics (PostgreSQL).
_ANALYZE_FROM = 1_000
_ANALYZE_FRACTION = 10
_ACTIVE_MOVEMENT = (MovementState.UNDER_WAY.value, MovementState.OVERDUE.value)
_ROLLCALL_HINT = {
    "en": "Answer: {link} or reply SAFE / HELP {code}",
    "zh": "请回复：{link} 或短信回复 SAFE / HELP {code}",  # noqa: RUF001
    "ur": "جواب دیں: {link} یا SAFE / HELP {code} لکھ کر بھیجیں",
}


# -- delivery interface ------------------------------------------------------------------------


@dataclass(frozen=True)
class Outbound:
    """One message to one person over one channel."""

    key: str  # idempotency key: alert:person:channel:purpose
    channel: str
    address: str
    language: str
    subject: str
    body: str
    alert_id: uuid.UUID
    drill: bool
    severity: str


@dataclass(frozen=True)
class SendResult:
    state: str  # sent | delivered | failed
    retryable: bool = False
    error: str | None = None
    provider_id: str | None = None


class Sender(Protocol):
    def __call__(self, message: Outbound) -> SendResult: ...


# -- raising --------------------------------------------------------------------------------


def rollcall_token(secret: str, alert_id: uuid.UUID, person_id: uuid.UUID) -> str:
    """The person's one-time roll-call token for an alert (rebuilt, never stored)."""
    mac = hmac.new(secret.encode(), f"rollcall:{alert_id}:{person_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _short_code(alert_id: uuid.UUID) -> str:
    return alert_id.hex[:4].upper()


def _check_messages(messages: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for lang, written in messages.items():
        if lang not in ("en", "zh", "ur"):
            msg = f"messages.{lang}: language not supported; use en, zh, ur"
            raise InvalidInput(msg)
        if not isinstance(written, Mapping):
            msg = f"messages.{lang} must be {{'headline': ..., 'body': ...}}"
            raise InvalidInput(msg)
        headline = str(written.get("headline", "")).strip()
        body = str(written.get("body", "")).strip()
        if not headline or len(headline) > 160 or len(body) > 2000:
            msg = f"messages.{lang}: a headline of 1-160 characters and a body up to 2000"
            raise InvalidInput(msg)
        out[lang] = {"headline": headline, "body": body}
    missing = [lang for lang in REQUIRED_LANGUAGES if lang not in out]
    if missing:
        msg = f"messages: every alert is written in English and Chinese; missing {missing}"
        raise InvalidInput(msg)
    return out


def raise_alert(
    session: Session,
    *,
    principal: Principal | None,
    org_id: uuid.UUID,
    area: Any,
    severity: str,
    category: str,
    messages: Mapping[str, Any],
    secret: str,
    valid_for: timedelta = timedelta(hours=6),
    source: str = AlertSource.MANUAL.value,
    source_ref: str | None = None,
    drill: bool = False,
    public: bool = False,
    tlp: str = TLP.AMBER.value,
    extra_people: Mapping[uuid.UUID, str] | None = None,
    now: datetime | None = None,
) -> Alert:
    """Store an alert, find everyone affected and queue their first message. Everything is
    validated before anything is stored."""
    at = now or utcnow()
    parsed = parse_area(area)
    sev = parse_enum(AlertSeverity, severity, field="severity").value
    src = parse_enum(AlertSource, source, field="source").value
    cat = parse_enum(AlertCategory, category, field="category").value
    if not timedelta(minutes=1) <= valid_for <= MAX_VALID:
        msg = "valid_for: between 1 minute and 14 days"
        raise InvalidInput(msg)
    clean = _check_messages(messages)
    alert = Alert(
        id=uuid.uuid4(),
        org_id=org_id,
        tlp=TLP.CLEAR.value if public else parse_tlp(tlp).value,
        public=public,
        area=parsed.doc,
        severity=sev,
        category=cat,
        messages=clean,
        valid_from=at,
        valid_until=at + valid_for,
        source=src,
        source_ref=source_ref,
        drill=drill,
        status="active",
        created_by=principal.actor if principal is not None else "system",
        created_at=at,
    )
    session.add(alert)
    session.flush()
    affected = _find_affected(session, alert, parsed)
    extra = dict(extra_people or {})
    for pid, why in extra.items():
        if pid in affected:
            affected[pid][0].add(why)
    unknown = [pid for pid in extra if pid not in affected]
    if unknown:
        for pid, languages, channels in session.execute(
            select(Person.id, Person.languages, Person.channels).where(Person.id.in_(unknown))
        ):
            affected[pid] = ({extra[pid]}, languages, channels)
    _add_recipients(session, alert, affected, secret, at)
    audit.record(
        session,
        action="alert.raise",
        actor=alert.created_by,
        org_id=org_id,
        object_type="alert",
        object_id=alert.id,
        detail={
            "source": src,
            "drill": drill,
            "recipients": len(affected.keys() | extra.keys()),
            "severity": sev,
        },
        now=at,
    )
    return alert


def fan_out(session: Session, *, alert: Alert, area: Area) -> dict[uuid.UUID, set[str]]:
    """Everyone of the alert's organisation the area affects, with the reasons."""
    return {pid: why for pid, (why, _, _) in _find_affected(session, alert, area).items()}


# An affected person: the reasons, and the languages and channels their messages need (read
# by the fan-out's own queries rather than by a second lookup of thousands of ids).
_Affected = tuple[set[str], list[str] | None, list[str] | None]


def _find_affected(session: Session, alert: Alert, area: Area) -> dict[uuid.UUID, _Affected]:
    found: dict[uuid.UUID, _Affected] = {}

    def add(
        pid: uuid.UUID, why: str, languages: list[str] | None, channels: list[str] | None
    ) -> None:
        found.setdefault(pid, (set(), languages, channels))[0].add(why)

    min_lat, min_lon, max_lat, max_lon = area.bbox
    rows = session.execute(
        select(
            LatestPosition.person_id,
            LatestPosition.latitude,
            LatestPosition.longitude,
            Person.languages,
            Person.channels,
        )
        .join(Person, Person.id == LatestPosition.person_id)
        .where(
            LatestPosition.org_id == alert.org_id,
            Person.active.is_(True),
            Person.location_consent.is_(True),
            LatestPosition.latitude.between(min_lat, max_lat),
            LatestPosition.longitude.between(min_lon, max_lon),
        )
    ).all()
    if rows:
        inside = area.contains([r[1] for r in rows], [r[2] for r in rows])
        for (pid, _, _, languages, channels), hit in zip(rows, inside, strict=True):
            if hit:
                add(pid, "position", languages, channels)
    sites = session.execute(
        select(Site.id, Site.latitude, Site.longitude).where(Site.org_id == alert.org_id)
    ).all()
    if sites:
        inside = area.contains([s[1] for s in sites], [s[2] for s in sites])
        hit_sites = [s[0] for s, hit in zip(sites, inside, strict=True) if hit]
        if hit_sites:
            for pid, languages, channels in session.execute(
                select(Person.id, Person.languages, Person.channels).where(
                    Person.home_site_id.in_(hit_sites), Person.active.is_(True)
                )
            ):
                add(pid, "site", languages, channels)
    movements = session.execute(
        select(Movement.id, Movement.route).where(
            Movement.org_id == alert.org_id, Movement.state.in_(_ACTIVE_MOVEMENT)
        )
    ).all()
    crossing = [mid for mid, route in movements if area.crosses(route.get("coordinates", []))]
    if crossing:
        for pid, languages, channels in session.execute(
            select(MovementMember.person_id, Person.languages, Person.channels)
            .join(Person, Person.id == MovementMember.person_id)
            .where(MovementMember.movement_id.in_(crossing), Person.active.is_(True))
        ):
            add(pid, "movement", languages, channels)
    return found


def _add_recipients(
    session: Session,
    alert: Alert,
    affected: Mapping[uuid.UUID, _Affected],
    secret: str,
    at: datetime,
) -> None:
    if not affected:
        return
    # Bulk inserts (COPY on PostgreSQL): an alert over a town reaches thousands of people.
    messages = alert.messages
    recipients: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for pid, (reasons, languages, channels) in sorted(affected.items(), key=lambda kv: str(kv[0])):
        language = next((lang for lang in languages or [] if lang in messages), "en")
        recipients.append(
            {
                "alert_id": alert.id,
                "person_id": pid,
                "reasons": ",".join(sorted(reasons)),
                "language": language,
                "answer": "unaccounted",
                "token_hash": _token_hash(rollcall_token(secret, alert.id, pid)),
                "reminders": 0,
                "escalated": False,
            }
        )
        if channels:
            deliveries.append(
                {
                    "alert_id": alert.id,
                    "person_id": pid,
                    "channel": channels[0],
                    "purpose": "alert",
                    "rank": 0,
                    "state": DeliveryState.QUEUED.value,
                    "attempts": 0,
                    "created_at": at,
                    "updated_at": at,
                }
            )
    session.flush()
    insert_rows(session, AlertRecipient, recipients)
    insert_rows(session, Delivery, deliveries)
    _refresh_statistics(session, len(recipients))


def _refresh_statistics(session: Session, added: int) -> None:
    """Refresh PostgreSQL's planner statistics of the roll-call tables when a fan-out has grown
    them by a large fraction (the first big alert of a deployment). Without them the planner
    takes a table it believes small for one to scan whole: each delivery batch then reads every
    recipient of the alert (17 ms instead of 1 ms per batch of 100, 10,000 recipients), and
    autovacuum would analyze only after the naptime, when the messages have gone out.
    ``ANALYZE`` counts the rows this transaction inserted; others see the statistics at commit."""
    if added < _ANALYZE_FROM or session.get_bind().dialect.name != "postgresql":
        return
    known = session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = 'alert_recipients'::regclass")
    )
    if known is not None and known >= _ANALYZE_FRACTION * added:
        return
    session.execute(text("ANALYZE alert_recipients, deliveries"))


# -- delivering -----------------------------------------------------------------------------


def _address(person: Person, channel: str) -> str | None:
    return {
        "mqtt": person.device_id,
        "webhook": person.webhook_url,
        "sms": person.phone,
        "email": person.email,
    }.get(channel)


def compose(
    alert: Alert, person_id: uuid.UUID, language: str, secret: str, base_url: str, purpose: str
) -> tuple[str, str]:
    """(subject, body) of a person's message in their roll-call language, with the hint."""
    lang = language if language in alert.messages else "en"
    text = alert.messages[lang]
    reminder = (
        ""
        if purpose == "alert"
        else ("Reminder: " if lang == "en" else "提醒：" if lang == "zh" else "")  # noqa: RUF001
    )
    token = rollcall_token(secret, alert.id, person_id)
    link = f"{base_url.rstrip('/')}/r/{token}"
    hint = _ROLLCALL_HINT.get(lang, _ROLLCALL_HINT["en"]).format(
        link=link, code=_short_code(alert.id)
    )
    subject = f"{reminder}{text['headline']}"
    body = "\n\n".join(part for part in (subject, text["body"], hint) if part)
    return subject, body


SendMany = Callable[[Sequence[tuple[Sender, Outbound]]], list[SendResult]]


def send_serially(work: Sequence[tuple[Sender, Outbound]]) -> list[SendResult]:
    """Send one message after the other (the default of :func:`deliver_many`)."""
    return [sender(message) for sender, message in work]


def deliver(
    session: Session,
    *,
    delivery_id: int,
    senders: Mapping[str, Sender],
    secret: str,
    base_url: str = "http://127.0.0.1:8000",
    now: datetime | None = None,
) -> list[int]:
    """Send one queued delivery; returns the ids of deliveries it queued next (escalation to
    the person's next channel after a permanent failure). Already sent or failed deliveries
    are left alone, so running the same job twice sends once."""
    if session.get(Delivery, delivery_id) is None:
        msg = f"delivery {delivery_id} does not exist"
        raise NotFound(msg)
    return deliver_many(
        session,
        delivery_ids=[delivery_id],
        senders=senders,
        secret=secret,
        base_url=base_url,
        now=now,
    )


def deliver_many(
    session: Session,
    *,
    delivery_ids: Sequence[int],
    senders: Mapping[str, Sender],
    secret: str,
    base_url: str = "http://127.0.0.1:8000",
    now: datetime | None = None,
    send_many: SendMany = send_serially,
) -> list[int]:
    """Send a batch of queued deliveries in one transaction; returns the ids queued next.

    The rows are locked in id order (``FOR UPDATE`` on PostgreSQL; SQLite's write lock), so
    two jobs holding the same delivery send it once: the second finds it no longer queued.
    Everything a message needs is read in a few queries, the messages go out through
    ``send_many`` (the worker sends them concurrently), and every outcome is recorded before
    the caller commits. Ids that no longer exist are skipped."""
    at = now or utcnow()
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)))
        .order_by(Delivery.id)
        .with_for_update()
    ).all()
    queued = [d for d in rows if d.state == DeliveryState.QUEUED.value]
    if not queued:
        return []
    # Separate keyed reads: PostgreSQL plans a join of these as hash joins over whole tables.
    people = {
        p.id: p
        for p in session.scalars(select(Person).where(Person.id.in_({d.person_id for d in queued})))
    }
    roll_language: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
    for alert_id in {d.alert_id for d in queued}:
        wanted = {d.person_id for d in queued if d.alert_id == alert_id}
        roll_language.update(
            ((alert_id, person_id), lang)
            for person_id, lang in session.execute(
                select(AlertRecipient.person_id, AlertRecipient.language).where(
                    AlertRecipient.alert_id == alert_id, AlertRecipient.person_id.in_(wanted)
                )
            )
        )
    todo = [(d, people[d.person_id], roll_language.get((d.alert_id, d.person_id))) for d in queued]
    alert_ids = {d.alert_id for d, _, _ in todo}
    by_alert = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(alert_ids)))}
    outcomes: dict[int, SendResult] = {}
    work: list[tuple[Delivery, Sender, Outbound]] = []
    for d, person, language in todo:
        prepared = _prepare(
            session, d, by_alert[d.alert_id], person, language, senders, secret, base_url
        )
        if isinstance(prepared, SendResult):
            outcomes[d.id] = prepared
        else:
            work.append((d, *prepared))
    for (d, _, _), result in zip(
        work, send_many([(sender, message) for _, sender, message in work]), strict=True
    ):
        outcomes[d.id] = result
    _record_outcomes(session, [d for d, _, _ in todo], outcomes, at)
    follow: list[int] = []
    for d, person, _ in todo:
        if d.state == DeliveryState.FAILED.value:
            follow += _escalate(session, d, person, at)
    return follow


def _record_outcomes(
    session: Session, todo: Sequence[Delivery], outcomes: Mapping[int, SendResult], at: datetime
) -> None:
    """Write the batch's outcomes with one UPDATE per distinct outcome (usually one for the
    whole batch) instead of one per delivery, and mirror them on the loaded objects."""
    groups: dict[tuple[str, str | None, str | None], list[Delivery]] = {}
    for d in todo:
        r = outcomes[d.id]
        groups.setdefault((r.state, r.error, r.provider_id), []).append(d)
    for (state, error, provider_id), batch in groups.items():
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([d.id for d in batch]))
            .values(
                state=state,
                error=error,
                provider_id=provider_id,
                attempts=Delivery.attempts + 1,
                updated_at=at,
            )
            .execution_options(synchronize_session=False)
        )
        for d in batch:
            for name, value in (
                ("state", state),
                ("error", error),
                ("provider_id", provider_id),
                ("attempts", d.attempts + 1),
                ("updated_at", at),
            ):
                set_committed_value(d, name, value)


def _prepare(
    session: Session,
    d: Delivery,
    alert: Alert,
    person: Person,
    language: str | None,
    senders: Mapping[str, Sender],
    secret: str,
    base_url: str,
) -> SendResult | tuple[Sender, Outbound]:
    """The message of one delivery and the sender for it, or why it cannot be sent."""
    address = _address(person, d.channel)
    if d.purpose == "contact":
        address = (person.emergency_contact or {}).get("phone")
    sender = senders.get(d.channel)
    if sender is None:
        return SendResult(state="failed", error=f"no {d.channel} channel configured")
    if address is None or (d.about_id is None and language is None):
        return SendResult(state="failed", error=f"no {d.channel} address")
    if d.about_id is not None:
        subject, body = _compose_escalation(session, alert, d, person)
        language = "en" if d.purpose == "contact" else (person.languages or ["en"])[0]
    else:
        assert language is not None
        subject, body = compose(alert, d.person_id, language, secret, base_url, d.purpose)
    return sender, Outbound(
        key=f"{d.alert_id}:{d.person_id}:{d.channel}:{d.purpose}",
        channel=d.channel,
        address=address,
        language=language,
        subject=subject,
        body=body,
        alert_id=alert.id,
        drill=alert.drill,
        severity=alert.severity,
    )


def _compose_escalation(
    session: Session, alert: Alert, d: Delivery, reader: Person
) -> tuple[str, str]:
    """The message to a supervisor or emergency contact about an unaccounted person."""
    about = session.get(Person, d.about_id) if d.about_id is not None else None
    name = about.name if about is not None else "a colleague"
    lang = "en" if d.purpose == "contact" else (reader.languages or ["en"])[0]
    if lang == "zh":
        headline = alert.messages.get("zh", alert.messages["en"])["headline"]
        return (
            f"{name} 未回复点名",
            f"{name} 尚未回复警报“{headline}”的点名。请尝试联系并告知安保。",
        )
    headline = alert.messages["en"]["headline"]
    return (
        f"{name} has not answered the roll-call",
        f"{name} has not answered the roll-call of the alert '{headline}'. Please try "
        "to reach them and tell the security team what you learn.",
    )


def _escalate(session: Session, d: Delivery, person: Person, at: datetime) -> list[int]:
    for rank in range(d.rank + 1, len(person.channels)):
        channel = person.channels[rank]
        nxt = Delivery(
            alert_id=d.alert_id,
            person_id=d.person_id,
            channel=channel,
            purpose=d.purpose,
            rank=rank,
            created_at=at,
            updated_at=at,
        )
        try:
            with session.begin_nested():
                session.add(nxt)
                session.flush()
        except sa_exc.IntegrityError:
            continue  # already queued by an earlier run
        return [nxt.id]
    return []


#: What an SMS gateway may report, and the delivery state each one means.
SMS_REPORT_STATES = {
    "delivered": DeliveryState.DELIVERED.value,
    "failed": DeliveryState.FAILED.value,
    "undelivered": DeliveryState.FAILED.value,
    "expired": DeliveryState.FAILED.value,
    "rejected": DeliveryState.FAILED.value,
}


@dataclass(frozen=True)
class ReportOutcome:
    """What a delivery report did: the delivery, whether its state changed, and the
    deliveries queued next (the person's next channel after a failure)."""

    delivery: Delivery
    changed: bool
    queued: list[int]


def sms_delivery_report(
    session: Session,
    *,
    message_id: str,
    status: str,
    error: str | None = None,
    now: datetime | None = None,
) -> ReportOutcome:
    """Record the SMS gateway's report on a message it accepted: ``delivered``, or a failure
    (``failed``, ``undelivered``, ``expired``, ``rejected``) with the gateway's error, which
    queues the person's next channel as a failed send does. The message is found by the
    gateway's id stored when it was sent. A repeated report changes nothing; a report that
    contradicts an earlier final one is a Conflict (a delivered SMS stays delivered)."""
    at = now or utcnow()
    target = SMS_REPORT_STATES.get(status.strip().lower())
    if target is None:
        accepted = ", ".join(SMS_REPORT_STATES)
        msg = f"status {status!r} is not a final delivery status; use one of {accepted}"
        raise InvalidInput(msg, field="status")
    d = session.scalars(
        select(Delivery)
        .where(Delivery.channel == "sms", Delivery.provider_id == message_id)
        .order_by(Delivery.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if d is None:
        msg = (
            f"no SMS was sent with gateway message id {message_id!r}; report the id the "
            "gateway answered the send request with"
        )
        raise NotFound(msg)
    if d.state == target:
        return ReportOutcome(delivery=d, changed=False, queued=[])
    if d.state != DeliveryState.SENT.value:
        msg = (
            f"the SMS {message_id!r} is already {d.state}; a report of {status!r} after it "
            "is not recorded"
        )
        raise Conflict(msg)
    d.state = target
    d.updated_at = at
    if target == DeliveryState.FAILED.value:
        d.error = f"gateway reported {status}" + (f": {error.strip()[:500]}" if error else "")
    session.flush()
    queued: list[int] = []
    if target == DeliveryState.FAILED.value:
        person = session.get(Person, d.person_id)
        assert person is not None
        queued = _escalate(session, d, person, at)
    return ReportOutcome(delivery=d, changed=True, queued=queued)


def delivery_keys(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Each delivery's idempotency key, ``alert:person:channel:purpose`` (unique across
    databases, unlike the row id)."""
    rows = session.execute(
        select(
            Delivery.id, Delivery.alert_id, Delivery.person_id, Delivery.channel, Delivery.purpose
        ).where(Delivery.id.in_(list(ids)))
    ).all()
    return {i: f"{a}:{p}:{c}:{u}" for i, a, p, c, u in rows}


def queued_deliveries(session: Session, *, alert_id: uuid.UUID | None = None) -> list[int]:
    """Ids of deliveries waiting to be sent (oldest first)."""
    stmt = select(Delivery.id).where(Delivery.state == DeliveryState.QUEUED.value)
    if alert_id is not None:
        stmt = stmt.where(Delivery.alert_id == alert_id)
    return list(session.scalars(stmt.order_by(Delivery.id)))


# -- roll-call ------------------------------------------------------------------------------


@dataclass
class Board:
    alert_id: uuid.UUID
    status: str
    drill: bool
    total: int
    accounted: int
    unaccounted: list[uuid.UUID] = field(default_factory=list)
    need_help: list[uuid.UUID] = field(default_factory=list)
    safe: list[uuid.UUID] = field(default_factory=list)
    never_reached: list[uuid.UUID] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    accounted_after_s: float | None = None


def get_alert(session: Session, *, principal: Principal | None, alert_id: uuid.UUID) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or (principal is not None and alert.org_id != principal.org_id):
        msg = f"alert {alert_id} does not exist in your organisation"
        raise NotFound(msg)
    return alert


def list_alerts(
    session: Session,
    *,
    principal: Principal | None,
    status: str | None = None,
    limit: int = 100,
    raised_from: datetime | None = None,
    raised_before: datetime | None = None,
) -> Sequence[Alert]:
    """The caller's organisation's alerts, newest first (trusted callers pass ``None`` and see
    every organisation's), optionally raised in ``[raised_from, raised_before)``."""
    stmt = select(Alert)
    if principal is not None:
        stmt = stmt.where(Alert.org_id == principal.org_id)
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    if raised_from is not None:
        stmt = stmt.where(Alert.created_at >= raised_from)
    if raised_before is not None:
        stmt = stmt.where(Alert.created_at < raised_before)
    return session.scalars(stmt.order_by(Alert.created_at.desc()).limit(limit)).all()


def _never_reached(session: Session, alert_id: uuid.UUID) -> set[uuid.UUID]:
    """People none of whose deliveries succeeded (all failed, or none possible)."""
    ok = set(
        session.scalars(
            select(Delivery.person_id).where(
                Delivery.alert_id == alert_id,
                Delivery.state.in_((DeliveryState.SENT.value, DeliveryState.DELIVERED.value)),
            )
        )
    )
    pending = set(
        session.scalars(
            select(Delivery.person_id).where(
                Delivery.alert_id == alert_id, Delivery.state == DeliveryState.QUEUED.value
            )
        )
    )
    everyone = set(
        session.scalars(select(AlertRecipient.person_id).where(AlertRecipient.alert_id == alert_id))
    )
    return everyone - ok - pending


def board(session: Session, *, principal: Principal | None, alert_id: uuid.UUID) -> Board:
    """The roll-call board: accounted, unaccounted and need-help, and delivery counts."""
    alert = get_alert(session, principal=principal, alert_id=alert_id)
    rows = session.execute(
        select(AlertRecipient.person_id, AlertRecipient.answer).where(
            AlertRecipient.alert_id == alert.id
        )
    ).all()
    out = Board(
        alert_id=alert.id,
        status=alert.status,
        drill=alert.drill,
        total=len(rows),
        accounted=0,
        accounted_after_s=alert.accounted_after_s,
    )
    for pid, answer in rows:
        if answer == "unaccounted":
            out.unaccounted.append(pid)
        elif answer == "need_help":
            out.need_help.append(pid)
            out.accounted += 1
        else:
            out.safe.append(pid)
            out.accounted += 1
    for state, n in session.execute(
        select(Delivery.state, func.count())
        .where(Delivery.alert_id == alert.id)
        .group_by(Delivery.state)
    ):
        out.deliveries[state] = int(n)
    unaccounted = set(out.unaccounted)
    out.never_reached = sorted(_never_reached(session, alert.id) & unaccounted, key=str)
    return out


def set_duress_code(session: Session, *, person_id: uuid.UUID, code: str) -> None:
    """Set the person's duress code (4-12 digits), stored as a password hash."""
    if not (code.isdigit() and 4 <= len(code) <= 12):
        msg = "duress code: 4 to 12 digits"
        raise InvalidInput(msg)
    person = session.get(Person, person_id)
    if person is None:
        msg = f"person {person_id} does not exist"
        raise NotFound(msg)
    person.duress_hash = hash_password(code)
    session.flush()


def answer_rollcall(
    session: Session,
    *,
    token: str,
    answer: str,
    via: str,
    code: str | None = None,
    secret: str,
    now: datetime | None = None,
) -> AlertRecipient:
    """Record a person's answer. A duress code given with the answer records it as "safe",
    exactly as any other safe answer looks, and silently raises an SOS around the person."""
    at = now or utcnow()
    if answer not in ANSWERS:
        msg = f"answer {answer!r}: use 'safe' or 'need_help'"
        raise InvalidInput(msg)
    rec = session.execute(
        select(AlertRecipient).where(AlertRecipient.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    if rec is None:
        msg = "this roll-call link is not valid; use the link of the latest message"
        raise NotFound(msg)
    return _record_answer(session, rec, answer=answer, via=via, code=code, secret=secret, at=at)


def open_rollcalls(session: Session, *, person_id: uuid.UUID) -> list[tuple[Alert, AlertRecipient]]:
    """The active alerts that count a person among their affected, newest first: what a
    signed-in member of staff is asked to answer."""
    rows = session.execute(
        select(Alert, AlertRecipient)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(AlertRecipient.person_id == person_id, Alert.status == "active")
        .order_by(Alert.created_at.desc())
    ).all()
    return [(a, r) for a, r in rows]


def answer_own_rollcall(
    session: Session,
    *,
    alert_id: uuid.UUID,
    person_id: uuid.UUID,
    answer: str,
    via: str,
    code: str | None = None,
    secret: str,
    now: datetime | None = None,
) -> AlertRecipient:
    """A signed-in person answers the roll-call of an alert they are affected by (the same
    rules as the one-time link, duress code included)."""
    at = now or utcnow()
    if answer not in ANSWERS:
        msg = f"answer {answer!r}: use 'safe' or 'need_help'"
        raise InvalidInput(msg)
    rec = session.execute(
        select(AlertRecipient).where(
            AlertRecipient.alert_id == alert_id, AlertRecipient.person_id == person_id
        )
    ).scalar_one_or_none()
    if rec is None:
        msg = f"alert {alert_id} has no roll-call for you; see GET /api/v1/me/rollcalls"
        raise NotFound(msg)
    return _record_answer(session, rec, answer=answer, via=via, code=code, secret=secret, at=at)


def _record_answer(
    session: Session,
    rec: AlertRecipient,
    *,
    answer: str,
    via: str,
    code: str | None,
    secret: str,
    at: datetime,
) -> AlertRecipient:
    alert = session.get(Alert, rec.alert_id)
    assert alert is not None
    if alert.status != "active":
        msg = f"the roll-call of this alert is {alert.status}; nothing more is recorded"
        raise Conflict(msg)
    person = session.get(Person, rec.person_id)
    assert person is not None
    duress = bool(code and person.duress_hash and verify_password(person.duress_hash, code))
    rec.answer = "safe" if duress else answer
    rec.answered_at = at
    rec.answered_via = via
    session.flush()
    if duress:
        raise_sos(
            session,
            person_id=person.id,
            via=via,
            secret=secret,
            silent_ref=f"duress:{alert.id}",
            now=at,
        )
    _maybe_all_accounted(session, alert, at)
    return rec


def _maybe_all_accounted(session: Session, alert: Alert, at: datetime) -> None:
    left = session.scalar(
        select(func.count()).where(
            AlertRecipient.alert_id == alert.id, AlertRecipient.answer == "unaccounted"
        )
    )
    if not left and alert.accounted_after_s is None:
        alert.accounted_after_s = (at - alert.created_at).total_seconds()
        session.flush()


def inbound_sms(
    session: Session, *, phone: str, text: str, secret: str, now: datetime | None = None
) -> AlertRecipient | None:
    """An SMS from a person: ``SAFE`` or ``HELP`` answers a roll-call, optionally with the
    alert's short code and a code (``SAFE 3FA2`` or ``SAFE 3FA2 1234``; without a short code
    the newest active alert is meant); ``SOS`` raises an SOS at once (and answers an open
    roll-call with need_help, if there is one)."""
    words = text.strip().upper().split()
    if not words or words[0] not in ("SAFE", "HELP", "OK", "SOS"):
        msg = "reply SAFE or HELP (optionally with the alert code), e.g. 'SAFE 3FA2'"
        raise InvalidInput(msg)
    person = (
        session.execute(select(Person).where(Person.phone == phone, Person.active.is_(True)))
        .scalars()
        .first()
    )
    if person is None:
        msg = f"no person with phone {phone}"
        raise NotFound(msg)
    if words[0] == "SOS":
        raise_sos(session, person_id=person.id, via="sms", secret=secret, now=now)
    stmt = (
        select(AlertRecipient, Alert)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .where(AlertRecipient.person_id == person.id, Alert.status == "active")
        .order_by(Alert.created_at.desc())
    )
    recs = [(r, a) for r, a in session.execute(stmt)]
    short = next((w for w in words[1:] if len(w) == 4 and not w.isdigit()), None)
    code = next((w for w in words[1:] if w.isdigit()), None)
    if short is not None:
        recs = [(r, a) for r, a in recs if _short_code(a.id) == short]
    # an SOS raises its own alert, whose roll-call is not the sender's to answer
    recs = [(r, a) for r, a in recs if not (a.source == "sos" and words[0] == "SOS")]
    if not recs:
        if words[0] == "SOS":
            return None
        msg = "no open roll-call for you" + (f" with code {short}" if short else "")
        raise NotFound(msg)
    _, alert = recs[0]
    answer = "need_help" if words[0] in ("HELP", "SOS") else "safe"
    return answer_rollcall(
        session,
        token=rollcall_token(secret, alert.id, person.id),
        answer=answer,
        via="sms",
        code=code,
        secret=secret,
        now=now,
    )


def remind(
    session: Session,
    *,
    now: datetime | None = None,
    remind_after: timedelta = timedelta(minutes=10),
    escalate_after: timedelta = timedelta(minutes=30),
    max_reminders: int = 2,
) -> list[int]:
    """Queue reminders to people still unaccounted ``remind_after`` into an active alert (up
    to ``max_reminders``), and after ``escalate_after`` a message to their supervisor and
    emergency contact. Returns the new delivery ids."""
    at = now or utcnow()
    made: list[int] = []
    rows = session.execute(
        select(AlertRecipient, Alert, Person)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .join(Person, Person.id == AlertRecipient.person_id)
        .where(Alert.status == "active", AlertRecipient.answer == "unaccounted")
    ).all()
    for rec, alert, person in rows:
        age = at - alert.created_at
        due = min(int(age / remind_after), max_reminders) if remind_after.total_seconds() > 0 else 0
        while rec.reminders < due and person.channels:
            rec.reminders += 1
            made += _queue(
                session, alert.id, person.id, person.channels[0], f"reminder-{rec.reminders}", at
            )
        if age >= escalate_after and not rec.escalated:
            rec.escalated = True
            if person.supervisor_id is not None:
                sup = session.get(Person, person.supervisor_id)
                if sup is not None and sup.channels:
                    made += _queue(
                        session,
                        alert.id,
                        sup.id,
                        sup.channels[0],
                        f"esc-{person.id.hex[:8]}",
                        at,
                        about=person.id,
                    )
            if person.emergency_contact:
                made += _queue(session, alert.id, person.id, "sms", "contact", at, about=person.id)
            audit.record(
                session,
                action="alert.escalate",
                actor="system",
                org_id=alert.org_id,
                object_type="person",
                object_id=person.id,
                detail={
                    "alert": str(alert.id),
                    "supervisor": str(person.supervisor_id) if person.supervisor_id else None,
                    "emergency_contact": bool(person.emergency_contact),
                },
                now=at,
            )
    session.flush()
    return made


def _queue(
    session: Session,
    alert_id: uuid.UUID,
    person_id: uuid.UUID,
    channel: str,
    purpose: str,
    at: datetime,
    about: uuid.UUID | None = None,
) -> list[int]:
    d = Delivery(
        alert_id=alert_id,
        person_id=person_id,
        about_id=about,
        channel=channel,
        purpose=purpose[:16],
        rank=0,
        created_at=at,
        updated_at=at,
    )
    try:
        with session.begin_nested():
            session.add(d)
            session.flush()
    except sa_exc.IntegrityError:
        return []
    return [d.id]


def close_alert(
    session: Session,
    *,
    principal: Principal | None,
    alert_id: uuid.UUID,
    now: datetime | None = None,
) -> Board:
    """Close the roll-call: nothing more is recorded; who was never reached is kept in the
    audit trail with the final board."""
    at = now or utcnow()
    alert = get_alert(session, principal=principal, alert_id=alert_id)
    if alert.status != "active":
        msg = f"alert {alert_id} is already {alert.status}"
        raise Conflict(msg)
    final = board(session, principal=principal, alert_id=alert_id)
    alert.status = "closed"
    alert.closed_at = at
    session.flush()
    final.status = "closed"
    audit.record(
        session,
        action="alert.close",
        actor=principal.actor if principal is not None else "system",
        org_id=alert.org_id,
        object_type="alert",
        object_id=alert.id,
        detail={
            "total": final.total,
            "accounted": final.accounted,
            "unaccounted": [str(p) for p in final.unaccounted],
            "need_help": [str(p) for p in final.need_help],
            "never_reached": [str(p) for p in final.never_reached],
            "drill": alert.drill,
            "accounted_after_s": alert.accounted_after_s,
        },
        now=at,
    )
    return final


# -- SOS and the escort timer ---------------------------------------------------------------


def raise_sos(
    session: Session,
    *,
    person_id: uuid.UUID,
    via: str,
    secret: str,
    lat: float | None = None,
    lon: float | None = None,
    silent_ref: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """An SOS: an alert around the person at once (their given or latest position, else their
    home site). A duress SOS (``silent_ref``) reads like any SOS to responders; nothing is
    sent to the person who raised it."""
    at = now or utcnow()
    person = session.get(Person, person_id)
    if person is None:
        msg = f"person {person_id} does not exist"
        raise NotFound(msg)
    if lat is None or lon is None:
        latest = session.get(LatestPosition, person_id)
        site = session.get(Site, person.home_site_id) if person.home_site_id else None
        if latest is not None:
            lat, lon = latest.latitude, latest.longitude
        elif site is not None:
            lat, lon = site.latitude, site.longitude
        else:
            msg = "SOS without a position: send lat/lon (no latest position or home site known)"
            raise InvalidInput(msg)
    alert = raise_alert(
        session,
        principal=None,
        org_id=person.org_id,
        area={"type": "Circle", "center": [lon, lat], "radius_km": SOS_RADIUS_KM},
        severity=AlertSeverity.CRITICAL.value,
        category=AlertCategory.SECURITY.value,
        messages={
            "en": {
                "headline": f"SOS from {person.name}",
                "body": "A colleague near you needs help. Stay safe; security is responding.",
            },
            "zh": {
                "headline": f"{person.name} 发出求救",
                "body": "您附近的同事需要帮助。请注意安全，安保人员正在处置。",  # noqa: RUF001
            },
        },
        secret=secret,
        source=AlertSource.SOS.value,
        source_ref=silent_ref or f"person:{person.id}",
        extra_people={person.id: "sos"},
        now=at,
    )
    own = session.execute(
        select(AlertRecipient).where(
            AlertRecipient.alert_id == alert.id, AlertRecipient.person_id == person.id
        )
    ).scalar_one()
    own.answer, own.answered_at, own.answered_via = "need_help", at, via
    # the person who raised it is not messaged about their own SOS
    session.execute(
        delete(Delivery).where(Delivery.alert_id == alert.id, Delivery.person_id == person.id)
    )
    audit.record(
        session,
        action="alert.sos",
        actor=f"person:{person.id}",
        org_id=person.org_id,
        object_type="alert",
        object_id=alert.id,
        detail={"via": via, "duress": silent_ref is not None},
        now=at,
    )
    return alert


def start_escort(
    session: Session,
    *,
    person_id: uuid.UUID,
    minutes: float,
    note: str = "",
    now: datetime | None = None,
) -> EscortTimer:
    """ "Escort me": unless cancelled within ``minutes``, an SOS is raised for the person."""
    at = now or utcnow()
    if not 1 <= minutes <= 24 * 60:
        msg = "minutes: 1 to 1440"
        raise InvalidInput(msg)
    if session.get(Person, person_id) is None:
        msg = f"person {person_id} does not exist"
        raise NotFound(msg)
    timer = EscortTimer(
        id=uuid.uuid4(),
        person_id=person_id,
        started_at=at,
        due_at=at + timedelta(minutes=minutes),
        state="running",
        note=note[:500],
    )
    session.add(timer)
    session.flush()
    return timer


def cancel_escort(session: Session, *, timer_id: uuid.UUID, person_id: uuid.UUID) -> EscortTimer:
    timer = session.get(EscortTimer, timer_id)
    if timer is None or timer.person_id != person_id:
        msg = f"escort timer {timer_id} does not exist"
        raise NotFound(msg)
    if timer.state != "running":
        msg = f"escort timer {timer_id} is already {timer.state}"
        raise Conflict(msg)
    timer.state = "cancelled"
    session.flush()
    return timer


def fire_due_escorts(session: Session, *, secret: str, now: datetime | None = None) -> list[Alert]:
    """Raise an SOS for every running escort timer past its time (the scheduled job)."""
    at = now or utcnow()
    due = session.scalars(
        select(EscortTimer).where(EscortTimer.state == "running", EscortTimer.due_at <= at)
    ).all()
    out = []
    for timer in due:
        try:
            alert = raise_sos(
                session, person_id=timer.person_id, via="escort_timer", secret=secret, now=at
            )
        except InvalidInput:
            alert = None
        timer.state = "fired"
        timer.alert_id = alert.id if alert is not None else None
        if alert is not None:
            out.append(alert)
    session.flush()
    return out


# -- public alerts (CAP) ----------------------------------------------------------------------

_CAP_LANG = {"en": "en", "zh": "zh-CN", "ur": "ur"}


def public_alerts(session: Session, *, limit: int = 100) -> Sequence[Alert]:
    """Alerts published to everyone (``public``), newest first."""
    return session.scalars(
        select(Alert).where(Alert.public.is_(True)).order_by(Alert.created_at.desc()).limit(limit)
    ).all()


def get_public_alert(session: Session, *, alert_id: uuid.UUID) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or not alert.public:
        msg = f"no public alert {alert_id}"
        raise NotFound(msg)
    return alert


def to_cap(alert: Alert, *, sender: str) -> PublicAlert:
    """The CAP 1.2 view of a public alert."""
    area = alert.area
    shape: Circle | CapPolygon
    if area.get("type") == "Circle":
        lon, lat = area["center"]
        shape = Circle(lat=float(lat), lon=float(lon), radius_km=float(area["radius_km"]))
        where = f"within {area['radius_km']:g} km of {lat:.4f}, {lon:.4f}"
    else:
        rings = area["coordinates"] if area["type"] == "Polygon" else area["coordinates"][0]
        shape = CapPolygon(ring=tuple((float(y), float(x)) for x, y in rings[0]))
        where = "the area drawn on the map"
    texts = {
        _CAP_LANG[lang]: AlertText(
            event=alert.category,
            headline=text["headline"],
            description=text.get("body", ""),
            instruction="",
            area_desc=where,
        )
        for lang, text in alert.messages.items()
        if lang in _CAP_LANG
    }
    return PublicAlert(
        id=str(alert.id),
        sender=sender,
        sent=alert.created_at,
        severity=AlertSeverity(alert.severity),
        category=AlertCategory(alert.category),
        texts=texts,
        area=shape,
        effective=alert.valid_from,
        expires=alert.valid_until,
        drill=alert.drill,
    )
