"""A small fixed set of records for the golden files and round trips. Changing anything here
changes the golden files: regenerate them (see test_golden.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from silkguard.core.tlp import TLP
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    IncidentStatus,
    SourceKind,
    TargetType,
)
from silkguard.sharing.stix import (
    OrganisationRef,
    ShareableIncident,
    ShareableNote,
    ShareableReport,
    ShareableSighting,
    SharedSource,
    incident_stix_id,
    report_stix_id,
)

ORG = OrganisationRef(
    id=uuid.UUID("00000000-0000-4000-8000-0000000000a1"),
    name="Dasu Project Security",
    created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
)
PARTNER = OrganisationRef(
    id=uuid.UUID("00000000-0000-4000-8000-0000000000b2"),
    name="Embassy Security Office",
    created_at=datetime(2025, 2, 1, tzinfo=UTC),
)


def _uid(n: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{n:012d}")


BESHAM = ShareableIncident(
    id=_uid(1),
    created_at=datetime(2024, 3, 26, 10, 0, 0, 123456, tzinfo=UTC),
    updated_at=datetime(2024, 3, 28, 9, 30, tzinfo=UTC),
    occurred_at=datetime(2024, 3, 26, 8, 0, tzinfo=UTC),
    date_precision=DatePrecision.TIME,
    attack_type=AttackType.SUICIDE_VBIED,
    target_type=TargetType.CONVOY,
    tlp=TLP.AMBER,
    status=IncidentStatus.CONFIRMED,
    place="Karakoram Highway near Besham",
    district="Shangla",
    province="Khyber Pakhtunkhwa",
    latitude=34.95,
    longitude=72.87,
    geo_precision=GeoPrecision.PLACE,
    perpetrator="Tehrik-i-Taliban Pakistan (TTP) per CTD; denied",
    claimed=False,
    killed=6,
    killed_foreign=5,
    injured_foreign=0,
    nationalities=("Chinese",),
    on_the_move=True,
    summary="A suicide bomber rammed a car into a convoy of engineers; six were killed.",
    organisation=ORG,
    sources=(
        SharedSource(
            kind=SourceKind.NEWS,
            title="Dunya News",
            url="https://example.org/besham",
            external_id="dunya-801001",
        ),
        SharedSource(
            kind=SourceKind.STIX,
            title="Partner feed incident",
            external_id="incident--6b0f1c8e-2f7a-4c55-9d0e-3a1b2c3d4e5f",
            extra={"x_partner_score": 7, "confidence": 80},
        ),
    ),
)

# Contributed anonymously to a pooled group: no organisation, no identity, no created_by_ref.
ANONYMOUS = ShareableIncident(
    id=_uid(2),
    created_at=datetime(2023, 8, 13, 12, 0, tzinfo=UTC),
    updated_at=datetime(2023, 8, 13, 12, 0, tzinfo=UTC),
    occurred_at=datetime(2023, 8, 13, 5, 0, tzinfo=UTC),
    date_precision=DatePrecision.DAY,
    attack_type=AttackType.ARMED_ASSAULT,
    target_type=TargetType.CONVOY,
    tlp=TLP.GREEN,
    place="Gwadar",
    province="Balochistan",
    latitude=25.12,
    longitude=62.33,
    perpetrator="unknown",
    killed=0,
    injured=0,
    summary="Attack on a convoy of engineers heading to the port; repelled.",
)

# Month precision, no coordinates, no perpetrator, strictest marking.
REMOTE = ShareableIncident(
    id=_uid(3),
    created_at=datetime(2019, 5, 1, tzinfo=UTC),
    updated_at=datetime(2019, 6, 1, tzinfo=UTC),
    occurred_at=datetime(2019, 4, 30, 19, 0, tzinfo=UTC),
    date_precision=DatePrecision.MONTH,
    attack_type=AttackType.KIDNAPPING,
    target_type=TargetType.FOREIGNERS,
    tlp=TLP.RED,
    status=IncidentStatus.DRAFT,
    district="Kech",
    province="Balochistan",
    geo_precision=GeoPrecision.DISTRICT,
    organisation=ORG,
)

STRICT = ShareableIncident(
    id=_uid(4),
    created_at=datetime(2021, 7, 14, 9, 0, tzinfo=UTC),
    updated_at=datetime(2021, 7, 20, 9, 0, tzinfo=UTC),
    occurred_at=datetime(2021, 7, 14, 2, 30, tzinfo=UTC),
    date_precision=DatePrecision.TIME,
    attack_type=AttackType.VBIED,
    target_type=TargetType.BUS,
    tlp=TLP.AMBER_STRICT,
    place="Dasu",
    district="Upper Kohistan",
    province="Khyber Pakhtunkhwa",
    latitude=35.29,
    longitude=73.29,
    geo_precision=GeoPrecision.EXACT,
    perpetrator="TTP",
    claimed=True,
    killed=13,
    injured=28,
    killed_foreign=9,
    nationalities=("Chinese", "Pakistani"),
    on_the_move=True,
    organisation=PARTNER,
)

INCIDENTS = (BESHAM, ANONYMOUS, REMOTE, STRICT)

REPORT = ShareableReport(
    id=_uid(10),
    title="Attacks on convoys, 2023-2024",
    published=datetime(2024, 4, 1, tzinfo=UTC),
    object_refs=(incident_stix_id(BESHAM.id), incident_stix_id(ANONYMOUS.id)),
    created_at=datetime(2024, 3, 30, tzinfo=UTC),
    updated_at=datetime(2024, 4, 1, tzinfo=UTC),
    tlp=TLP.AMBER,
    description="Two convoy attacks on the corridor and what they share.",
    organisation=ORG,
)

NOTE = ShareableNote(
    id=_uid(20),
    content="The convoy's escort had changed its route that morning.",
    abstract="Route change",
    object_refs=(incident_stix_id(BESHAM.id), report_stix_id(REPORT.id)),
    created_at=datetime(2024, 3, 29, tzinfo=UTC),
    updated_at=datetime(2024, 3, 29, tzinfo=UTC),
    tlp=TLP.AMBER,
    organisation=PARTNER,
)

NAMED_SIGHTING = ShareableSighting(
    id=_uid(30),
    sighting_of_ref=incident_stix_id(BESHAM.id),
    count=2,
    first_seen=datetime(2024, 3, 26, 8, 0, tzinfo=UTC),
    last_seen=datetime(2024, 3, 26, 9, 0, tzinfo=UTC),
    created_at=datetime(2024, 3, 27, tzinfo=UTC),
    updated_at=datetime(2024, 3, 27, tzinfo=UTC),
    tlp=TLP.AMBER,
    organisation=PARTNER,
)

ANONYMOUS_SIGHTING = ShareableSighting(
    id=_uid(31),
    sighting_of_ref=incident_stix_id(ANONYMOUS.id),
    count=1,
    created_at=datetime(2023, 8, 14, tzinfo=UTC),
    updated_at=datetime(2023, 8, 14, tzinfo=UTC),
    tlp=TLP.GREEN,
)
