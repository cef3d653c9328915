"""`make run`'s runner brings up Kafka, PostgreSQL, the four services and the staff portal as separate processes,
serves /readyz on each, and on Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from clinicflow.localinfra.ports import free_port

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "screening", "sessions", "notifications", "register")


def processes_marked(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                status = (proc / "status").read_text()
                if "State:\tZ" not in status:
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_the_runner_serves_every_service_the_demo_walks_a_whole_pathway_and_ctrl_c_stops_everything(tmp_path):
    marker = f"CLINICFLOW_RUN_ID={uuid.uuid4()}"
    ports = {name: free_port() for name in SERVICES}
    env = {**os.environ, marker.split("=")[0]: marker.split("=")[1]}
    env |= {f"{name.upper()}_HTTP_PORT": str(port) for name, port in ports.items()}
    env["PORTAL_HTTP_PORT"] = str(portal := free_port())
    for inherited in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
        env.pop(inherited, None)
    runner = subprocess.Popen(
        [sys.executable, "-m", "clinicflow.localinfra", "run"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 240
        for line in runner.stdout:
            if "all services ready" in line:
                break
            assert time.monotonic() < deadline, "the system did not come up in time"
        else:
            pytest.fail(f"the runner exited with {runner.wait()} before the services were ready")
        for name, port in ports.items():
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            assert ready.status_code == 200, name
            assert ready.json()["checks"] == {"database": True, "kafka": True}
        assert len(processes_marked(marker)) >= 9  # five services, the portal, the SMTP sink, the broker, the database
        sign_in = httpx.get(f"http://127.0.0.1:{portal}/sign-in", timeout=5)
        assert sign_in.status_code == 200 and "Development sign-in" in sign_in.text
        demo = subprocess.run(
            ["bash", "-c", f"source {tmp_path}/.run/local.env && {sys.executable} -m clinicflow.shared.cli demo"],
            env={**env, "PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=300,
        )
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        assert "controlled-drugs register: received 6 vials (balance" in demo.stdout
        assert "course completed after 6 sessions, PHQ-9 18 → 3 (-83.3%), response True, remission True" in demo.stdout
        for event_type in ("enquiry.received", "intake.assessment.booked", "screening.completed", "course.started",
                           "session.logged", "session.dose.administered", "integration.due",
                           "integration.completed", "course.progress.updated", "notification.sent"):
            assert event_type in demo.stdout
        assert list((tmp_path / ".run" / "mail" / "new").iterdir()), "no staff email reached the SMTP sink"
        bench = subprocess.run(
            ["bash", "-c", f"source {tmp_path}/.run/local.env && {sys.executable} -m clinicflow.shared.cli bench "
                           f"--enquiries 10 --pathways 1 --concurrency 5 --output {tmp_path}/bench.json"],
            env={**env, "PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=300,
        )
        assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-3000:]
        figures = json.loads((tmp_path / "bench.json").read_text())
        assert figures["enquiries"]["request_to_staff_notification"]["n"] == 10
        assert figures["pathways"]["vitals_breach_to_on_call_webhook"]["n"] == 1
        assert set(figures["peak_rss_mib"]) == set(SERVICES)
    finally:
        runner.send_signal(signal.SIGINT)
        runner.communicate(timeout=90)
    time.sleep(1)
    assert processes_marked(marker) == []
