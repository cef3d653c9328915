"""The event catalogue as a contract: committed schemas, backward compatibility, no identifiers on the bus."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from clinicflow.shared.asyncapi import asyncapi_document
from clinicflow.shared.catalogue import CATALOGUE, SERVICES, consumed_by
from clinicflow.shared.schemas import breaking_changes, schema_of, schema_path

IDENTIFYING_FIELDS = {"first_name", "last_name", "name", "email", "phone", "date_of_birth", "story", "answers",
                      "address"}


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_each_published_schema_is_committed_and_the_code_stays_backward_compatible(event_type):
    spec = CATALOGUE[event_type]
    committed = json.loads(schema_path(spec).read_text())
    assert breaking_changes(committed, schema_of(spec)) == [], (
        f"{spec.topic} changed incompatibly: publish a new version (topic) instead"
    )


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_every_payload_field_is_described_for_the_asyncapi_document(event_type):
    for name, field in CATALOGUE[event_type].payload.model_fields.items():
        assert field.description, f"{event_type}.{name} has no description"


@pytest.mark.parametrize("event_type", sorted(t for t in CATALOGUE if t != "webform.enquiry.submitted"))
def test_no_event_but_the_upstream_form_carries_an_identifying_field(event_type):
    assert not IDENTIFYING_FIELDS & set(CATALOGUE[event_type].payload.model_fields)


def test_topics_are_the_type_plus_version_and_each_type_has_one_producer():
    for event_type, spec in CATALOGUE.items():
        assert spec.topic == f"{event_type}.v1"
        assert spec.dead_letter_topic == f"{event_type}.v1.dlq"
        assert spec.producer in {"webform", "intake", "screening", "sessions", "notifications", "register"}


BASE = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "enum": ["declined", "duplicate"]},
        "count": {"type": "integer"},
    },
    "required": ["reason"],
}


def test_adding_an_optional_field_is_compatible():
    new = json.loads(json.dumps(BASE))
    new["properties"]["extra"] = {"type": "string"}
    assert breaking_changes(BASE, new) == []


def test_removing_a_field_is_breaking():
    new = json.loads(json.dumps(BASE))
    del new["properties"]["count"]
    assert breaking_changes(BASE, new) == ["payload.count: removed"]


def test_a_newly_required_field_is_breaking():
    new = json.loads(json.dumps(BASE))
    new["required"].append("count")
    assert breaking_changes(BASE, new) == ["payload.count: newly required"]


def test_changing_a_field_type_is_breaking():
    new = json.loads(json.dumps(BASE))
    new["properties"]["count"] = {"type": "string"}
    assert breaking_changes(BASE, new) == ["payload.count: type narrowed from ['integer'] to ['string']"]


def test_removing_an_enum_value_is_breaking():
    new = json.loads(json.dumps(BASE))
    new["properties"]["reason"]["enum"] = ["declined"]
    assert breaking_changes(BASE, new) == ["payload.reason: values removed ['duplicate']"]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_services_asyncapi_document_passes_the_official_parser(service, tmp_path):
    """The AsyncAPI document a client reads, checked by @asyncapi/parser (npm; `make test` installs it): every
    reference resolves (nested models such as VitalsSummary live in components.schemas) and nothing is an error."""
    document = tmp_path / f"{service}.json"
    document.write_text(json.dumps(asyncapi_document(service, consumes=consumed_by(service))))
    parsed = subprocess.run(["node", str(Path(__file__).parents[1] / "asyncapi_parse.cjs"), str(document)],
                            check=True, capture_output=True, text=True)
    errors = [d for d in json.loads(parsed.stdout) if d["severity"] == 0]
    assert errors == [], errors
