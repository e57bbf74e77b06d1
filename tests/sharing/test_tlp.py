"""TLP markings as STIX marking definitions, both ways, TLP 1.0 included."""

from __future__ import annotations

import json

import pytest
import stix2
from stix2.v21 import TLP_AMBER, TLP_GREEN, TLP_RED, TLP_WHITE

from silkguard.core.tlp import TLP
from silkguard.sharing.tlp import (
    TLP2_EXTENSION_ID,
    marking_definition,
    marking_id,
    tlp_of_marking,
    tlp_of_refs,
)

# As published by OASIS (cti-stix-common-objects, tlp-2.0/marking-definition.json).
OFFICIAL = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


@pytest.mark.parametrize("tlp", list(TLP))
def test_tlp2_marking_definition_is_the_official_object(tlp: TLP) -> None:
    obj = marking_definition(tlp)
    assert obj["id"] == OFFICIAL[tlp] == marking_id(tlp)
    assert obj["name"] == f"TLP:{tlp.value}"
    assert obj["created"] == "2022-10-01T00:00:00.000Z"
    assert obj["extensions"][TLP2_EXTENSION_ID] == {
        "extension_type": "property-extension",
        "tlp_2_0": tlp.value.lower(),
    }
    parsed = stix2.parse(obj)
    assert json.loads(parsed.serialize()) == obj


@pytest.mark.parametrize("tlp", list(TLP))
def test_tlp2_marking_reads_back(tlp: TLP) -> None:
    assert tlp_of_marking(marking_definition(tlp)) is tlp
    assert tlp_of_refs([marking_id(tlp)]) is tlp


@pytest.mark.parametrize(
    ("marking", "expected"),
    [(TLP_WHITE, TLP.CLEAR), (TLP_GREEN, TLP.GREEN), (TLP_AMBER, TLP.AMBER), (TLP_RED, TLP.RED)],
)
def test_tlp1_markings_of_stix2_are_accepted(
    marking: stix2.MarkingDefinition, expected: TLP
) -> None:
    obj = json.loads(marking.serialize())
    assert tlp_of_marking(obj) is expected
    assert tlp_of_refs([obj["id"]]) is expected


def test_marking_with_unofficial_id_is_read_by_its_content() -> None:
    v2 = {
        **marking_definition(TLP.AMBER_STRICT),
        "id": "marking-definition--11111111-1111-4111-8111-111111111111",
    }
    v1 = {
        "type": "marking-definition",
        "id": "marking-definition--22222222-2222-4222-8222-222222222222",
        "definition_type": "tlp",
        "definition": {"tlp": "white"},
    }
    statement = {
        "type": "marking-definition",
        "id": "marking-definition--33333333-3333-4333-8333-333333333333",
        "definition_type": "statement",
        "definition": {"statement": "Copyright"},
    }
    assert tlp_of_marking(v2) is TLP.AMBER_STRICT
    assert tlp_of_marking(v1) is TLP.CLEAR
    assert tlp_of_marking(statement) is None
    markings = {v2["id"]: TLP.AMBER_STRICT}
    assert tlp_of_refs([v2["id"], statement["id"]], markings) is TLP.AMBER_STRICT
    assert tlp_of_refs([statement["id"]], markings) is None


def test_most_restrictive_marking_wins() -> None:
    refs = [marking_id(TLP.GREEN), OFFICIAL[TLP.RED], marking_id(TLP.AMBER)]
    assert tlp_of_refs(refs) is TLP.RED
    assert tlp_of_refs([TLP_WHITE.id, marking_id(TLP.AMBER)]) is TLP.AMBER
