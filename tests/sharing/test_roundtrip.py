"""export -> parse -> export is the identity, for the fixed samples and for random records."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime, timedelta

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
    SharedSource,
    dumps_bundle,
    export_bundle,
    parse_bundle,
)
from tests.sharing import samples


def test_samples_round_trip_to_identical_json() -> None:
    bundle = export_bundle(
        incidents=samples.INCIDENTS,
        reports=[samples.REPORT],
        notes=[samples.NOTE],
        sightings=[samples.NAMED_SIGHTING, samples.ANONYMOUS_SIGHTING],
    )
    text = dumps_bundle(bundle)
    result = parse_bundle(text.encode())
    assert result.errors == []
    assert result.ignored == []
    again = export_bundle(
        incidents=result.incidents,
        reports=result.reports,
        notes=result.notes,
        sightings=result.sightings,
    )
    assert dumps_bundle(again) == text
    assert sorted(o.name for o in result.organisations) == sorted(
        [samples.ORG.name, samples.PARTNER.name]
    )


def test_records_read_back_equal_except_sub_millisecond_time() -> None:
    result = parse_bundle(export_bundle(incidents=samples.INCIDENTS, reports=[samples.REPORT]))
    by_id = {inc.id: inc for inc in result.incidents}
    for original in samples.INCIDENTS:
        expected = original
        if original.created_at.microsecond % 1000:  # STIX timestamps keep milliseconds
            ms = original.created_at.microsecond // 1000 * 1000
            expected = dataclasses.replace(
                original, created_at=original.created_at.replace(microsecond=ms)
            )
        assert by_id[original.id] == expected
    assert result.reports == [samples.REPORT]


def _random_incident(rng: random.Random, n: int, orgs: list[OrganisationRef]) -> ShareableIncident:
    base = datetime(2015, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(5_000_000))
    has_point = rng.random() < 0.7
    killed = rng.choice([None, rng.randrange(50)])
    return ShareableIncident(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        created_at=base + timedelta(milliseconds=rng.randrange(10**7)),
        updated_at=base + timedelta(days=3, milliseconds=rng.randrange(10**7)),
        occurred_at=base,
        date_precision=rng.choice(list(DatePrecision)),
        attack_type=rng.choice(list(AttackType)),
        target_type=rng.choice(list(TargetType)),
        tlp=rng.choice(list(TLP)),
        status=rng.choice(list(IncidentStatus)),
        place=rng.choice([None, f"Place {n} — ڈسٹرکٹ"]),
        district=rng.choice([None, "Shangla", "Kech"]),
        province=rng.choice([None, "Balochistan", "Sindh"]),
        latitude=round(rng.uniform(24, 37), 5) if has_point else None,
        longitude=round(rng.uniform(61, 77), 5) if has_point else None,
        geo_precision=rng.choice(list(GeoPrecision)),
        perpetrator=rng.choice([None, "unknown", "BLA (claimed)", f"Group {n}"]),
        claimed=rng.choice([None, True, False]),
        killed=killed,
        injured=rng.choice([None, 0, 7]),
        killed_foreign=None if killed is None else rng.randrange(killed + 1),
        nationalities=tuple(rng.sample(["Chinese", "Pakistani", "Japanese"], rng.randrange(3))),
        on_the_move=rng.choice([None, True, False]),
        summary=rng.choice([None, f'Summary {n} with "quotes" and a newline\n.']),
        organisation=rng.choice([None, *orgs]),
        sources=tuple(
            SharedSource(
                kind=rng.choice(list(SourceKind)),
                title=rng.choice([None, "A source"]),
                url=rng.choice([None, f"https://example.org/{n}"]),
                extra=rng.choice([{}, {"x_score": n, "labels": ["a"]}]),
            )
            for _ in range(rng.randrange(3))
        ),
    )


def test_random_records_round_trip() -> None:
    rng = random.Random(20261202)
    orgs = [samples.ORG, samples.PARTNER]
    incidents = [_random_incident(rng, n, orgs) for n in range(300)]
    first = export_bundle(incidents=incidents)
    result = parse_bundle(dumps_bundle(first))
    assert sorted(result.incidents, key=lambda i: i.id) == sorted(incidents, key=lambda i: i.id)
    assert dumps_bundle(export_bundle(incidents=result.incidents)) == dumps_bundle(first)
