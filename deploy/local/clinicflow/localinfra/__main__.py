"""``python -m clinicflow.localinfra run``: the whole system on this machine, without Docker.

Starts PostgreSQL and Kafka, creates every topic, starts the five services as separate processes with their logs
prefixed, prints where everything is, and stops it all (services, broker, database) on Ctrl-C or SIGTERM.
``python -m clinicflow.localinfra infra`` starts only Kafka and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from clinicflow.localinfra import local_infrastructure
from clinicflow.localinfra.databases import provision_now
from clinicflow.localinfra.kafka import LocalKafka
from clinicflow.localinfra.pathway import DEMO_SESSIONS_RULES
from clinicflow.localinfra.ports import free_port, port_is_free

SERVICES = {"intake": 8001, "screening": 8002, "sessions": 8003, "notifications": 8004, "register": 8005}
PORTAL_PORT = 8000
RUN_DIR = Path(".run")


class _Stop(Exception):
    pass


def _raise_stop(*_args: object) -> None:
    raise _Stop


def _port(preferred: int) -> int:
    return preferred if port_is_free(preferred) else free_port()


def _stream(prefix: str, process: subprocess.Popen) -> None:
    for line in process.stdout:
        sys.stdout.write(f"{prefix:<14}| {line}")
        sys.stdout.flush()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    threading.Thread(target=_stream, args=(name, process), daemon=True).start()
    return process


def _start_services(env: dict[str, str], kafka: LocalKafka) -> dict[str, subprocess.Popen]:
    """Local staff channels (an SMTP sink writing .run/mail as a maildir, a signed-webhook sink for chat and SMS),
    then the five services."""
    smtp_port = _port(1025)
    mail = RUN_DIR.resolve() / "mail"
    processes = {"smtp-sink": _start("smtp-sink", [
        sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Mailbox",
        str(mail)], env)}
    webhook_port, webhook_secret = _port(8025), secrets.token_urlsafe(24)
    processes["webhook-sink"] = _start("webhook-sink", [
        sys.executable, "-m", "clinicflow.localinfra.webhook_sink", "--port", str(webhook_port)],
        {**env, "WEBHOOK_SINK_SECRET": webhook_secret})
    sink = f"http://127.0.0.1:{webhook_port}"
    env = {**env, "NOTIFICATIONS_SMTP_HOST": "127.0.0.1", "NOTIFICATIONS_SMTP_PORT": str(smtp_port),
           "NOTIFICATIONS_CHAT_WEBHOOK_URL": env.get("NOTIFICATIONS_CHAT_WEBHOOK_URL") or f"{sink}/chat",
           "NOTIFICATIONS_CHAT_WEBHOOK_SECRET": env.get("NOTIFICATIONS_CHAT_WEBHOOK_SECRET") or webhook_secret,
           "NOTIFICATIONS_SMS_GATEWAY_URL": env.get("NOTIFICATIONS_SMS_GATEWAY_URL") or f"{sink}/sms",
           "NOTIFICATIONS_SMS_GATEWAY_SECRET": env.get("NOTIFICATIONS_SMS_GATEWAY_SECRET") or webhook_secret,
           "NOTIFICATIONS_ACK_LINK_SECRET": env.get("NOTIFICATIONS_ACK_LINK_SECRET") or secrets.token_urlsafe(32)}
    print(f"local SMTP sink on 127.0.0.1:{smtp_port} (staff email lands in {mail}); "
          f"chat and SMS webhooks go to {sink}", flush=True)
    # Each service logs in as its own role, on a schema migrated beforehand by the owner, and to the broker as its
    # own principal, allowed only what the catalogue's ACLs grant (least privilege, as production runs).
    logins = provision_now(env["DATABASE_URL"], {name: env.get(f"{name.upper()}_DB_SCHEMA", name) for name in SERVICES})
    kafka.grant_catalogue_acls(env.get("KAFKA_TOPIC_PREFIX", ""))
    for name in SERVICES:
        own = {"DATABASE_URL": logins[name], "DATABASE_MIGRATE_ON_START": "false", **kafka.login_env(name)}
        processes[name] = _start(name, [sys.executable, "-m", f"clinicflow.{name}"], {**env, **own})
    processes["portal"] = _start("portal", [sys.executable, "-m", "clinicflow.portal"], {**env, **portal_env(env)})
    return processes


def portal_env(env: dict[str, str]) -> dict[str, str]:
    """The portal on this machine: the services' local addresses, the development sign-in, cookies over http."""
    ports = {n: env.get(f"{n.upper()}_HTTP_PORT", str(default)) for n, default in SERVICES.items()}
    return {**{f"PORTAL_{n.upper()}_URL": f"http://127.0.0.1:{port}" for n, port in ports.items()},
            "PORTAL_HTTP_PORT": env.get("PORTAL_HTTP_PORT", str(PORTAL_PORT)), "PORTAL_DEV_SIGN_IN": "true",
            "PORTAL_COOKIE_SECURE": "false",
            "PORTAL_SESSION_SECRET": env.get("PORTAL_SESSION_SECRET") or secrets.token_urlsafe(32)}


def _wait_ready(ports: dict[str, int], processes: dict[str, subprocess.Popen], timeout: float = 120,
                path: str = "/readyz") -> None:
    deadline = time.monotonic() + timeout
    waiting = dict(ports)
    while waiting:
        for name, port in list(waiting.items()):
            if processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited with code {processes[name].returncode} while starting")
            if _ready(f"http://127.0.0.1:{port}{path}"):
                del waiting[name]
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(waiting)}")
        time.sleep(0.5)


def _stop_services(processes: dict[str, subprocess.Popen]) -> None:
    # A second Ctrl-C (or a wrapper forwarding the first one again) must not cut the clean-up short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(with_services: bool) -> None:
    """Start everything and block until Ctrl-C or SIGTERM, then stop everything (services before infrastructure)."""
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        with local_infrastructure(kafka_port=_port(9092), postgres_port=_port(5432)) as infra:
            env = {
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": infra.kafka.bootstrap_servers,
                "DATABASE_URL": infra.postgres.dsn,
                "AUTH_JWT_SECRET": os.environ.get("AUTH_JWT_SECRET") or secrets.token_urlsafe(32),
                # A throwaway key for this run's throwaway database; real deployments bring their own.
                "INTAKE_ENCRYPTION_KEYS": os.environ.get("INTAKE_ENCRYPTION_KEYS")
                or f"local1:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}",
                "SESSIONS_RULES_FILE": os.environ.get("SESSIONS_RULES_FILE") or str(DEMO_SESSIONS_RULES),
            }
            print(f"sessions rules: {env['SESSIONS_RULES_FILE']}", flush=True)
            _write_env_file(env)
            _create_topics(infra.kafka.bootstrap_servers)
            processes: dict[str, subprocess.Popen] = {}
            try:
                if with_services:
                    ports = {n: int(env.get(f"{n.upper()}_HTTP_PORT", default)) for n, default in SERVICES.items()}
                    processes = _start_services(env, infra.kafka)
                    _wait_ready(ports, processes)
                    ports["portal"] = int(env.get("PORTAL_HTTP_PORT", PORTAL_PORT))
                    _wait_ready({"portal": ports["portal"]}, processes, path="/healthz")
                    _print_where(ports)
                print("all services ready" if with_services else "infrastructure ready",
                      "- Ctrl-C stops everything", flush=True)
                while all(p.poll() is None for p in processes.values()):
                    time.sleep(0.5)
                print("a service exited; stopping everything", flush=True)
            finally:
                _stop_services(processes)
    except (KeyboardInterrupt, _Stop):
        print("\nstopped", flush=True)


def _create_topics(bootstrap_servers: str) -> None:
    from clinicflow.shared.catalogue import all_topics
    from clinicflow.shared.kafka import ensure_topics
    from clinicflow.shared.settings import KafkaSettings

    asyncio.run(ensure_topics(KafkaSettings(bootstrap_servers=bootstrap_servers), all_topics()))


def _write_env_file(env: dict[str, str]) -> None:
    RUN_DIR.mkdir(exist_ok=True)
    keys = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "AUTH_JWT_SECRET")
    (RUN_DIR / "local.env").write_text("".join(f"export {k}={env[k]}\n" for k in keys))
    print(f"environment for operator commands: source {RUN_DIR / 'local.env'}", flush=True)


def _print_where(ports: dict[str, int]) -> None:
    for name, port in ports.items():
        base = f"http://127.0.0.1:{port}"
        if name == "portal":
            print(f"{'staff portal':<14} {base}  (development sign-in: pick a synthetic member of staff)", flush=True)
        else:
            print(f"{name:<14} {base}  docs {base}/docs  events {base}/asyncapi.json", flush=True)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m clinicflow.localinfra", description=__doc__)
    parser.add_argument("what", choices=["run", "infra"], help="run: everything; infra: Kafka and PostgreSQL only")
    args = parser.parse_args()
    run(with_services=args.what == "run")


if __name__ == "__main__":
    main()
