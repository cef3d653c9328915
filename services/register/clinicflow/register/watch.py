"""The wastage watch: a loop in every instance that raises, once each, the doses whose opened remainder was not
recorded as wasted within the shift. Discrepancies are inserted with ``ON CONFLICT DO NOTHING`` in the same
transaction as their event, so however many instances look, each is told once."""

from __future__ import annotations

from clinicflow.register.repository import RegisterRepository
from clinicflow.register.rules import RegisterRules
from clinicflow.register.service import SOURCE, UnitOfWork, report_unwasted
from clinicflow.shared.runtime import every_pass


def wastage_watch(rules: RegisterRules, *, poll_seconds: float):  # noqa: ANN201 - a background starter
    """A background task for the runtime: look until cancelled, never dying."""
    return every_pass("wastage-watch", lambda conn, events: report_unwasted(
        UnitOfWork(RegisterRepository(conn), events, rules)), source=SOURCE, idle_seconds=poll_seconds)
