"""``clinicflow demo``: walk one synthetic client through the whole pathway on a running system.

Everything goes through the services' public HTTP APIs (:mod:`clinicflow.localinfra.pathway`) with staff tokens
minted from ``AUTH_JWT_SECRET``; a Kafka reader prints the pathway's events, and the notifications they cause, as
they happen.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from clinicflow.localinfra.pathway import Clinic, Walk, stock_the_register, walk_pathway
from clinicflow.shared.catalogue import CATALOGUE
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.kafka import client_options
from clinicflow.shared.settings import AuthSettings, KafkaSettings


@dataclass
class Timeline:
    """The pathway's events as they arrive, printed and kept."""

    pathway_id: uuid.UUID | None = None
    started: float = field(default_factory=time.monotonic)
    events: list[Envelope] = field(default_factory=list)
    echo: bool = True

    def watch(self, pathway_id: uuid.UUID) -> None:
        """From now on, keep this pathway's events."""
        self.pathway_id = pathway_id

    def add(self, envelope: Envelope) -> None:
        if envelope.subject != self.pathway_id:
            return
        self.events.append(envelope)
        if self.echo:
            print(f"  +{time.monotonic() - self.started:6.1f}s  {envelope.source.split('/')[-1]:<13} "
                  f"{envelope.type:<26} {_summary(envelope)}", flush=True)

    def count(self, event_type: str) -> int:
        return sum(e.type == event_type for e in self.events)


def _summary(envelope: Envelope) -> str:
    keys = ("outcome", "instrument", "total", "band", "reason", "session_number", "dose_mg", "route", "channel",
            "recipient_role", "latest_phq9", "response", "remission", "attempt_number", "breached")
    return " ".join(f"{k}={envelope.data[k]}" for k in keys if k in envelope.data)


async def follow(settings: KafkaSettings, timeline: Timeline, ready: asyncio.Event) -> None:
    """Print every event about the timeline's pathway, from now on."""
    topics = [settings.topic_prefix + spec.topic for spec in CATALOGUE.values() if not spec.identifiable]
    consumer = AIOKafkaConsumer(*topics, group_id=None, auto_offset_reset="latest", **client_options(settings))
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.1)
        for partition in consumer.assignment():
            await consumer.position(partition)  # pin "latest" before the walk starts
        ready.set()
        while True:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    timeline.add(Envelope.from_bytes(record.value))
    finally:
        await consumer.stop()


async def run_demo(*, host: str = "127.0.0.1", echo: bool = True) -> Timeline:
    """Walk the pathway on a running system; returns its timeline."""
    secret = AuthSettings().jwt_secret
    if secret is None:
        raise SystemExit("AUTH_JWT_SECRET is not set: `source .run/local.env` while `make run` is going")
    timeline = Timeline(echo=echo)
    ready = asyncio.Event()
    reader = asyncio.create_task(follow(KafkaSettings(), timeline, ready))
    clinic = Clinic(secret.get_secret_value(), host=host)
    try:
        await asyncio.wait_for(ready.wait(), 30)
        walk = Walk()
        receipt = await stock_the_register(clinic, walk.sessions)
        print(f"controlled-drugs register: received {walk.sessions} vials (balance {receipt['balance_mg']} mg)",
              flush=True)
        print("walking a synthetic client through the pathway; events as they happen:", flush=True)
        pathway = await walk_pathway(clinic, walk, on_enquiry=timeline.watch)
        await clinic.until(lambda: _arrived(timeline, "course.completed"), what="course.completed on the bus")
        await asyncio.sleep(2)  # the last notifications
        [completed] = [e for e in timeline.events if e.type == "course.completed"]
        print(f"\npathway {pathway}: {len(timeline.events)} events; course completed after "
              f"{completed.data['sessions_completed']} sessions, PHQ-9 {completed.data['baseline_phq9']} → "
              f"{completed.data['final_phq9']} ({completed.data['change_percent']}%), response "
              f"{completed.data['response']}, remission {completed.data['remission']}", flush=True)
        return timeline
    finally:
        reader.cancel()
        await clinic.close()


async def _arrived(timeline: Timeline, event_type: str) -> bool:
    return timeline.count(event_type) > 0
