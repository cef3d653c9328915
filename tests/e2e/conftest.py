"""Fixtures for end-to-end tests: a whole running system per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from clinicflow.shared.settings import KafkaSettings
from tests.e2e.harness import SERVICES, System, own_logins, stock, system_env
from tests.integration.conftest import staff_channels  # noqa: F401 - re-exported fixture


def _system(infrastructure, namespace, channels, tmp_path, sessions_planned: int) -> System:  # noqa: ANN001
    env, ports = system_env(infrastructure, namespace, channels, tmp_path, sessions_planned)
    (tmp_path / "logs").mkdir()
    kafka = KafkaSettings(bootstrap_servers=infrastructure.bootstrap_servers, topic_prefix=f"{namespace}.")
    return System(env=env, logs=tmp_path / "logs", kafka=kafka, ports=ports,
                  own_env=own_logins(env, infrastructure.kafka_logins))


@pytest.fixture
def sessions_planned() -> int:
    """Sessions per course in this test's system (override in a module)."""
    return 2


@pytest.fixture
async def system(infrastructure, namespace, staff_channels, tmp_path, sessions_planned) -> AsyncIterator[System]:  # noqa: F811
    """All five services running as separate processes."""
    running = _system(infrastructure, namespace, staff_channels, tmp_path, sessions_planned)
    for name in SERVICES:
        running.start(name)
    try:
        await running.wait_ready()
        await stock(running)
        yield running
    finally:
        running.stop()
