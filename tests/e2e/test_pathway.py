"""One synthetic client from `POST /enquiries` to `course.completed` across the four service processes: exactly the
expected events, in order, exactly the expected notifications at the real SMTP and webhook servers, and no
identifier on the bus or in a log."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from clinicflow.localinfra.pathway import Walk, walk_pathway
from tests.e2e.harness import (
    IDENTIFIERS,
    all_events,
    assert_register_reconciles,
    distinct,
    expected_notifications,
    expected_pathway_counts,
    sent_notifications,
    topics_of,
)
from tests.support import eventually, read_topic

pytestmark = pytest.mark.e2e


@pytest.fixture
def sessions_planned() -> int:
    return 6


async def test_a_whole_pathway_produces_exactly_the_expected_events_and_notifications(system, staff_channels):
    clinic = system.clinic()
    try:
        pathway = await walk_pathway(clinic, Walk(sessions=6))
    finally:
        await clinic.close()

    async def settled():  # noqa: ANN202 - every expected notification has been sent
        events = distinct(await all_events(system.kafka))
        mine = [e for e in events if e.subject == pathway]
        return mine if sent_notifications(mine) == expected_notifications(mine, now=datetime.now(UTC)) else None

    events = await eventually(settled, timeout=60, interval=1)
    counts = Counter(e.type for e in events if not e.type.startswith("notification."))
    assert counts == expected_pathway_counts(6)

    by_type = {t: [e for e in events if e.type == t] for t in counts}
    assert [e.data["session_number"] for e in by_type["session.logged"]] == [1, 2, 3, 4, 5, 6]
    progress = by_type["course.progress.updated"]
    assert [e.data["latest_phq9"] for e in progress if e.data["instrument"] == "phq9"] == [14, 11, 8, 6, 4, 3]
    assert [e.data["instruments"]["gad7"]["latest"] for e in progress if e.data["instrument"] == "gad7"] == [9, 6, 4]
    chain = ["enquiry.received", "intake.assessment.booked", "screening.completed", "course.started",
             "course.completed"]
    times = [by_type[t][0].time for t in chain]
    assert times == sorted(times)
    completed = by_type["course.completed"][0].data
    assert completed["remission"] is True
    assert {k: (v["baseline"], v["latest"], v["response"], v["remission"]) for k, v in completed["instruments"].items()
            } == {"phq9": (18, 3, True, True), "gad7": (11, 4, True, True)}
    assert [m["after_session"] for m in completed["instruments"]["gad7"]["trajectory"]] == [2, 4, 6]

    # What staff saw: one email per expected email notification, no duplicate, likewise for chat and SMS.
    expected = expected_notifications(events, now=datetime.now(UTC))
    per_channel = Counter(channel for (_, channel, _), n in expected.items() for _ in range(n))
    assert len(staff_channels.smtp.unique()) == len(staff_channels.smtp.messages) == per_channel["email"]
    assert len(staff_channels.chat.unique()) == len(staff_channels.chat.accepted) == per_channel["chat"]
    assert len(staff_channels.sms.unique()) == len(staff_channels.sms.accepted) == per_channel["sms"]

    # The controlled-drugs register agrees with the course: six doses, six remainders wasted, balances exact.
    await assert_register_reconciles(system, [pathway], sessions=6)


async def test_no_identifier_reaches_any_topic_or_any_log(system, staff_channels):
    clinic = system.clinic()
    try:
        await walk_pathway(clinic, Walk(sessions=6, item9_at_baseline=True))
    finally:
        await clinic.close()
    topics = await topics_of(system.kafka)
    assert len(topics) > 30
    for topic in topics:
        if topic.startswith("webform."):  # the raw form: identifiable by design, intake alone reads it
            continue
        for record in await read_topic(system.kafka, topic, at_least=0, timeout=1):
            blob = (record.value or b"") + (record.key or b"") + b"".join(v for _, v in record.headers)
            assert not [i for i in IDENTIFIERS if i.encode() in blob], topic
    logs = system.log_text()
    assert "events handled" in logs  # the logs were captured
    assert not [i for i in IDENTIFIERS if i in logs]
    mail = b"".join(m.raw for m in staff_channels.smtp.messages)
    assert mail and not [i for i in IDENTIFIERS if i.encode() in mail]
