"""A real Apache Kafka broker (KRaft, one combined broker+controller on 127.0.0.1) from Maven Central's jars.

The jars are resolved once with Maven (deploy/kafka/pom.xml) into a cache outside the work tree, keyed by version.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from clinicflow.localinfra.ports import free_port
from clinicflow.shared.acls import catalogue_acls, login_name
from clinicflow.shared.catalogue import SERVICES
from clinicflow.shared.kafka import create_acls
from clinicflow.shared.settings import KafkaSettings

POM = Path(__file__).resolve().parents[3] / "kafka" / "pom.xml"


def kafka_version() -> str:
    """The pinned Kafka version, read from the POM (the one place it is written)."""
    return re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text()).group(1)


def cache_dir() -> Path:
    """Where resolved jars are kept between runs."""
    base = Path(os.environ.get("CLINICFLOW_CACHE", Path.home() / ".cache" / "clinicflow"))
    return base / f"kafka-{kafka_version()}"


def resolve_jars() -> Path:
    """The folder holding the broker's jars, resolving them with Maven the first time."""
    libs = cache_dir() / "libs"
    if (libs / ".complete").exists():
        return libs
    cache_dir().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=cache_dir()))
    command = [
        "mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]
    subprocess.run(command, check=True)
    (staging / ".complete").touch()
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    return libs


_LOG4J2 = """status = warn
shutdownHook = disable
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [kafka] %d{HH:mm:ss} %p %c{1} %m%n
rootLogger.level = WARN
rootLogger.appenderRefs = console
rootLogger.appenderRef.console.ref = console
logger.server.name = kafka.server.KafkaServer
logger.server.level = INFO
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
"""


class LocalKafka:
    """One KRaft broker in a temporary folder; ``start()`` returns once a metadata call succeeds.

    Two client listeners: PLAINTEXT, whose anonymous clients are super users (the suite's and the operator's
    tools), and SASL_PLAINTEXT with SCRAM-SHA-512, where each service and the web form log in as their own principal
    and may do only what the catalogue's ACLs allow (``grant_catalogue_acls``), as on a production cluster.
    """

    def __init__(self, *, port: int | None = None, data_dir: Path | None = None, heap: str = "512m",
                 durable: bool = True) -> None:
        self.port = port or free_port()
        self._durable = durable
        self.sasl_port = free_port()
        self.controller_port = free_port()
        # Created when the storage is formatted; URL-safe, so nothing in them needs quoting in the format argument.
        self.passwords = {login_name(name): secrets.token_urlsafe(18) for name in (*sorted(SERVICES), "webform")}
        self._data_dir = data_dir
        self._heap = heap
        self._workdir: Path | None = None
        self._process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        """Address for clients."""
        return f"127.0.0.1:{self.port}"

    def login_env(self, producer_or_consumer: str) -> dict[str, str]:
        """The Kafka settings (environment) of a service logging in as its own principal."""
        name = login_name(producer_or_consumer)
        return {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.sasl_port}", "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": name,
                "KAFKA_SASL_PASSWORD": self.passwords[name]}

    def grant_catalogue_acls(self, topic_prefix: str = "") -> int:
        """Create every service's ACLs for topics under ``topic_prefix`` (as the super user); returns how many."""
        acls = catalogue_acls(topic_prefix)
        settings = KafkaSettings(bootstrap_servers=self.bootstrap_servers)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, create_acls(settings, acls)).result()
        return len(acls)

    def start(self, *, timeout: float = 90.0) -> float:
        """Format storage, start the broker, wait until it answers; returns the seconds it took."""
        started = time.monotonic()
        self._workdir = Path(tempfile.mkdtemp(prefix="clinicflow-kafka-"))
        data = self._data_dir or self._workdir / "data"
        (self._workdir / "server.properties").write_text(self._server_properties(data))
        (self._workdir / "log4j2.properties").write_text(_LOG4J2)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        cluster_id = "k" + cluster_id[1:] if cluster_id.startswith("-") else cluster_id
        subprocess.run(
            [*self._java(), "kafka.tools.StorageTool", "format", "-t", cluster_id,
             "-c", str(self._workdir / "server.properties"), "--ignore-formatted",
             *(f"--add-scram=SCRAM-SHA-512=[name={name},password={password}]"
               for name, password in self.passwords.items())],
            check=True, stdout=subprocess.DEVNULL,
        )
        self.resume(timeout=timeout)
        return time.monotonic() - started

    def resume(self, *, timeout: float = 90.0) -> None:
        """Start the broker process (again, after :meth:`pause`) and wait until it answers."""
        self._process = subprocess.Popen(
            [*self._java(heap=True), "kafka.Kafka", str(self._workdir / "server.properties")],
            start_new_session=True,
        )
        # A thread of its own, so this works whether or not the caller runs an event loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, self._wait_until_ready(timeout)).result()

    def _java(self, *, heap: bool = False) -> list[str]:
        memory = ["-Xms256m", f"-Xmx{self._heap}", "-XX:+UseSerialGC"] if heap else []
        logging = f"-Dlog4j2.configurationFile={self._workdir / 'log4j2.properties'}"
        return ["java", logging, *memory, "-cp", f"{resolve_jars()}/*"]

    def _server_properties(self, data: Path) -> str:
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users=User:ANONYMOUS",  # the PLAINTEXT listener, on loopback: the operator's tools
            "allow.everyone.if.no.acl.found=false",
            f"log.dirs={data}",
            "num.partitions=1",
            "offsets.topic.num.partitions=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "log.cleaner.dedupe.buffer.size=4194304",
            "auto.create.topics.enable=false",
            "",
        ])

    async def _wait_until_ready(self, timeout: float) -> None:
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refused connections are expected while it starts
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"Kafka exited with code {self._process.returncode} while starting")
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, request_timeout_ms=3000)
            try:
                await admin.start()
                await admin.describe_cluster()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Kafka did not answer within {timeout:.0f}s") from None
                await asyncio.sleep(0.3)
            finally:
                await admin.close()

    def stop(self) -> None:
        """Stop the broker and remove its folder (a throwaway broker at once: its orderly shutdown takes ~20 s)."""
        if not self._durable and self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        self.pause()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def pause(self) -> None:
        """Stop the broker process (SIGTERM, then SIGKILL if it lingers) but keep its data for :meth:`resume`."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
