"""The four services as separate OS processes on the suite's Kafka and PostgreSQL, with real staff channels,
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from clinicflow.localinfra.pathway import Clinic
from clinicflow.localinfra.ports import free_port
from clinicflow.notifications.routing import load_directory, load_routing, plan
from clinicflow.shared.catalogue import CATALOGUE
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.settings import KafkaSettings
from tests.conftest import TEST_JWT_SECRET
from tests.integration.conftest import StaffChannels
from tests.support import read_topic

SERVICES = ("intake", "screening", "sessions", "notifications")
REPO = Path(__file__).resolve().parents[2]
# What the pathway walker types into the form: none of it may appear on the bus or in a log.
IDENTIFIERS = ["Synthetic", "synthetic.client@example.org", "7912345678", "1986-03-14", "A synthetic client"]


@dataclass
class System:
    """A running clinicflow: four service processes, their logs, and the settings they share."""

    env: dict[str, str]
    logs: Path
    kafka: KafkaSettings
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str) -> None:
        """Start one service (its output appended to its log file)."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"clinicflow.{name}"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            cwd=REPO, start_new_session=True)

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


def system_env(infrastructure, namespace: str, channels: StaffChannels, tmp_path: Path,  # noqa: ANN001
               sessions_planned: int) -> tuple[dict[str, str], dict[str, int]]:
    """Environment for the services: this test's namespace, the suite's infrastructure, the test's channels."""
    ports = {name: free_port() for name in SERVICES}
    rules = json.loads((REPO / "services/sessions/clinicflow/sessions/rules/default.json").read_text())
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
            events.append(Envelope.from_bytes(record.value))
    return events


def distinct(events: list[Envelope]) -> list[Envelope]:
    """One envelope per event id (Kafka is at-least-once; consumers deduplicate on the id)."""
    return list({e.id: e for e in events}.values())


def expected_pathway_counts(sessions: int) -> Counter:
    """The events one walked pathway produces (notifications apart)."""
    return Counter({
        "enquiry.received": 1, "enquiry.callback.logged": 2, "intake.assessment.booked": 1,
        "screening.measure.recorded": 2 + sessions, "screening.completed": 1, "course.started": 1,
        "session.logged": sessions, "integration.due": sessions, "integration.completed": sessions,
        "course.progress.updated": sessions, "course.completed": 1,
    })


def expected_notifications(events: list[Envelope], *, now) -> Counter:  # noqa: ANN001
    """(source event, channel, recipient role) → how many notifications the routing rules call for by ``now``."""
    routing, directory = load_routing(), load_directory()
    expected = Counter()
    for event in events:
        if event.type.startswith("notification.") or event.type == "alert.acknowledged":
            continue
        payload = CATALOGUE[event.type].payload.model_validate(event.data).model_dump(mode="json")
        for planned in plan(event.type, payload, routing=routing, directory=directory,
                            enabled=frozenset({"inbox", "email", "chat", "sms"})):
            if planned.send_at is None or planned.send_at <= now:
                expected[(event.id, planned.channel, planned.recipient_role)] += 1
    return expected


def sent_notifications(events: list[Envelope]) -> Counter:
    """The same key, counted from `notification.sent` events."""
    return Counter((uuid.UUID(e.data["source_event_id"]), e.data["channel"], e.data["recipient_role"])
                   for e in events if e.type == "notification.sent")
