"""STIX 2.1 for silkguard: export records to a bundle, parse a bundle back into records.

The one entry point for the rest of silkguard (store, TAXII server, CLI). Pure: no database.
Export lives in :mod:`~silkguard.sharing.stix_export`, import in
:mod:`~silkguard.sharing.stix_import`, the records in :mod:`~silkguard.sharing.model`."""

from __future__ import annotations

from silkguard.sharing.model import (
    ImportResult,
    ObjectError,
    OrganisationRef,
    ShareableIncident,
    ShareableNote,
    ShareableReport,
    ShareableSighting,
    SharedSource,
    StixObjectErrors,
)
from silkguard.sharing.stix_export import (
    dumps_bundle,
    export_bundle,
    incident_stix_id,
    note_stix_id,
    organisation_stix_id,
    report_stix_id,
    sighting_stix_id,
)
from silkguard.sharing.stix_import import foreign_id, parse_bundle

__all__ = [
    "ImportResult",
    "ObjectError",
    "OrganisationRef",
    "ShareableIncident",
    "ShareableNote",
    "ShareableReport",
    "ShareableSighting",
    "SharedSource",
    "StixObjectErrors",
    "dumps_bundle",
    "export_bundle",
    "foreign_id",
    "incident_stix_id",
    "note_stix_id",
    "organisation_stix_id",
    "parse_bundle",
    "report_stix_id",
    "sighting_stix_id",
]
