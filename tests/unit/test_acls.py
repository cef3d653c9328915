"""The broker's ACLs as the catalogue implies them: each event written by its producer alone, read by its consumers
alone, and each service subscribed to exactly what the catalogue says it consumes (so its ACLs neither refuse a
read it needs nor allow one it does not)."""

from __future__ import annotations

import httpx
import pytest

from clinicflow.register.settings import RegisterSettings
from clinicflow.shared.acls import catalogue_acls, principal
from clinicflow.shared.catalogue import CATALOGUE, SERVICES, consumed_by, consumer_group
from clinicflow.shared.runtime import ServiceDefinition, build_app
from tests.unit.test_auth_first import AUTH, apps


def test_only_its_producer_may_write_an_event_and_only_its_consumers_read_it():
    acls = catalogue_acls()
    for spec in CATALOGUE.values():
        writers = {a.principal for a in acls if a.resource_name == spec.topic and a.operation == "WRITE"}
        readers = {a.principal for a in acls if a.resource_name == spec.topic and a.operation == "READ"}
        assert writers == {principal(spec.producer)}, spec.type
        assert readers == {principal(c) for c in spec.consumers}, spec.type
        # a consumer parks what it cannot process; nobody but the operator reads dead letters
        dead = [a for a in acls if a.resource_name == spec.dead_letter_topic]
        assert {(a.principal, a.operation) for a in dead} == {(principal(c), "WRITE") for c in spec.consumers}
    assert {a.principal for a in acls if a.resource_name == "webform.enquiry.submitted.v1" and a.operation == "READ"} \
        == {"User:clinicflow-intake"}  # the identifiable form


def test_each_service_reads_in_its_own_group_only_and_every_name_is_under_the_prefix():
    acls = catalogue_acls("staging.")
    groups = {(a.principal, a.resource_name) for a in acls if a.resource_type == "GROUP"}
    assert groups == {(principal(s), consumer_group(s, "staging.")) for s in SERVICES}
    assert all(a.resource_name.startswith("staging.") for a in acls)


async def test_each_service_subscribes_to_exactly_what_the_catalogue_says_it_consumes():
    for name, app in apps().items():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as http:
            document = (await http.get("/asyncapi.json")).json()
        received = {op["channel"]["$ref"].rsplit("/", 1)[-1] for key, op in document["operations"].items()
                    if op["action"] == "receive"}
        assert received == {CATALOGUE[t].topic.replace(".", "_") for t in consumed_by(name)}, name


def test_a_service_that_handles_an_event_the_catalogue_does_not_name_it_a_consumer_of_refuses_to_start():
    async def handler(_delivery) -> None:  # noqa: ANN001
        pass

    definition = ServiceDefinition(settings=RegisterSettings(auth=AUTH), migrations=[],
                                   handlers={"session.dose.administered": handler, "screening.completed": handler})
    with pytest.raises(ValueError, match=r"register handles \['screening.completed'\]"):
        build_app(definition)
