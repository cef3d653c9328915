"""What ops rely on without I/O: which failures are retried rather than parked, and alert rules that name real
metrics with the thresholds the docs promise."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest
import yaml

from clinicflow.shared.metrics import Metrics
from clinicflow.shared.retry import is_perhaps_transient, is_transient

ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "monitoring" / "alerts.yml"


@pytest.mark.parametrize("error", [
    asyncpg.ConnectionDoesNotExistError,  # 08003: connection lost
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.QueryCanceledError,  # 57014: statement timeout or cancelled
    asyncpg.SerializationError,  # 40001
    asyncpg.DeadlockDetectedError,  # 40P01
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.exceptions.DiskFullError,  # 53100
    asyncpg.exceptions.LockNotAvailableError,  # 55P03: lock timeout
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # 25006: a managed database failing over
    asyncpg.exceptions.PostgresIOError,  # 58030
])
def test_a_failure_of_the_database_not_of_the_work_is_transient(error):
    assert is_transient(error("x"))


@pytest.mark.parametrize("error", [
    asyncpg.UniqueViolationError,  # 23505: a defect in the handler
    asyncpg.NotNullViolationError,  # 23502
    asyncpg.UndefinedTableError,  # 42P01: a missing migration
    asyncpg.exceptions.InvalidTextRepresentationError,  # 22P02: bad input reached SQL
    asyncpg.exceptions.ObjectInUseError,  # 55006: same class as a lock timeout, not transient
    asyncpg.exceptions.InvalidTransactionStateError,  # 25000: same class as read-only, a defect
])
def test_a_failure_that_retrying_cannot_fix_is_not_transient(error):
    assert not is_transient(error("x"))


def test_asyncpgs_catch_all_is_perhaps_transient_and_nothing_else_is():
    assert is_perhaps_transient(asyncpg.InternalClientError("cannot switch to state 15"))
    assert not is_transient(asyncpg.InternalClientError("x"))
    assert not is_perhaps_transient(KeyError("x")) and not is_perhaps_transient(asyncpg.UniqueViolationError("x"))


def test_failures_below_sql_are_transient_and_defects_are_not():
    assert is_transient(OSError("connection refused")) and is_transient(TimeoutError())
    assert not is_transient(KeyError("x")) and not is_transient(ValueError("x"))


def _exposed_names() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        names |= {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
    return names


def test_every_alert_rule_names_metrics_the_services_expose():
    rules = [r for group in yaml.safe_load(ALERTS.read_text())["groups"] for r in group["rules"]]
    assert {r["alert"] for r in rules} >= {"ClinicflowDeadLettersGrowing", "ClinicflowOutboxStuck"}
    for rule in rules:
        used = set(re.findall(r"\bclinicflow_[a-z_]+", rule["expr"]))
        assert used and used <= _exposed_names(), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"} and rule["annotations"]["runbook"]


def test_an_outbox_event_older_than_a_minute_pages():
    [stuck] = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]
               if r["alert"] == "ClinicflowOutboxStuck"]
    assert stuck["expr"].endswith("> 60") and "for" not in stuck
