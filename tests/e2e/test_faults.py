"""Faults on the running system, each bounded in time and on loopback only: service processes killed, the broker
and the database stopped mid-stream, poison messages, a flaky webhook. Every pathway still completes with no
event and no notification missing or duplicated."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from clinicflow.localinfra.pathway import LEAD, VIAL, Walk
from clinicflow.shared.catalogue import CATALOGUE
from clinicflow.shared.kafka import read_dead_letters
from tests.e2e.harness import SERVICES, assert_exactly_once, assert_register_reconciles, settled_events, walk_many
from tests.support import write_topic

pytestmark = [pytest.mark.e2e, pytest.mark.faults]
SESSIONS = 2  # the system's courses plan two sessions here, to keep fifty pathways within minutes


async def test_killing_each_service_in_turn_loses_and_doubles_nothing(system, staff_channels):
    async def kill_each_in_turn() -> None:
        for name in random.sample(SERVICES, len(SERVICES)):
            await asyncio.sleep(random.uniform(1, 4))
            system.kill(name)
            await asyncio.sleep(1)
            system.start(name)
            await system.wait_ready(name)
        # And the register once more amid the doses, with some already entered and many still to come.
        clinic = system.clinic()
        try:
            await clinic.until(lambda: _register_entries_at_least(clinic, 20), what="doses in the register")
        finally:
            await clinic.close()
        system.kill("register")
        await asyncio.sleep(1)
        system.start("register")
        await system.wait_ready("register")

    pathways, _ = await asyncio.gather(walk_many(system, 50, Walk(sessions=SESSIONS)), kill_each_in_turn())
    events = await settled_events(system, pathways)
    assert_exactly_once(events, pathways, staff_channels, sessions=SESSIONS)
    await assert_register_reconciles(system, pathways, sessions=SESSIONS)


async def _register_entries_at_least(clinic, count: int) -> bool:  # noqa: ANN001
    response = await clinic.request("register", "GET", f"/pages/{VIAL}/entries", who=LEAD)
    return response.status_code == 200 and len(response.json()) >= count


async def test_a_broker_outage_of_twenty_seconds_loses_and_doubles_nothing(system, staff_channels, infrastructure):
    if infrastructure.kafka is None:
        pytest.skip("the broker is external to this run (KAFKA_BOOTSTRAP_SERVERS), so the test cannot stop it")

    async def outage() -> None:
        await asyncio.sleep(3)
        await asyncio.to_thread(infrastructure.kafka.pause)
        await asyncio.sleep(20)
        await asyncio.to_thread(infrastructure.kafka.resume)

    pathways, _ = await asyncio.gather(walk_many(system, 20, Walk(sessions=SESSIONS)), outage())
    events = await settled_events(system, pathways)
    assert_exactly_once(events, pathways, staff_channels, sessions=SESSIONS)
    await assert_register_reconciles(system, pathways, sessions=SESSIONS)


async def test_a_database_restart_loses_and_doubles_nothing_and_readiness_says_not_ready_meanwhile(
    system, staff_channels, infrastructure
):
    if infrastructure.postgres is None:
        pytest.skip("the database is external to this run (DATABASE_URL), so the test cannot stop it")
    readiness_while_down: dict[str, int] = {}

    async def restart() -> None:
        await asyncio.sleep(3)
        await asyncio.to_thread(infrastructure.postgres.pause)
        async with httpx.AsyncClient(timeout=5) as http:
            for name in SERVICES:
                response = await http.get(f"http://127.0.0.1:{system.ports[name]}/readyz")
                readiness_while_down[name] = response.status_code
        await asyncio.sleep(8)
        await asyncio.to_thread(infrastructure.postgres.resume)

    pathways, _ = await asyncio.gather(walk_many(system, 20, Walk(sessions=SESSIONS)), restart())
    assert readiness_while_down == dict.fromkeys(SERVICES, 503)
    events = await settled_events(system, pathways)
    assert_exactly_once(events, pathways, staff_channels, sessions=SESSIONS)
    await assert_register_reconciles(system, pathways, sessions=SESSIONS)


async def test_poison_on_every_consumed_topic_is_dead_lettered_and_the_pathways_around_it_complete(
    system, staff_channels
):
    consumed = [spec for spec in CATALOGUE.values() if spec.producer != "notifications" or spec.type ==
                "alert.acknowledged"]

    async def poison() -> None:
        await asyncio.sleep(2)
        for spec in consumed:
            await write_topic(system.kafka, spec.topic, [b"\x00 not an event"], key=b"poison")

    pathways, _ = await asyncio.gather(walk_many(system, 10, Walk(sessions=SESSIONS)), poison())
    events = await settled_events(system, pathways)
    assert_exactly_once(events, pathways, staff_channels, sessions=SESSIONS)
    for spec in consumed:
        letters = await read_dead_letters(system.kafka, system.kafka.topic_prefix + spec.dead_letter_topic)
        # One copy per consuming service: screening, sessions and notifications may all read a topic.
        assert letters and {letter.headers["dlq_reason"] for letter in letters} == {"invalid_envelope"}, spec.type
        assert all(letter.value == b"\x00 not an event" for letter in letters)


async def test_a_webhook_that_fails_half_its_requests_still_gets_every_notification_exactly_once(
    system, staff_channels
):
    staff_channels.chat.fail_first_try = True
    staff_channels.sms.fail_first_try = True
    pathways = await walk_many(system, 10, Walk(sessions=SESSIONS, item9_at_baseline=True))
    events = await settled_events(system, pathways)
    assert_exactly_once(events, pathways, staff_channels, sessions=SESSIONS, risk_flags=1)
    for hook in (staff_channels.chat, staff_channels.sms):
        assert hook.attempts == 2 * len(hook.accepted) > 0  # half of the requests failed
