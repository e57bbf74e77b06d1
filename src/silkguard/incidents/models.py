"""An incident is the merged view of one or more source records; each record keeps the raw row
it came from, its licence and a content hash, so nothing a source said is ever lost."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    update,
)
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from silkguard.core.clock import utcnow
from silkguard.core.db import Base
from silkguard.core.tlp import TLP
from silkguard.core.types import JSONType, UTCDateTime
from silkguard.incidents.geojson import render_feature

__all__ = [
    "SIGHTING_VIA_API",
    "Incident",
    "IncidentRecipient",
    "IncidentShare",
    "IncidentSighting",
    "SourceRecord",
]


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_occurred_at", "occurred_at"),
        # Covers a map search (cells, time, box, visibility): the page's keys come from the
        # index alone and only the rows of the page are read (incidents.query).
        Index(
            "ix_incidents_h3_r4_cover",
            "h3_r4",
            "occurred_at",
            "id",
            "longitude",
            "latitude",
            "tlp",
            "status",
            "org_id",
            "created_by",
        ),
        Index("ix_incidents_h3_r6", "h3_r6"),
        Index("ix_incidents_h3_r8", "h3_r8"),
        Index("ix_incidents_province_district", "province", "district"),
        # The order of TAXII pages and their `next` cursors (sharing.taxii): a page reads its
        # rows from here instead of sorting every visible incident.
        Index("ix_incidents_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    date_precision: Mapped[str] = mapped_column(String(8))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    geo_precision: Mapped[str] = mapped_column(String(10))
    place: Mapped[str | None] = mapped_column(String(300))
    district: Mapped[str | None] = mapped_column(String(120))
    province: Mapped[str | None] = mapped_column(String(80))
    country: Mapped[str] = mapped_column(String(2), default="PK")
    h3_r4: Mapped[int | None] = mapped_column(BigInteger)
    h3_r6: Mapped[int | None] = mapped_column(BigInteger)
    h3_r8: Mapped[int | None] = mapped_column(BigInteger)
    attack_type: Mapped[str] = mapped_column(String(32), index=True)
    target_type: Mapped[str] = mapped_column(String(32), index=True)
    perpetrator: Mapped[str | None] = mapped_column(String(300))
    claimed: Mapped[bool | None] = mapped_column(Boolean)
    killed: Mapped[int | None] = mapped_column(Integer)
    injured: Mapped[int | None] = mapped_column(Integer)
    killed_foreign: Mapped[int | None] = mapped_column(Integer)
    injured_foreign: Mapped[int | None] = mapped_column(Integer)
    nationalities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    on_the_move: Mapped[bool | None] = mapped_column(Boolean)
    summary: Mapped[str | None] = mapped_column(Text)
    tlp: Mapped[str] = mapped_column(String(16), default=TLP.GREEN.value)
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    # Analyst corrections, applied on top of the merged view of the source records.
    overrides: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    review_note: Mapped[str | None] = mapped_column(Text)
    # The GeoJSON Feature of this row as JSON text (incidents.geojson), kept current by
    # _render_features below and by the importer; loaded only when asked for.
    feature: Mapped[str | None] = mapped_column(Text, deferred=True)

    sources: Mapped[list[SourceRecord]] = relationship(
        back_populates="incident", order_by="SourceRecord.imported_at"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own protocol


class SourceRecord(Base):
    __tablename__ = "source_records"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_name", "external_id", name="uq_source_identity"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    source_kind: Mapped[str] = mapped_column(String(16))
    source_name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    normalized: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int | None] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    match_reason: Mapped[str | None] = mapped_column(Text)

    incident: Mapped[Incident] = relationship(back_populates="sources")


class IncidentShare(Base):
    """An AMBER incident shared with a sharing group (named set of organisations)."""

    __tablename__ = "incident_shares"

    incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IncidentRecipient(Base):
    """A named recipient of a TLP:RED incident."""

    __tablename__ = "incident_recipients"

    incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# external_id of a sighting reported through the API or CLI (not NULL: NULLs never collide
# in a unique constraint, on PostgreSQL as on SQLite, so one organisation would get many rows).
SIGHTING_VIA_API = "api"


class IncidentSighting(Base):
    """ "We saw this too": an organisation's count of sightings of an incident. One row per
    (incident, organisation, origin): ``external_id`` is the STIX sighting id when the
    sighting came in a bundle, else :data:`SIGHTING_VIA_API`. Never shown with its
    organisation; readers get totals only (silkguard.incidents.sightings)."""

    __tablename__ = "incident_sightings"
    __table_args__ = (
        UniqueConstraint("incident_id", "org_id", "external_id", name="uq_incident_sighting"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@event.listens_for(Session, "after_flush")
def _render_features(session: Session, _flush: UOWTransaction) -> None:
    """Store the Feature text of every incident this flush inserted or changed. It runs after
    the flush because version and updated_at are only known then; the extra UPDATE touches no
    versioned column, so it does not count as a change of the incident."""
    written = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, Incident) and obj not in session.deleted
    ]
    for incident in written:
        text = render_feature(incident)
        if incident.__dict__.get("feature") == text:
            continue
        session.connection().execute(
            update(Incident)
            .where(Incident.id == incident.id)
            # updated_at = itself: the column's onupdate must not fire for this UPDATE
            .values(feature=text, updated_at=Incident.updated_at),
            execution_options={"synchronize_session": False},
        )
        set_committed_value(incident, "feature", text)
