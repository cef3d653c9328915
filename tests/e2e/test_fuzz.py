"""Hostile input: property-based fuzzing of every HTTP endpoint of every service from its own OpenAPI document
(schemathesis), against the services running as processes, as a member of staff holding every role. No request may
cause a 5xx or an answer its document does not declare, and a refused enquiry must leave nothing stored or
published."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, status_code_conformance

from clinicflow.localinfra.tokens import mint_token
from clinicflow.shared.auth import ROLES
from tests.conftest import TEST_JWT_SECRET
from tests.e2e.harness import SERVICES, System, own_logins, system_env
from tests.integration.conftest import StaffChannels
from tests.receivers import SmtpSink, WebhookReceiver

pytestmark = pytest.mark.e2e

STAFF = {"Authorization": f"Bearer {mint_token(TEST_JWT_SECRET, staff_id='fuzz-1', roles=sorted(ROLES))}"}
ACCEPTED: set[str] = set()  # ids of the enquiries POST /enquiries accepted (201)
ANSWERED: list[int] = []  # every status POST /enquiries answered


@pytest.fixture(scope="module")
def fuzzed_system(infrastructure, tmp_path_factory) -> Iterator[System]:
    """One system for the whole module: fuzzing sends many requests, not many systems."""
    tmp = tmp_path_factory.mktemp("fuzz")
    namespace = f"fuzz{tmp.name[-6:].replace('-', '')}"
    with SmtpSink() as smtp:
        hooks = StaffChannels(smtp, WebhookReceiver(b"chat-secret", url="http://127.0.0.1:9/hook"),
                              WebhookReceiver(b"sms-secret", url="http://127.0.0.1:9/hook"))
        env, ports = system_env(infrastructure, namespace, hooks, tmp, 2)
        (tmp / "logs").mkdir()
        system = System(env=env, logs=tmp / "logs", kafka=None, ports=ports,
                        own_env=own_logins(env, infrastructure.kafka_logins))
        for name in SERVICES:
            system.start(name)
        try:
            asyncio.run(system.wait_ready())
            system.namespace = namespace
            yield system
        finally:
            system.stop()


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)


def call(case) -> None:  # noqa: ANN001
    """Send one generated request as staff; a 5xx fails the test, and so does an answer the operation's OpenAPI
    document does not declare (its status or its content type)."""
    response = case.call(headers=STAFF, timeout=15)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance])
    if case.method == "POST" and case.path == "/enquiries":
        ANSWERED.append(response.status_code)
        if response.status_code == 201:
            ACCEPTED.add(response.json()["enquiry_id"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_endpoint_survives_any_input(fuzzed_system, service):
    # schemathesis drives hypothesis here directly: its pytest plugin does not work with pytest 9 yet.
    schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{fuzzed_system.ports[service]}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        FUZZ(given(case=operation.as_strategy())(lambda case: call(case)))()


def test_only_accepted_enquiries_were_stored_and_published(fuzzed_system, infrastructure):
    assert ANSWERED and set(ANSWERED) - {201}, "the fuzzer never posted a refused enquiry"

    async def counts() -> tuple[int, int]:
        conn = await asyncpg.connect(infrastructure.dsn)
        try:
            schema = f'"{fuzzed_system.namespace}_intake"'
            stored = await conn.fetchval(f"SELECT count(*) FROM {schema}.enquiries")
            published = await conn.fetchval(
                f"SELECT count(*) FROM {schema}.outbox WHERE event_type = 'enquiry.received'")
            return stored, published
        finally:
            await conn.close()

    stored, published = asyncio.run(counts())
    assert stored == published == len(ACCEPTED)
