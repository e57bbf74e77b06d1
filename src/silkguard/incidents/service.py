"""Incident store services: importing files, reading incidents and explaining merges.
Services only flush; the calling edge owns the transaction (an import that raises leaves the
store as it was once the edge rolls back)."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import h3
from sqlalchemy import String, Table, and_, exists, func, insert, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, selectinload

from silkguard.core.clock import utcnow
from silkguard.core.errors import NotFound, RowError, RowErrors
from silkguard.incidents.dedup import StoredIncident, find_match, max_reach_km, mergeable
from silkguard.incidents.fields import IncidentFields, content_hash
from silkguard.incidents.geojson import render_row
from silkguard.incidents.importers.native import ParsedRow
from silkguard.incidents.importers.pipeline import ImportPlan, parsed_rows
from silkguard.incidents.merge import MergeInput, merged_columns
from silkguard.incidents.models import Incident, SourceRecord
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    IncidentStatus,
    SourceKind,
    TargetType,
)

__all__ = [
    "Explanation",
    "ImportReport",
    "explain",
    "get",
    "get_all",
    "import_rows",
    "recompute",
    "resolve",
]

BATCH_ROWS = 1000
_DEDUP_RES = 4


@dataclass
class ImportReport:
    source: str
    new: int = 0
    merged: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    filtered: int = 0
    precision: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return (
            self.new + self.merged + self.updated + self.unchanged + self.rejected + self.filtered
        )

    def summary_line(self) -> str:
        return (
            f"{self.new} new, {self.merged} merged into existing incidents, {self.updated} "
            f"updated, {self.unchanged} unchanged, {self.rejected} rejected, "
            f"{self.filtered} filtered out"
        )


class _Writer:
    """Writes batches of parsed rows: unchanged / updated / merged / new."""

    def __init__(
        self,
        session: Session,
        plan: ImportPlan,
        report: ImportReport,
        *,
        status: IncidentStatus,
        org_id: uuid.UUID | None,
        window_days: int,
        radius_km: float,
    ) -> None:
        self.session = session
        self.kind = plan.source_kind
        self.name = plan.source_name
        self.report = report
        self.status = status
        self.org_id = org_id
        self.window_days = window_days
        self.radius_km = radius_km
        # one timestamp for every record of this run: a record that has it came from this file
        self.run_at = utcnow()
        edge_km = float(h3.average_hexagon_edge_length(_DEDUP_RES, unit="km"))
        self.ring_k = max(1, math.ceil(max_reach_km(radius_km) / (edge_km * 1.5)))

    def write(self, rows: Sequence[ParsedRow]) -> None:
        existing = self._existing([r.external_id for r in rows])
        fresh: list[ParsedRow] = []
        touched: set[uuid.UUID] = set()
        in_batch: dict[str, int] = {}
        for row in rows:
            assert row.fields is not None
            digest = row.digest or content_hash(row.raw)
            found = existing.get(row.external_id)
            first = in_batch.setdefault(row.external_id, row.line)
            if first != row.line or (found is not None and found[3] == self.run_at):
                self._duplicate(row, first if first != row.line else found[4] if found else 0)
                continue
            if found is None:
                fresh.append(row)
                continue
            record_id, incident_id, old_digest, _, _ = found
            if old_digest == digest:
                self.report.unchanged += 1
                continue
            record = self.session.get_one(SourceRecord, record_id)
            record.raw, record.normalized, record.content_hash = (
                row.raw,
                row.fields.to_json(),
                digest,
            )
            record.url, record.line_no = row.fields.url, row.line
            touched.add(incident_id)
            self.report.updated += 1
        self._insert(fresh)
        self.session.flush()
        for incident_id in touched:
            recompute(self.session, incident_id=incident_id)

    def _duplicate(self, row: ParsedRow, first_line: int | None) -> None:
        self.report.rejected += 1
        self.report.errors.append(
            RowError(
                row.line,
                "id",
                row.external_id,
                f"duplicate id: line {first_line} has the same id",
                "give each row its own id, or remove the repeated row",
            )
        )

    def _existing(
        self, ids: list[str]
    ) -> dict[str, tuple[uuid.UUID, uuid.UUID, str, datetime, int | None]]:
        stmt = select(
            SourceRecord.external_id,
            SourceRecord.id,
            SourceRecord.incident_id,
            SourceRecord.content_hash,
            SourceRecord.imported_at,
            SourceRecord.line_no,
        ).where(
            SourceRecord.source_kind == self.kind.value,
            SourceRecord.source_name == self.name,
            SourceRecord.external_id.in_(ids),
        )
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in self.session.execute(stmt)}

    def _candidates(self, rows: list[ParsedRow]) -> list[StoredIncident]:
        keyed = [r.fields for r in rows if r.fields is not None and mergeable(r.fields)]
        if not keyed:
            return []
        cells: set[int] = set()
        for centre in {f.h3[_DEDUP_RES] for f in keyed}:
            cells.update(h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(centre), self.ring_k))
        pad = timedelta(days=self.window_days, hours=12)
        start = min(f.occurred_at for f in keyed) - pad
        end = max(f.occurred_at for f in keyed) + pad
        same_source = exists().where(
            SourceRecord.incident_id == Incident.id,
            SourceRecord.source_kind == self.kind.value,
            SourceRecord.source_name == self.name,
        )
        stmt = select(
            Incident.id,
            Incident.occurred_at,
            Incident.date_precision,
            Incident.latitude,
            Incident.longitude,
            Incident.geo_precision,
            Incident.attack_type,
            Incident.target_type,
        ).where(
            and_(
                Incident.h3_r4.in_(sorted(cells)),
                Incident.occurred_at.between(start, end),
                Incident.status != IncidentStatus.REJECTED.value,
                ~same_source,
            )
        )
        return [
            StoredIncident(
                r[0],
                r[1],
                DatePrecision(r[2]),
                r[3],
                r[4],
                GeoPrecision(r[5]),
                AttackType(r[6]),
                TargetType(r[7]),
            )
            for r in self.session.execute(stmt)
        ]

    def _insert(self, rows: list[ParsedRow]) -> None:
        if not rows:
            return
        candidates = self._candidates(rows)
        now = self.run_at
        incidents: list[dict[str, object]] = []
        records: list[dict[str, object]] = []
        merged_into: set[uuid.UUID] = set()
        for row in rows:
            fields = row.fields
            assert fields is not None
            match = find_match(
                fields, candidates, window_days=self.window_days, radius_km=self.radius_km
            )
            if match is None:
                incident_id = uuid.uuid4()
                incidents.append(self._incident_row(incident_id, fields, now))
                self.report.new += 1
            else:
                incident_id = match.incident_id
                merged_into.add(incident_id)
                self.report.merged += 1
            self.report.precision[fields.geo_precision.value] += 1
            records.append(
                {
                    "id": uuid.uuid4(),
                    "incident_id": incident_id,
                    "source_kind": self.kind.value,
                    "source_name": self.name,
                    "external_id": row.external_id,
                    "url": fields.url,
                    "licence": row.licence,
                    "raw": row.raw,
                    "normalized": fields.to_json(),
                    "content_hash": row.digest or content_hash(row.raw),
                    "line_no": row.line,
                    "imported_at": now,
                    "match_reason": None if match is None else match.reason,
                }
            )
        # Core inserts of plain rows: the ORM's bulk path costs more and adds nothing here
        if incidents:
            self.session.execute(insert(cast(Table, Incident.__table__)), incidents)
        self.session.execute(insert(cast(Table, SourceRecord.__table__)), records)
        for incident_id in merged_into:
            recompute(self.session, incident_id=incident_id)

    def _incident_row(
        self, incident_id: uuid.UUID, f: IncidentFields, now: object
    ) -> dict[str, object]:
        row: dict[str, object] = {
            "id": incident_id,
            "org_id": self.org_id,
            "occurred_at": f.occurred_at,
            "date_precision": f.date_precision.value,
            "latitude": f.latitude,
            "longitude": f.longitude,
            "geo_precision": f.geo_precision.value,
            "place": f.place,
            "district": f.district,
            "province": f.province,
            "country": f.country,
            "h3_r4": f.h3.get(4),
            "h3_r6": f.h3.get(6),
            "h3_r8": f.h3.get(8),
            "attack_type": f.attack_type.value,
            "target_type": f.target_type.value,
            "perpetrator": f.perpetrator,
            "claimed": f.claimed,
            "killed": f.killed,
            "injured": f.injured,
            "killed_foreign": f.killed_foreign,
            "injured_foreign": f.injured_foreign,
            "nationalities": f.nationalities,
            "on_the_move": f.on_the_move,
            "summary": f.summary,
            "tlp": f.tlp.value,
            "status": self.status.value,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "overrides": {},
        }
        row["feature"] = render_row(row)
        return row


def import_rows(
    session: Session,
    *,
    plan: ImportPlan,
    skip_bad: bool = False,
    status: IncidentStatus = IncidentStatus.CONFIRMED,
    org_id: uuid.UUID | None = None,
    window_days: int = 1,
    radius_km: float = 25.0,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import every row of ``plan``. Without ``skip_bad`` any bad row raises :class:`RowErrors`
    after the whole file was checked (the caller rolls back); with it, bad rows are reported."""
    report = ImportReport(source=str(plan.stream.path))
    writer = _Writer(
        session,
        plan,
        report,
        status=status,
        org_id=org_id,
        window_days=window_days,
        radius_km=radius_km,
    )
    try:
        _run(plan, writer, report, skip_bad=skip_bad, on_progress=on_progress)
    finally:
        plan.stream.close()
    session.flush()
    if on_progress is not None:
        on_progress(plan.stream.size_bytes)
    return report


def _run(
    plan: ImportPlan,
    writer: _Writer,
    report: ImportReport,
    *,
    skip_bad: bool,
    on_progress: Callable[[int], None] | None,
) -> None:
    # Good rows are written even after a bad one: repeated ids are detected in the store, and
    # without --skip-bad the caller rolls the whole import back when this raises.
    batch: list[ParsedRow] = []
    for count, row in enumerate(parsed_rows(plan), start=1):
        if row.filtered:
            report.filtered += 1
        elif row.fields is None:
            report.rejected += 1
            report.errors.extend(row.errors)
        else:
            batch.append(row)
        if len(batch) >= BATCH_ROWS:
            writer.write(batch)
            batch.clear()
        if on_progress is not None and count % 500 == 0:
            on_progress(plan.stream.position())
    if batch:
        writer.write(batch)
    if report.rejected and not skip_bad:
        report.errors.sort(key=lambda e: e.line)
        raise RowErrors(report.source, report.errors, total_bad=report.rejected)


def recompute(session: Session, *, incident_id: uuid.UUID) -> Incident:
    """Recompute an incident's columns from all of its source records (the merged view)."""
    stmt = (
        select(Incident)
        .where(Incident.id == incident_id)
        .options(selectinload(Incident.sources))
        .execution_options(populate_existing=True)
    )
    incident = session.execute(stmt).scalar_one()
    inputs = [
        MergeInput(SourceKind(r.source_kind), r.imported_at, IncidentFields.from_json(r.normalized))
        for r in incident.sources
    ]
    if inputs:
        columns, _ = merged_columns(inputs)
        columns.update(incident.overrides or {})
        if isinstance(columns.get("occurred_at"), str):
            columns["occurred_at"] = datetime.fromisoformat(columns["occurred_at"])
        for name, value in columns.items():
            if getattr(incident, name) != value:
                setattr(incident, name, value)
    session.flush()
    return incident


def get(session: Session, *, incident_id: uuid.UUID) -> Incident:
    stmt = (
        select(Incident).where(Incident.id == incident_id).options(selectinload(Incident.sources))
    )
    incident = session.execute(stmt).scalar_one_or_none()
    if incident is None:
        msg = f"incident {incident_id} does not exist; list incidents to find its id"
        raise NotFound(msg)
    return incident


def get_all(
    session: Session, *, limit: int = 100, ids: Iterable[uuid.UUID] | None = None
) -> list[Incident]:
    stmt = select(Incident).order_by(Incident.occurred_at, Incident.id).limit(limit)
    if ids is not None:
        stmt = stmt.where(Incident.id.in_(list(ids)))
    return list(session.execute(stmt).scalars())


def resolve(session: Session, *, ref: str) -> Incident:
    """An incident by UUID, unique UUID prefix (8+ characters) or a source record's id."""
    text = ref.strip()
    try:
        return get(session, incident_id=uuid.UUID(text))
    except ValueError:
        pass
    hits: list[uuid.UUID] = []
    if len(text) >= 8 and all(c in "0123456789abcdef-" for c in text.lower()):
        head = text.lower()[:8]  # the first 8 hex digits read the same with or without dashes
        stmt = select(Incident.id).where(func.lower(sql_cast(Incident.id, String)).like(f"{head}%"))
        hits = [i for i in session.execute(stmt).scalars() if str(i).startswith(text.lower())]
    if not hits:
        stmt2 = select(SourceRecord.incident_id).where(SourceRecord.external_id == text)
        hits = list(dict.fromkeys(session.execute(stmt2).scalars()))
    if len(hits) == 1:
        return get(session, incident_id=hits[0])
    if not hits:
        msg = (
            f"no incident matches {ref!r}; give an incident UUID, its first 8+ characters, or "
            "the id a source gave it (e.g. a GTD eventid)"
        )
        raise NotFound(msg)
    msg = f"{ref!r} matches {len(hits)} incidents; give more characters of the UUID"
    raise NotFound(msg)


@dataclass(frozen=True)
class Explanation:
    """Why an incident looks the way it does: its records, merge reasons and disagreements."""

    incident: Incident
    reasons: list[tuple[SourceRecord, str]]
    conflicts: dict[str, list[tuple[str, str]]]  # field -> [(record label, value)]


def explain(session: Session, *, incident_id: uuid.UUID) -> Explanation:
    incident = get(session, incident_id=incident_id)
    reasons = []
    for record in incident.sources:
        label = f"{record.source_kind}:{record.source_name}#{record.external_id}"
        reasons.append((record, record.match_reason or f"first report ({label})"))
    inputs = [
        MergeInput(SourceKind(r.source_kind), r.imported_at, IncidentFields.from_json(r.normalized))
        for r in incident.sources
    ]
    _, conflicting = merged_columns(inputs) if inputs else ({}, [])
    conflicts: dict[str, list[tuple[str, str]]] = {}
    for name in conflicting:
        conflicts[name] = [
            (f"{r.source_kind}:{r.external_id}", str(r.normalized.get(name)))
            for r in incident.sources
        ]
    return Explanation(incident, reasons, conflicts)
