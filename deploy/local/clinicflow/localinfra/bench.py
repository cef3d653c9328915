"""``clinicflow bench``: figures for a running system, each beside what the infrastructure itself can do.

On the system `make run` started (``source .run/local.env``) it pushes M bare enquiries and N full pathways through
the public HTTP API and times, from the bus: form submission → `enquiry.received` → staff notification sent, and
safety trigger (PHQ-9 item 9 answer, vital-sign breach) → on-call chat webhook accepted, the latter under a background
load of routine enquiries. In the same run it measures
a raw aiokafka produce and a raw consume→produce relay of the same message size on the same broker, and the
PostgreSQL commit rate, and reads each service's peak RSS. Prints a table and writes JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from clinicflow.localinfra.pathway import (
    CLINICIAN,
    Clinic,
    Walk,
    dose_and_breach,
    release_safety_hold,
    start_course,
    stock_the_register,
    submit_enquiry,
    walk_pathway,
)
from clinicflow.shared.catalogue import CATALOGUE
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.kafka import client_options, ensure_topics
from clinicflow.shared.settings import AuthSettings, DatabaseSettings, KafkaSettings

SERVICES = ("intake", "screening", "sessions", "notifications", "register")


@dataclass
class Bus:
    """When (monotonic) each event of interest reached the bench's own consumer."""

    arrived: dict[tuple[str, uuid.UUID], float] = field(default_factory=dict)  # (type, pathway) → first arrival
    event_ids: dict[tuple[str, uuid.UUID], uuid.UUID] = field(default_factory=dict)
    sent: dict[tuple[uuid.UUID, str], float] = field(default_factory=dict)  # (source event, channel) → arrival

    def add(self, envelope: Envelope, at: float) -> None:
        if envelope.type == "notification.sent":
            self.sent.setdefault((uuid.UUID(envelope.data["source_event_id"]), envelope.data["channel"]), at)
        else:
            self.arrived.setdefault((envelope.type, envelope.subject), at)
            self.event_ids.setdefault((envelope.type, envelope.subject), envelope.id)

    async def wait(self, key: tuple, table: str, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        while key not in getattr(self, table):
            if time.monotonic() > deadline:
                raise TimeoutError(f"never saw {key}")
            await asyncio.sleep(0.02)
        return getattr(self, table)[key]


async def listen(settings: KafkaSettings, bus: Bus, ready: asyncio.Event) -> None:
    """Record every pathway event's arrival, from now on."""
    topics = [settings.topic_prefix + s.topic for s in CATALOGUE.values() if not s.identifiable]
    consumer = AIOKafkaConsumer(*topics, group_id=None, auto_offset_reset="latest", fetch_max_wait_ms=50,
                                **client_options(settings))
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        for partition in consumer.assignment():
            await consumer.position(partition)
        ready.set()
        while True:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                now = time.monotonic()
                for record in records:
                    bus.add(Envelope.from_bytes(record.value), now)
    finally:
        await consumer.stop()


def summary(samples: list[float]) -> dict[str, float]:
    """Count, p50, p95, p99 and max of latencies in milliseconds."""
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1] * 1000, 1), "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}


async def bench_enquiries(clinic: Clinic, bus: Bus, count: int, concurrency: int) -> dict:
    """Bare enquiries: throughput, request → `enquiry.received`, request → contact-centre email sent."""
    to_event, to_staff = [], []
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            started = time.monotonic()
            pathway = await submit_enquiry(clinic)
            to_event.append(await bus.wait(("enquiry.received", pathway), "arrived") - started)
        event_id = bus.event_ids[("enquiry.received", pathway)]
        to_staff.append(await bus.wait((event_id, "email"), "sent") - started)

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(count)))
    elapsed = time.monotonic() - started
    return {"count": count, "concurrency": concurrency, "throughput_per_s": round(count / elapsed, 1),
            "request_to_enquiry_received": summary(to_event), "request_to_staff_notification": summary(to_staff)}


async def bench_pathways(clinic: Clinic, bus: Bus, count: int) -> dict:
    """Full pathways walked at once; then on fresh courses, the two safety triggers → on-call chat webhook."""
    await stock_the_register(clinic, count * Walk().sessions)
    started = time.monotonic()
    await asyncio.gather(*(walk_pathway(clinic) for _ in range(count)))
    elapsed = time.monotonic() - started
    item9, breaches = [], []

    async def triggers() -> None:
        pathway, course_id = await start_course(clinic)
        posted = time.monotonic()
        await clinic.expect(201, "screening", "POST", f"/pathways/{pathway}/measures", who=CLINICIAN,
                            json={"instrument": "phq9", "context": "pre_session", "answers": [1] * 9})
        flag = await _event_id(bus, "screening.risk.flagged", pathway)
        item9.append(await bus.wait((flag, "chat"), "sent") - posted)
        await release_safety_hold(clinic, pathway)  # the flag holds the course until a doctor reviews risk
        posted = await dose_and_breach(clinic, course_id)
        alert = await _event_id(bus, "session.vitals.alerted", pathway)
        breaches.append(await bus.wait((alert, "chat"), "sent") - posted)

    await asyncio.gather(*(triggers() for _ in range(count)))
    return {"count": count, "pathways_per_minute": round(count / elapsed * 60, 1),
            "item9_answer_to_on_call_webhook": summary(item9), "vitals_breach_to_on_call_webhook": summary(breaches)}


async def _event_id(bus: Bus, event_type: str, pathway: uuid.UUID) -> uuid.UUID:
    await bus.wait((event_type, pathway), "arrived")
    return bus.event_ids[(event_type, pathway)]


async def raw_kafka(settings: KafkaSettings, size: int, count: int) -> dict:
    """The broker alone: idempotent acks=all produce of ``size`` bytes, and a consume→produce hop."""
    run = uuid.uuid4().hex[:8]
    raw_in, raw_out = f"bench.{run}.in", f"bench.{run}.out"
    await ensure_topics(settings, [raw_in, raw_out])
    raw_in, raw_out = settings.topic_prefix + raw_in, settings.topic_prefix + raw_out
    payload = os.urandom(size)
    producer = AIOKafkaProducer(enable_idempotence=True, **client_options(settings))
    await producer.start()
    try:
        produce = []
        started = time.monotonic()
        for _ in range(count):
            t = time.monotonic()
            await producer.send_and_wait(raw_in, payload, key=b"k")
            produce.append(time.monotonic() - t)
        produce_rate = count / (time.monotonic() - started)
        hop = await _relay_hop(settings, producer, raw_in, raw_out, payload, count)
    finally:
        await producer.stop()
    return {"message_bytes": size, "produce": summary(produce), "produce_per_s": round(produce_rate, 1),
            "consume_produce_hop": summary(hop)}


async def _relay_hop(settings, producer, raw_in, raw_out, payload, count) -> list[float]:  # noqa: ANN001
    relay_in = AIOKafkaConsumer(raw_in, group_id=None, auto_offset_reset="latest", fetch_max_wait_ms=50,
                                **client_options(settings))
    sink = AIOKafkaConsumer(raw_out, group_id=None, auto_offset_reset="latest", fetch_max_wait_ms=50,
                            **client_options(settings))
    await relay_in.start()
    await sink.start()
    for consumer in (relay_in, sink):
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        for partition in consumer.assignment():
            await consumer.position(partition)

    async def relay() -> None:
        async for record in relay_in:
            await producer.send_and_wait(raw_out, record.value, key=record.key)

    relaying = asyncio.create_task(relay())
    hops = []
    try:
        for _ in range(count):
            sent = time.monotonic()
            await producer.send_and_wait(raw_in, payload, key=b"k")
            await sink.getone()
            hops.append(time.monotonic() - sent)
    finally:
        relaying.cancel()
        await relay_in.stop()
        await sink.stop()
    return hops


async def postgres_commits(dsn: str, count: int) -> dict:
    """Single-row transactions committed one after another on one connection."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TEMP TABLE bench_commits (id serial PRIMARY KEY, at timestamptz DEFAULT now())")
        started = time.monotonic()
        for _ in range(count):
            async with conn.transaction():
                await conn.execute("INSERT INTO bench_commits DEFAULT VALUES")
        return {"count": count, "commits_per_s": round(count / (time.monotonic() - started), 1)}
    finally:
        await conn.close()


def peak_rss_mib() -> dict[str, float]:
    """Each running service process's peak resident memory (VmHWM)."""
    peaks = {}
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            for service in SERVICES:
                if f"-m clinicflow.{service}" in command or f"clinicflow-{service}" in command:
                    hwm = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("VmHWM"))
                    peaks[service] = round(int(hwm.split()[1]) / 1024, 1)
        except (OSError, StopIteration, ValueError):
            continue
    return peaks


async def run_bench(*, enquiries: int, pathways: int, concurrency: int, output: Path) -> dict:
    """Everything above, printed and written to ``output``."""
    secret = AuthSettings().jwt_secret
    if secret is None:
        raise SystemExit("AUTH_JWT_SECRET is not set: `source .run/local.env` while `make run` is going")
    kafka, database = KafkaSettings(), DatabaseSettings()
    bus, ready = Bus(), asyncio.Event()
    listener = asyncio.create_task(listen(kafka, bus, ready))
    clinic = Clinic(secret.get_secret_value())
    try:
        await asyncio.wait_for(ready.wait(), 30)
        size = len(_sample_event_bytes())
        report = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "enquiries": await bench_enquiries(clinic, bus, enquiries, concurrency),
        }
        # Safety triggers under a background load of routine events (more enquiries at the same time).
        report["pathways"], report["background_enquiries"] = await asyncio.gather(
            bench_pathways(clinic, bus, pathways), bench_enquiries(clinic, bus, enquiries, max(1, concurrency // 4)))
        report |= {
            "raw_kafka": await raw_kafka(kafka, size, 300),
            "postgres": await postgres_commits(database.url.get_secret_value(), 500),
            "peak_rss_mib": peak_rss_mib(),
        }
    finally:
        listener.cancel()
        await clinic.close()
    output.write_text(json.dumps(report, indent=2))
    print_table(report)
    print(f"\nwritten to {output}")
    return report


def _sample_event_bytes() -> bytes:
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "type": "enquiry.received", "data": {
        "channel": "web_form", "concerns": ["depression", "anxiety"], "age_band": "35-44",
        "preferred_contact_window": "morning", "consent_version": "2026-01", "received_at": "x" * 32}}).encode()


def print_table(r: dict) -> None:
    """The report as a table, each figure beside the raw infrastructure it rests on."""
    e, p, k = r["enquiries"], r["pathways"], r["raw_kafka"]
    rows = [
        ("POST /enquiries throughput", f"{e['throughput_per_s']}/s", f"raw produce {k['produce_per_s']}/s",
         f"{e['throughput_per_s'] / k['produce_per_s']:.2f}"),
        ("request → enquiry.received p50 / p99", _pp(e["request_to_enquiry_received"]),
         f"raw produce {_pp(k['produce'])}",
         _ratio(e["request_to_enquiry_received"], k["produce"])),
        ("request → staff notification p50 / p99", _pp(e["request_to_staff_notification"]),
         f"raw hop {_pp(k['consume_produce_hop'])}",
         _ratio(e["request_to_staff_notification"], k["consume_produce_hop"])),
        ("item 9 answer → on-call webhook p50 / p99", _pp(p["item9_answer_to_on_call_webhook"]),
         f"raw hop {_pp(k['consume_produce_hop'])}",
         _ratio(p["item9_answer_to_on_call_webhook"], k["consume_produce_hop"])),
        ("vitals breach → on-call webhook p50 / p99", _pp(p["vitals_breach_to_on_call_webhook"]),
         f"raw hop {_pp(k['consume_produce_hop'])}",
         _ratio(p["vitals_breach_to_on_call_webhook"], k["consume_produce_hop"])),
        ("full pathways", f"{p['pathways_per_minute']}/min",
         f"PostgreSQL {r['postgres']['commits_per_s']} commits/s", ""),
        ("peak RSS (MiB)", ", ".join(f"{s} {m}" for s, m in r["peak_rss_mib"].items()), "", ""),
    ]
    print(f"\n{'measure':<42}{'clinicflow':<26}{'infrastructure alone':<32}ratio (p50)")
    for row in rows:
        print(f"{row[0]:<42}{row[1]:<26}{row[2]:<32}{row[3]}")


def _pp(s: dict) -> str:
    return f"{s.get('p50_ms', '-')} / {s.get('p99_ms', '-')} ms"


def _ratio(mine: dict, raw: dict) -> str:
    return f"{mine['p50_ms'] / raw['p50_ms']:.1f}×" if mine.get("p50_ms") and raw.get("p50_ms") else ""
