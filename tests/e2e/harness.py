"""The five services as separate OS processes on the suite's Kafka and PostgreSQL, with real staff channels,
each test in its own topic prefix and schemas; plus what the tests need to count what happened."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from clinicflow.localinfra.databases import provision_now
from clinicflow.localinfra.pathway import (
    DEMO_SESSIONS_RULES,
    DOSE_MG,
    LEAD,
    VIAL,
    VIAL_MG,
    WASTED_MG,
    Clinic,
    stock_the_register,
    walk_pathway,
)
from clinicflow.localinfra.ports import free_port
from clinicflow.notifications.configfiles import load_directory, load_routing
from clinicflow.notifications.domain import escalation_chain
from clinicflow.notifications.routing import plan
from clinicflow.shared.catalogue import CATALOGUE, all_topics
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.kafka import ensure_topics
from clinicflow.shared.settings import KafkaSettings
from tests.conftest import TEST_ACK_LINK_SECRET, TEST_JWT_SECRET, KafkaLogins
from tests.integration.conftest import StaffChannels
from tests.support import read_topic

SERVICES = ("intake", "screening", "sessions", "notifications", "register")
# Vials received into the register when a test system starts: enough for every walk, and above the reorder level
# throughout, so the pharmacy is never told (register events are about the page, not the tests' pathways).
STOCKED_VIALS = 500
REPO = Path(__file__).resolve().parents[2]
# What the pathway walker types into the form: none of it may appear on the bus or in a log.
IDENTIFIERS = ["Synthetic", "synthetic.client@example.org", "7912345678", "1986-03-14", "A synthetic client"]


@dataclass
class System:
    """A running clinicflow: five service processes, their logs, and the settings they share."""

    env: dict[str, str]
    logs: Path
    kafka: KafkaSettings
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    own_env: dict[str, dict[str, str]] = field(default_factory=dict)  # per service: its own database login

    def start(self, name: str) -> None:
        """Start one service (its output appended to its log file)."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"clinicflow.{name}"], env={**self.env, **self.own_env.get(name, {})}, stdout=log,
            stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)

    def kill(self, name: str) -> None:
        """``kill -9`` one service."""
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait()

    def stop(self) -> None:
        """SIGTERM every service, SIGKILL what lingers."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    async def ready(self, name: str) -> bool:
        """Whether a service answers /readyz with 200."""
        try:
            async with httpx.AsyncClient(timeout=3) as http:
                return (await http.get(f"http://127.0.0.1:{self.ports[name]}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def wait_ready(self, *names: str, timeout: float = 90) -> None:
        """Until each named service (all by default) is ready."""
        deadline = time.monotonic() + timeout
        for name in names or SERVICES:
            while not await self.ready(name):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with {self.processes[name].returncode}; see {self.logs}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready")
                await asyncio.sleep(0.3)

    def clinic(self) -> Clinic:
        """The staff-side HTTP client for this system."""
        return Clinic(TEST_JWT_SECRET, ports=self.ports, patience=240)

    def log_text(self) -> str:
        """Everything the services logged."""
        return "".join(p.read_text(errors="replace") for p in self.logs.glob("*.log"))


async def stock(system: System) -> None:
    """The register's opening stock for this system's walks."""
    clinic = system.clinic()
    try:
        await stock_the_register(clinic, STOCKED_VIALS)
    finally:
        await clinic.close()


async def assert_register_reconciles(system: System, pathways: list[uuid.UUID], *, sessions: int) -> None:
    """The controlled-drugs register agrees exactly with what happened: one administration per dosing session of the
    pathways, each remainder wasted once, the balance the opening stock less every vial opened, a stock check that
    finds no difference, no discrepancy open, and every page's hash chain whole."""
    clinic = system.clinic()
    try:
        entries = await clinic.expect(200, "register", "GET", f"/pages/{VIAL}/entries", who=LEAD)
        administrations = [e for e in entries if e["kind"] == "administration"]
        wasted = [e for e in entries if e["kind"] == "wastage"]
        assert Counter(e["pathway_id"] for e in administrations) == {str(p): sessions for p in pathways}
        assert len({e["session_id"] for e in administrations}) == len(administrations)
        assert {Decimal(e["amount_mg"]) for e in administrations} == {-Decimal(str(DOSE_MG))}
        assert sorted(e["relates_to"] for e in wasted) == sorted(e["entry_id"] for e in administrations)
        assert {Decimal(e["amount_mg"]) for e in wasted} == {-Decimal(str(WASTED_MG))}
        opened = len(administrations)
        assert Decimal(entries[-1]["balance_mg"]) == STOCKED_VIALS * VIAL_MG - opened * (DOSE_MG + WASTED_MG)
        check = await clinic.expect(201, "register", "POST", f"/pages/{VIAL}/stock-checks", who=LEAD,
                                    json={"counted_units": STOCKED_VIALS - opened, "witnessed_by": "ao-1"})
        assert Decimal(check["difference_mg"]) == 0
        assert await clinic.expect(200, "register", "GET", "/discrepancies", who=LEAD) == []
    finally:
        await clinic.close()
    verified = subprocess.run([sys.executable, "-m", "clinicflow.shared.cli", "register", "verify"],
                              env={**system.env, **system.own_env.get("register", {})}, capture_output=True,
                              text=True, check=False)
    assert verified.returncode == 0 and f"ok\t{VIAL}\t" in verified.stdout, verified.stdout + verified.stderr


def own_logins(env: dict[str, str], kafka_logins: KafkaLogins | None) -> dict[str, dict[str, str]]:
    """Per service: its own database role on its schema, migrated beforehand by the owner, and (where the broker
    has them) its own Kafka principal under the catalogue's ACLs, on topics created beforehand: as production runs."""
    schemas = {name: env[f"{name.upper()}_DB_SCHEMA"] for name in SERVICES}
    logins = provision_now(env["DATABASE_URL"], schemas)
    own = {name: {"DATABASE_URL": dsn, "DATABASE_MIGRATE_ON_START": "false"} for name, dsn in logins.items()}
    if kafka_logins is not None:
        admin = KafkaSettings(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], topic_prefix=env["KAFKA_TOPIC_PREFIX"],
                              topic_partitions=3)
        with ThreadPoolExecutor(1) as pool:  # a thread of its own: callers may be inside an event loop
            pool.submit(asyncio.run, ensure_topics(admin, all_topics())).result()
        kafka_logins.grant_catalogue_acls(env["KAFKA_TOPIC_PREFIX"])
        for name in SERVICES:
            own[name] |= kafka_logins.login_env(name)
    return own


def system_env(infrastructure, namespace: str, channels: StaffChannels, tmp_path: Path,  # noqa: ANN001
               sessions_planned: int) -> tuple[dict[str, str], dict[str, int]]:
    """Environment for the services: this test's namespace, the suite's infrastructure, the test's channels."""
    ports = {name: free_port() for name in SERVICES}
    rules = json.loads(DEMO_SESSIONS_RULES.read_text())  # charted days apart after the fact, in seconds
    rules["planned_sessions"]["default"] = sessions_planned
    (tmp_path / "session-rules.json").write_text(json.dumps(rules))
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infrastructure.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": f"{namespace}.",
        "DATABASE_URL": infrastructure.dsn,
        "AUTH_JWT_SECRET": TEST_JWT_SECRET,
        "INTAKE_ENCRYPTION_KEYS": f"e2e:{base64.urlsafe_b64encode(os.urandom(32)).decode()}",
        "SESSIONS_RULES_FILE": str(tmp_path / "session-rules.json"),
        "SESSIONS_SCHEDULER_POLL_SECONDS": "0.5",
        "NOTIFICATIONS_DISPATCHER_POLL_SECONDS": "0.2",
        "NOTIFICATIONS_RETRY_FIRST_SECONDS": "0.2",
        "NOTIFICATIONS_RETRY_CAP_SECONDS": "2",
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(channels.smtp.port),
        "NOTIFICATIONS_CHAT_WEBHOOK_URL": channels.chat.url,
        "NOTIFICATIONS_CHAT_WEBHOOK_SECRET": "chat-secret",
        "NOTIFICATIONS_SMS_GATEWAY_URL": channels.sms.url,
        "NOTIFICATIONS_SMS_GATEWAY_SECRET": "sms-secret",
        "NOTIFICATIONS_ACK_LINK_SECRET": TEST_ACK_LINK_SECRET,
    }
    for name in SERVICES:
        env[f"{name.upper()}_HTTP_PORT"] = str(ports[name])
        env[f"{name.upper()}_DB_SCHEMA"] = f"{namespace}_{name}"
        env[f"{name.upper()}_OUTBOX_POLL_SECONDS"] = "0.5"
    return env, ports


async def topics_of(kafka: KafkaSettings) -> list[str]:
    """This test's topics (without the prefix)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        return [t.removeprefix(kafka.topic_prefix) for t in await admin.list_topics()
                if t.startswith(kafka.topic_prefix)]
    finally:
        await admin.close()


async def all_events(kafka: KafkaSettings) -> list[Envelope]:
    """Every event on this test's pathway topics (not dead letters, not the raw web form)."""
    events = []
    for spec in CATALOGUE.values():
        if spec.identifiable:
            continue
        for record in await read_topic(kafka, spec.topic, at_least=0, timeout=1):
            try:
                events.append(Envelope.from_bytes(record.value))
            except ValidationError:
                continue  # a fault test's own poison message
    return events


def distinct(events: list[Envelope]) -> list[Envelope]:
    """One envelope per event id (Kafka is at-least-once; consumers deduplicate on the id)."""
    return list({e.id: e for e in events}.values())


def expected_pathway_counts(sessions: int, *, risk_flags: int = 0) -> Counter:
    """The events one walked pathway produces (notifications apart): a PHQ-9 after every session, a GAD-7 after
    every second."""
    follow_ups = sessions + sessions // 2
    counts = Counter({
        "enquiry.received": 1, "enquiry.callback.logged": 2, "intake.assessment.booked": 1,
        "screening.measure.recorded": 2 + follow_ups, "screening.completed": 1, "course.started": 1,
        "session.logged": sessions, "session.dose.administered": sessions, "integration.due": sessions,
        "integration.completed": sessions,
        "course.progress.updated": follow_ups, "course.completed": 1,
    })
    return counts + Counter({"screening.risk.flagged": risk_flags, "screening.risk.reviewed": risk_flags})


def planned_notifications(events: list[Envelope], *, now) -> list[tuple[uuid.UUID, str, str, str]]:  # noqa: ANN001
    """(source event, channel, recipient, role) for every notification the routing rules call for by ``now``."""
    routing, directory = load_routing(), load_directory()
    # No shift is recorded in these runs, so the directory file's order is the rota.
    on_call = {role: escalation_chain(ids, directory.clinical_lead) for role, ids in directory.on_call.items()}
    planned = []
    for event in events:
        if event.type.startswith("notification.") or event.type == "alert.acknowledged":
            continue
        payload = CATALOGUE[event.type].payload.model_validate(event.data).model_dump(mode="json")
        for p in plan(event.type, payload, routing=routing, directory=directory,
                      enabled=frozenset({"inbox", "email", "chat", "sms"}), on_call=on_call):
            if p.send_at is None or p.send_at <= now:
                planned.append((event.id, p.channel, p.recipient_id, p.recipient_role))
    return planned


def expected_notifications(events: list[Envelope], *, now) -> Counter:  # noqa: ANN001
    """(source event, channel, recipient role) → how many notifications the routing rules call for by ``now``."""
    return Counter((event, channel, role) for event, channel, _, role in planned_notifications(events, now=now))


def sent_notifications(events: list[Envelope]) -> Counter:
    """The same key, counted from `notification.sent` events."""
    return Counter((uuid.UUID(e.data["source_event_id"]), e.data["channel"], e.data["recipient_role"])
                   for e in events if e.type == "notification.sent")


async def walk_many(system: System, count: int, walk) -> list[uuid.UUID]:  # noqa: ANN001
    """``count`` pathways walked at once; their ids."""
    clinic = system.clinic()
    try:
        return list(await asyncio.gather(*(walk_pathway(clinic, walk) for _ in range(count))))
    finally:
        await clinic.close()


async def settled_events(system: System, pathways: list[uuid.UUID], *, timeout: float = 120) -> list[Envelope]:
    """The pathways' distinct events once every notification they call for has been sent."""
    wanted = set(pathways)
    deadline = time.monotonic() + timeout
    while True:
        events = [e for e in distinct(await all_events(system.kafka)) if e.subject in wanted]
        expected = expected_notifications(events, now=datetime.now(UTC))
        if sent_notifications(events) == expected or time.monotonic() > deadline:
            return events
        await asyncio.sleep(1)


def assert_exactly_once(events: list[Envelope], pathways: list[uuid.UUID], channels: StaffChannels, *,
                        sessions: int, risk_flags: int = 0) -> None:
    """Per pathway: exactly the expected events; per (event, channel, role): exactly one notification; at each
    receiving server: exactly one delivery per expected notification, per person for email."""
    for pathway in pathways:
        counts = Counter(e.type for e in events if e.subject == pathway and not e.type.startswith("notification."))
        counts.pop("alert.acknowledged", None)
        assert counts == expected_pathway_counts(sessions, risk_flags=risk_flags), pathway
    now = datetime.now(UTC)
    expected = expected_notifications(events, now=now)
    assert sent_notifications(events) == expected
    per_channel = Counter()
    for (_, channel, _), times in expected.items():
        per_channel[channel] += times
    assert len(channels.smtp.unique()) == per_channel["email"]
    assert len(channels.chat.unique()) == per_channel["chat"]
    assert len(channels.sms.unique()) == per_channel["sms"]
    by_email = {m.email: m.id for m in load_directory().staff.values()}
    emailed = Counter(recipient for _, channel, recipient, _ in planned_notifications(events, now=now)
                      if channel == "email")
    assert Counter(by_email[m.to] for m in channels.smtp.unique()) == emailed
