"""`docker compose up` of the real docker-compose.yml on a Docker engine, as an operator runs it.

The engine is the one that answers, or Debian's started here; images the compose file names but no registry can
provide here are stood in for by locally built ones honouring the same interface (tests/deploy/images/, laid over by
tests/deploy/compose.test.yml, each change explained there); the clinicflow image is built from the repository's
Dockerfile, offline. Then: every healthcheck passes, clients walk the pathway through the published ports while a
service container and the broker container restart, and nothing is lost or doubled (events, staff email at the
Mailpit API, the controlled-drugs register); every service stops on SIGTERM within its grace period with no event
left unsent; `docker compose down -v` leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError

from clinicflow.localinfra.docker import (
    REPO,
    build_clinicflow_image,
    ensure_compose,
    ensure_engine,
    ensure_stand_in_images,
)
from clinicflow.localinfra.pathway import LEAD, VIAL, Clinic, Walk, stock_the_register, walk_pathway
from clinicflow.shared.settings import KafkaSettings
from tests.e2e.harness import all_events, distinct, expected_pathway_counts, planned_notifications

pytestmark = [pytest.mark.e2e, pytest.mark.compose, pytest.mark.timeout(1800)]

SERVICES = ("intake", "screening", "sessions", "notifications", "register")
SECRET = "compose-test-jwt-secret-0123456789abcdef"
HOST_KAFKA = "127.0.0.1:19094"  # the test's own listener (compose.test.yml)
SESSIONS = 6  # the demo rule file's planned course
PATHWAYS = 3
MEMORY_LIMIT_MIB = 512  # each service's limit in docker-compose.yml


@dataclass
class Composed:
    """The running project and how to drive it."""

    command: list[str]
    env: dict[str, str]
    cold_start_seconds: float

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``docker compose`` on this project."""
        return subprocess.run([*self.command, *args], env=self.env, check=check, capture_output=True, text=True)


@pytest.fixture(scope="module")
def composed(tmp_path_factory) -> Iterator[Composed]:  # noqa: ANN001
    ensure_engine()
    ensure_compose()
    _remove_projects_left_by_an_interrupted_run()
    ensure_stand_in_images()
    build_clinicflow_image()
    project = tmp_path_factory.mktemp("compose")
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    logins = "".join(f"{login.upper()}_DATABASE_PASSWORD={uuid.uuid4().hex}\n" for login in ("migrator", *SERVICES))
    (project / ".env").write_text(f"POSTGRES_PASSWORD=compose-test-{uuid.uuid4().hex}\nAUTH_JWT_SECRET={SECRET}\n"
                                  f"INTAKE_ENCRYPTION_KEYS=k1:{key}\nKAFKA_TOPIC_PARTITIONS=3\n{logins}"
                                  "NOTIFICATIONS_STAFF_PORTAL_URL=http://localhost:8000\n")
    command = ["docker", "compose", "-p", f"cf{uuid.uuid4().hex[:8]}", "--env-file", str(project / ".env"),
               "-f", str(REPO / "docker-compose.yml"), "-f", str(REPO / "tests" / "deploy" / "compose.test.yml")]
    running = Composed(command, {**os.environ, "CLINICFLOW_REPO": str(REPO)}, 0.0)
    started = time.monotonic()
    try:
        up = running.compose("up", "-d", "--no-build", "--wait", "--wait-timeout", "240", check=False)
        assert up.returncode == 0, up.stdout + up.stderr + running.compose("logs", "--tail", "40").stdout
        running.cold_start_seconds = time.monotonic() - started
        yield running
    finally:
        running.compose("down", "-v", "--remove-orphans", check=False)


async def test_the_composed_system_walks_the_pathway_through_restarts_and_stops_cleanly(composed):
    ps = [json.loads(line) for line in composed.compose("ps", "--format", "json").stdout.splitlines() if line]
    health = {c["Service"]: c["Health"] for c in ps if c["Health"]}
    assert health == dict.fromkeys((*SERVICES, "kafka", "postgres"), "healthy")
    # Each service is connected as its own login, none as the superuser or the migrator, and only intake was given
    # the field-encryption keys.
    logins = composed.compose("exec", "-T", "postgres", "psql", "-U", "clinicflow", "-d", "clinicflow", "-At", "-c",
                              "SELECT DISTINCT usename FROM pg_stat_activity WHERE backend_type = 'client backend' "
                              "AND pid <> pg_backend_pid()").stdout.split()
    assert sorted(logins) == sorted(f"clinicflow_{service}" for service in SERVICES)
    for service in SERVICES:
        environment = composed.compose("exec", "-T", service, "env").stdout
        assert ("INTAKE_ENCRYPTION_KEYS=" in environment) == (service == "intake"), service
        assert "POSTGRES_PASSWORD" not in environment and "DATABASE_MIGRATOR_URL" not in environment

    clinic = Clinic(SECRET, patience=240)
    try:
        await stock_the_register(clinic, 100)

        async def restarts() -> None:
            await asyncio.sleep(5)
            await asyncio.to_thread(composed.compose, "restart", "sessions")
            await asyncio.sleep(3)
            await asyncio.to_thread(composed.compose, "restart", "kafka")

        walks = asyncio.gather(*(walk_pathway(clinic, Walk(sessions=SESSIONS)) for _ in range(PATHWAYS)))
        pathways, _ = await asyncio.gather(walks, restarts())
        entries = await clinic.expect(200, "register", "GET", f"/pages/{VIAL}/entries", who=LEAD)
    finally:
        await clinic.close()

    # Every event once per pathway on the bus (read through the test's listener), every staff email once.
    kafka = KafkaSettings(bootstrap_servers=HOST_KAFKA, topic_prefix="")
    wanted = set(pathways)
    deadline = time.monotonic() + 120
    while True:
        try:
            events = [e for e in distinct(await all_events(kafka)) if e.subject in wanted]
        except KafkaConnectionError:  # the broker is still coming back from its restart
            await asyncio.sleep(2)
            continue
        emails = [p for p in planned_notifications(events, now=datetime.now(UTC)) if p[1] == "email"]
        mailbox = httpx.get("http://127.0.0.1:8025/api/v1/messages", timeout=5).json()
        if mailbox["total"] >= len(emails) or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    for pathway in pathways:
        assert Counter(e.type for e in events if e.subject == pathway and not e.type.startswith("notification.")
                       and e.type != "alert.acknowledged") == expected_pathway_counts(SESSIONS)
    sent_to = Counter(m["To"][0]["Address"] for m in mailbox["messages"])
    assert sum(sent_to.values()) == len(emails)
    administrations = [e for e in entries if e["kind"] == "administration"]
    assert Counter(e["pathway_id"] for e in administrations) == {str(p): SESSIONS for p in pathways}

    # What an operator sees: memory per container under load, within each service's limit.
    stats = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"], check=True,
                           capture_output=True, text=True).stdout
    print(f"\ncold start to every healthcheck passing: {composed.cold_start_seconds:.0f} s\n{stats}")
    for line in stats.splitlines():
        name, usage = line.split("\t")
        if any(f"-{service}-" in name for service in SERVICES):
            assert _mib(usage.split(" / ")[0]) < MEMORY_LIMIT_MIB, line

    # SIGTERM: each service stops within its grace period (exit 0, never killed), with no event left unsent and
    # nothing but an orderly shutdown in its log.
    unsent = " UNION ALL ".join(f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL" for s in SERVICES)
    stopping = datetime.now(UTC).isoformat(timespec="seconds")
    composed.compose("stop", "--timeout", "20", *SERVICES)
    for service in SERVICES:
        container = composed.compose("ps", "-a", "-q", service).stdout.strip()
        state = json.loads(subprocess.run(["docker", "inspect", "--format", "{{json .State}}", container],
                                          check=True, capture_output=True, text=True).stdout)
        assert (state["ExitCode"], state["OOMKilled"]) == (0, False), (service, state)
    counts = composed.compose("exec", "-T", "postgres", "psql", "-U", "clinicflow", "-d", "clinicflow", "-At", "-c",
                              f"SELECT sum(count) FROM ({unsent}) AS unsent").stdout.strip()
    assert counts == "0"
    shutdown = composed.compose("logs", "--since", stopping, *SERVICES).stdout
    assert "Traceback" not in shutdown and '"level": "error"' not in shutdown, shutdown[-3000:]


def _remove_projects_left_by_an_interrupted_run() -> None:
    """A run killed before its teardown leaves its project up, holding the published ports: take it down first."""
    labels = subprocess.run(["docker", "ps", "-a", "--format", '{{.Label "com.docker.compose.project"}}\t'
                             '{{.Label "com.docker.compose.project.config_files"}}'],
                            check=True, capture_output=True, text=True).stdout.splitlines()
    left = {project for project, _, files in (line.partition("\t") for line in labels)
            if "tests/deploy/compose.test.yml" in files}
    for project in sorted(left):
        subprocess.run(["docker", "compose", "-p", project, "down", "-v", "--remove-orphans"], check=False,
                       capture_output=True)


def _mib(usage: str) -> float:
    number, unit = float(usage.rstrip("KMGiB")), usage.lstrip("0123456789.")
    return number * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "B": 1 / 1048576}[unit]
