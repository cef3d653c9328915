"""Care-team access to a client's clinical record (docs/contracts.md, least privilege).

A member of staff opens a client's clinical record only when on that client's care team, or by breaking the glass
with a written reason, which is recorded and told to the clinical lead. Every read is audited with its purpose,
chosen from a fixed list and never assumed. Members join as the pathway goes: the clinician booked for the
assessment, colleagues a team member adds, the doctor who signs the screening off, the people named for a dosing
session, and whoever acknowledges a safety alert about the client (the on-call doctor who then has to look).

Screening and sessions, the services that hold clinical records, each keep their own team table and read log
(``care_team_migrations``) and call :func:`open_record` before answering a read.

No ``from __future__ import annotations`` here: FastAPI resolves the routes' local aliases at runtime.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from clinicflow.shared.auth import Staff, require_roles
from clinicflow.shared.catalogue import Payload
from clinicflow.shared.database import Migration, migrations_in
from clinicflow.shared.errors import NotPermitted
from clinicflow.shared.outbox import EventWriter

Purpose = Literal["direct_care", "care_planning", "safeguarding", "clinical_audit", "break_glass"]
TeamRole = Literal["doctor", "clinician", "nurse", "therapist"]
MINIMUM_REASON_CHARACTERS = 15  # a sentence, not "x" or "urgent"
NOT_ON_CARE_TEAM = "you are not on this client's care team"  # how a refusal begins (the portal recognises it)
TELL_LEAD_AGAIN_AFTER = timedelta(hours=12)  # about a shift: one break is one message, however many pages it opens


@dataclass(frozen=True)
class AccessRequest:
    """Why a record is being opened, as the request states it."""

    purpose: Purpose
    break_glass_reason: str | None = None


def access_request(
    x_access_purpose: Annotated[Purpose, Header(description="Why the record is opened (a fixed list, never "
                                                            "assumed); it goes to the read log.")],
    x_break_glass_reason: Annotated[str | None, Header(max_length=500, description=(
        "With purpose break_glass: why this person, not on the client's care team, must open the record now. "
        "Recorded, and told to the clinical lead."))] = None,
) -> AccessRequest:
    """A route dependency: the request's stated purpose (and break-glass reason), checked before any work."""
    if x_access_purpose == "break_glass":
        reason = (x_break_glass_reason or "").strip()
        if len(reason) < MINIMUM_REASON_CHARACTERS:
            raise HTTPException(422, [{
                "loc": ["header", "x-break-glass-reason"], "type": "break_glass_reason_missing",
                "msg": f"breaking the glass needs a reason of at least {MINIMUM_REASON_CHARACTERS} characters"}])
        return AccessRequest(x_access_purpose, reason)
    return AccessRequest(x_access_purpose)


class NotOnCareTeam(NotPermitted):
    """The person is not on this client's care team and did not break the glass. The refused attempt is logged
    (``keeps_work``), so the read log shows who tried as well as who read."""

    keeps_work = True

    def __init__(self) -> None:
        super().__init__(f"{NOT_ON_CARE_TEAM}: ask a member of the team to add you, or break the glass "
                         "(X-Access-Purpose: break_glass with X-Break-Glass-Reason), which the clinical lead is "
                         "told about")


def how_granted(staff_id: str, team: frozenset[str], request: AccessRequest) -> Literal["care_team", "break_glass"]:
    """On what ground ``staff_id`` may open the record; raises :class:`NotOnCareTeam` when on none.

    A team member who states break_glass is simply on the team: the glass is for those who are not."""
    if staff_id in team:
        return "care_team"
    if request.purpose == "break_glass":
        return "break_glass"
    raise NotOnCareTeam()


class CareTeamMemberIn(BaseModel):
    """A colleague to bring onto the client's care team."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    staff_id: str = Field(min_length=1, max_length=100, description="Their staff id (the directory's).")
    role: TeamRole = Field(description="What they do for this client.")


class CareTeamMemberOut(BaseModel):
    """One member of the client's care team."""

    staff_id: str
    role: str


@dataclass(frozen=True)
class BreakGlassRead:
    """A read of a record by someone not on the client's care team, with the reason they gave."""

    id: int
    pathway_id: uuid.UUID
    staff_id: str
    resource: str
    reason: str
    read_at: datetime


class BreakGlassOut(BaseModel):
    """A break-glass read, for the clinical lead's review."""

    read_id: int
    pathway_id: uuid.UUID
    staff_id: str
    resource: str
    reason: str
    read_at: datetime

    @classmethod
    def of(cls, read: BreakGlassRead) -> "BreakGlassOut":
        """The API view of a read."""
        return cls(read_id=read.id, pathway_id=read.pathway_id, staff_id=read.staff_id, resource=read.resource,
                   reason=read.reason, read_at=read.read_at)


class CareTeamRepository:
    """Explicit SQL over ``care_team`` and ``clinical_reads`` in the service's schema."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def members(self, *, pathway_id: uuid.UUID) -> dict[str, str]:
        """Staff id → role of everyone on the client's care team."""
        rows = await self._conn.fetch("SELECT staff_id, role FROM care_team WHERE pathway_id = $1 ORDER BY added_at",
                                      pathway_id)
        return {r["staff_id"]: r["role"] for r in rows}

    async def add(self, *, pathway_id: uuid.UUID, staff_id: str, role: str, source: str, added_by: str,
                  at: datetime) -> bool:
        """Put someone on the team (once); returns whether they were new to it."""
        added = await self._conn.fetchval(
            "INSERT INTO care_team (pathway_id, staff_id, role, source, added_by, added_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
            pathway_id, staff_id, role, source, added_by, at)
        return bool(added)

    async def record_read(self, *, pathway_id: uuid.UUID, staff_id: str, resource: str, request: AccessRequest,
                          ground: str, at: datetime) -> int:
        """Log one read; returns its id."""
        return await self._conn.fetchval(
            "INSERT INTO clinical_reads (pathway_id, staff_id, resource, purpose, ground, break_glass_reason, "
            "read_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            pathway_id, staff_id, resource, request.purpose, ground, request.break_glass_reason, at)

    async def broke_glass_since(self, *, pathway_id: uuid.UUID, staff_id: str, resource: str, since: datetime
                                ) -> bool:
        """Whether this person already broke the glass on this record since ``since``."""
        return bool(await self._conn.fetchval(
            "SELECT true FROM clinical_reads WHERE ground = 'break_glass' AND pathway_id = $1 AND staff_id = $2 "
            "AND resource = $3 AND read_at >= $4 LIMIT 1", pathway_id, staff_id, resource, since))

    async def break_glass_reads(self, *, limit: int, offset: int) -> list[BreakGlassRead]:
        """The latest break-glass reads, newest first, for the clinical lead's review."""
        rows = await self._conn.fetch(
            "SELECT id, pathway_id, staff_id, resource, break_glass_reason, read_at FROM clinical_reads "
            "WHERE ground = 'break_glass' ORDER BY read_at DESC, id DESC LIMIT $1 OFFSET $2", limit, offset)
        return [BreakGlassRead(r["id"], r["pathway_id"], r["staff_id"], r["resource"], r["break_glass_reason"],
                               r["read_at"]) for r in rows]


async def open_record(team: CareTeamRepository, events: EventWriter, *, pathway_id: uuid.UUID, staff_id: str,
                      resource: str, request: AccessRequest, told: type[Payload]) -> None:
    """Let ``staff_id`` open the client's ``resource`` or refuse (403); log the read, and for a break-glass read
    emit ``told`` (a break-glass event type) in the same transaction: once per person and record within
    :data:`TELL_LEAD_AGAIN_AFTER`, so the lead hears of each break, not of every page it was read on."""
    members = await team.members(pathway_id=pathway_id)
    try:
        ground = how_granted(staff_id, frozenset(members), request)
    except NotOnCareTeam:
        await team.record_read(pathway_id=pathway_id, staff_id=staff_id, resource=resource, request=request,
                               ground="refused", at=events.now)
        raise
    told_already = ground == "break_glass" and await team.broke_glass_since(
        pathway_id=pathway_id, staff_id=staff_id, resource=resource, since=events.now - TELL_LEAD_AGAIN_AFTER)
    read_id = await team.record_read(pathway_id=pathway_id, staff_id=staff_id, resource=resource, request=request,
                                     ground=ground, at=events.now)
    if ground == "break_glass" and not told_already:
        await events.emit(pathway_id, told(read_id=read_id, staff_id=staff_id, resource=resource, read_at=events.now))


async def bring_onto_team(team: CareTeamRepository, *, pathway_id: uuid.UUID, staff_id: str, role: TeamRole,
                          by: Staff, at: datetime) -> bool:
    """``by``, on the client's care team (or the clinical lead, who oversees every team), adds a colleague; returns
    whether they were new to it. Anyone else is refused: joining a team is how a record opens."""
    if by.id not in await team.members(pathway_id=pathway_id) and "clinical_lead" not in by.roles:
        raise NotOnCareTeam()
    return await team.add(pathway_id=pathway_id, staff_id=staff_id, role=role, source="added_by_colleague",
                          added_by=by.id, at=at)


def care_team_routes(uow: Any, *, record_exists: Callable[[Any, uuid.UUID], Awaitable[object]], record: str
                     ) -> APIRouter:
    """The care-team routes of a service holding clinical records: who is on a client's team, bringing a colleague
    onto it, and the clinical lead's review of break-glass reads. ``uow`` is the service's unit-of-work dependency
    (with a ``care_team`` repository); ``record_exists`` raises NotFound for a pathway the service has no record of."""
    router = APIRouter(tags=["care team"])

    @router.get("/pathways/{pathway_id}/care-team", response_model=list[CareTeamMemberOut])
    async def get_care_team(pathway_id: uuid.UUID, _staff: Annotated[Staff, Depends(CARE_ROLES)], work: uow
                            ) -> list[CareTeamMemberOut]:
        """Who is on the client's care team (staff ids and roles: no clinical data)."""
        await record_exists(work, pathway_id)
        members = await work.care_team.members(pathway_id=pathway_id)
        return [CareTeamMemberOut(staff_id=s, role=r) for s, r in members.items()]

    @router.post("/pathways/{pathway_id}/care-team", status_code=204)
    async def post_care_team(pathway_id: uuid.UUID, body: CareTeamMemberIn,
                             staff: Annotated[Staff, Depends(CARE_ROLES)], work: uow) -> None:
        """A member of the client's care team (or the clinical lead) brings a colleague onto it."""
        await record_exists(work, pathway_id)
        await bring_onto_team(work.care_team, pathway_id=pathway_id, staff_id=body.staff_id, role=body.role,
                              by=staff, at=work.events.now)

    @router.get("/break-glass", response_model=list[BreakGlassOut], description=(
        f"{record.capitalize()} records opened by someone not on the client's care team, newest first, with the "
        "reasons they gave (the clinical lead's review)."))
    async def get_break_glass(
        _staff: Annotated[Staff, Depends(LEAD)], work: uow,
        limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> list[BreakGlassOut]:
        return [BreakGlassOut.of(r) for r in await work.care_team.break_glass_reads(limit=limit, offset=offset)]

    return router


CARE_ROLES = require_roles("clinician", "doctor", "nurse", "therapist", "clinical_lead")
LEAD = require_roles("clinical_lead")


def care_team_migrations() -> list[Migration]:
    """The team table and read log, for a service that holds clinical records."""
    return migrations_in("care_team", resources.files("clinicflow.shared") / "care_team_migrations")
