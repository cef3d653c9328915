"""Sessions' side of care-team access (docs/contracts.md): the course's team starts with the screening's, grows as
the team in the room is named and as alerts are answered, and every read of the course record is checked and logged.
"""

from __future__ import annotations

import uuid

from clinicflow.sessions.dosing_session import Team
from clinicflow.sessions.unit_of_work import UnitOfWork
from clinicflow.shared import catalogue
from clinicflow.shared.auth import Staff
from clinicflow.shared.care_team import AccessRequest, bring_onto_team
from clinicflow.shared.care_team import open_record as open_care_record


async def join_from_screening(uow: UnitOfWork, pathway_id: uuid.UUID, screening: catalogue.ScreeningCompleted
                              ) -> None:
    """The signed-off screening's care team, and the signing doctor, are the course's first team."""
    for staff_id, role in {**screening.care_team, screening.signed_by: "doctor"}.items():
        await uow.care_team.add(pathway_id=pathway_id, staff_id=staff_id, role=role, source="screening_sign_off",
                                added_by=screening.signed_by, at=uow.events.now)


async def open_record(uow: UnitOfWork, pathway_id: uuid.UUID, *, staff_id: str, request: AccessRequest) -> None:
    """Let ``staff_id`` open the client's course record (on the care team, or breaking the glass) and log it."""
    await open_care_record(uow.care_team, uow.events, pathway_id=pathway_id, staff_id=staff_id, resource="course",
                           request=request, told=catalogue.CourseRecordBreakGlass)


async def join_named_team(uow: UnitOfWork, session_id: uuid.UUID, team: Team, *, by: Staff) -> None:
    """The people named in the room for a session join the client's care team; whoever names them must be on it
    (or be the clinical lead), so naming a team is not a way onto it."""
    session = await uow.sessions.session(session_id=session_id)
    for staff_id, role in ((team.supervising_doctor, "doctor"), (team.monitoring_nurse, "nurse"),
                           (team.therapist, "therapist")):
        await bring_onto_team(uow.care_team, pathway_id=session.pathway_id, staff_id=staff_id, role=role, by=by,
                              at=uow.events.now)


async def join_on_acknowledging(uow: UnitOfWork, pathway_id: uuid.UUID, staff_id: str) -> None:
    """Whoever acknowledged one of sessions' alerts about this client joins the team: they have to look."""
    await uow.care_team.add(pathway_id=pathway_id, staff_id=staff_id, role="on_call", source="alert_acknowledged",
                            added_by=staff_id, at=uow.events.now)
