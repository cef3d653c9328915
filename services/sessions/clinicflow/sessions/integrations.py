"""Integration use cases (docs/clinical-rules.md §5): due and overdue notices, what the therapist recorded, and a
risk they flag, which holds the next dose until a doctor reviews it."""

from __future__ import annotations

import uuid

from clinicflow.sessions.acts import Act
from clinicflow.sessions.courses import complete_course_if_done
from clinicflow.sessions.integration import Integration, IntegrationOutcome
from clinicflow.sessions.safety import RiskFinding
from clinicflow.sessions.unit_of_work import UnitOfWork
from clinicflow.shared import catalogue

INTEGRATION_RISK = "integration_risk"


async def complete_integration(uow: UnitOfWork, integration_id: uuid.UUID, outcome: IntegrationOutcome, *,
                               therapist_id: str) -> Integration:
    """The therapist recorded the integration session → `integration.completed`; a risk flag also holds the next
    dose and is urgent for the doctor (`integration.risk.flagged`); may complete the course."""
    integration = await uow.sessions.integration(integration_id=integration_id, for_update=True)
    integration = integration.complete(outcome, therapist_id=therapist_id, now=uow.events.now, rules=uow.rules)
    await uow.sessions.save_integration(integration=integration)
    await uow.events.emit(integration.pathway_id, catalogue.IntegrationCompleted(
        integration_id=integration.id, session_id=integration.session_id, completed_by=therapist_id,
        did_not_attend=not outcome.attended, concerns=list(outcome.concerns), risk_flag=outcome.risk_flag,
    ))
    if outcome.risk_flag:
        alert_id = uuid.uuid4()
        await uow.sessions.add_risk_finding(event_id=alert_id, pathway_id=integration.pathway_id,
                                            finding=RiskFinding(uow.events.now, None, INTEGRATION_RISK))
        await uow.events.emit(integration.pathway_id, catalogue.IntegrationRiskFlagged(
            alert_id=alert_id, integration_id=integration.id, course_id=integration.course_id,
            concerns=list(outcome.concerns), severity="urgent", flagged_by=therapist_id,
        ))
    await complete_course_if_done(uow, integration.course_id)
    return integration


async def review_integration_risk(uow: UnitOfWork, integration_id: uuid.UUID, level: str, *, doctor_id: str
                                  ) -> Integration:
    """A doctor reviewed the risk flagged at integration: low or moderate releases the hold, high keeps it."""
    integration = await uow.sessions.integration(integration_id=integration_id, for_update=True)
    integration = integration.review_risk(level, act=Act(doctor_id, uow.events.now, uow.events.now))
    await uow.sessions.save_integration(integration=integration)
    await uow.sessions.add_risk_finding(event_id=uuid.uuid4(), pathway_id=integration.pathway_id,
                                        finding=RiskFinding(uow.events.now, level))
    return integration


async def announce_due(uow: UnitOfWork, integrations: list[Integration]) -> None:
    """`integration.due` for each, remembered so it goes out once."""
    for i in integrations:
        await uow.events.emit(i.pathway_id, catalogue.IntegrationDue(
            integration_id=i.id, session_id=i.session_id, due_by=i.due_by))
    await uow.sessions.mark_due_published(ids=[i.id for i in integrations], at=uow.events.now)


async def publish_due_integrations(uow: UnitOfWork, *, limit: int = 100) -> int:
    """Scheduler tick: `integration.due` for each window opened (and not yet announced, completed or cancelled),
    `integration.overdue` for each passed; each once."""
    due = await uow.sessions.claim_due(now=uow.events.now, limit=limit)
    await announce_due(uow, due)
    overdue = await uow.sessions.claim_overdue(now=uow.events.now, limit=limit)
    for i in overdue:
        await uow.events.emit(i.pathway_id, catalogue.IntegrationOverdue(
            integration_id=i.id, session_id=i.session_id, overdue_since=i.due_by))
    await uow.sessions.mark_overdue_published(ids=[i.id for i in overdue], at=uow.events.now)
    return len(due) + len(overdue)
