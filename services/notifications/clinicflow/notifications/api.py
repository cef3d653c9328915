"""Notifications' HTTP routes: the staff inbox, acknowledgement (in the inbox or by one-time link), open alerts and
the on-call rota.

No ``from __future__ import annotations`` here: FastAPI resolves the route signatures' local aliases at runtime.
"""

import html
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clinicflow.notifications import service
from clinicflow.notifications.domain import Shift
from clinicflow.notifications.repository import NotificationsRepository
from clinicflow.shared.auth import ROLES, Staff, require_roles
from clinicflow.shared.errors import DomainError
from clinicflow.shared.runtime import transactional

ANY_STAFF = require_roles(*ROLES)
ALERT_WATCHERS = require_roles("doctor", "nurse", "clinical_lead", "admin")
ROTA_KEEPERS = require_roles("admin", "clinical_lead")
Role = Literal["contact_centre", "clinician", "doctor", "nurse", "therapist", "clinical_lead", "admin"]
Token = Annotated[str, Path(max_length=200, pattern=r"^[0-9a-f]{32}\.[0-9]{1,12}\.[0-9a-f]{32}$")]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class InboxItem(_Out):
    item_id: uuid.UUID
    priority: str
    title: str
    body: str
    link: str
    pathway_id: uuid.UUID
    event_type: str
    alert_id: uuid.UUID | None
    created_at: datetime
    acknowledged_at: datetime | None


class Alert(_Out):
    alert_id: uuid.UUID
    pathway_id: uuid.UUID
    event_type: str
    status: str
    level: int
    current_recipient: str
    escalate_at: datetime | None
    acknowledged_by: str | None
    created_at: datetime


class ShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    staff_id: str = Field(min_length=1, max_length=100)
    position: int = Field(1, ge=1, le=20, description="Fallback order among overlapping shifts: 1 is called first.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(None, description="Open-ended when absent.")


class ShiftOut(_Out):
    shift_id: uuid.UUID
    role: str
    staff_id: str
    position: int
    starts_at: datetime
    ends_at: datetime | None
    created_by: str

    @classmethod
    def of(cls, s: Shift) -> "ShiftOut":
        return cls(shift_id=s.id, role=s.role, staff_id=s.staff_id, position=s.position, starts_at=s.starts_at,
                   ends_at=s.ends_at, created_by=s.created_by)


class OnCallOut(_Out):
    role: str
    chain: list[str] = Field(description="Who an urgent alert goes to now, in order; the clinical lead last.")


def build_router(config: service.Config) -> APIRouter:
    """Notifications' routes."""
    router = APIRouter(tags=["notifications"])

    UoW = Annotated[service.UnitOfWork, transactional(
        lambda conn, events: service.UnitOfWork(NotificationsRepository(conn), events, config),
        source=service.SOURCE)]

    @router.get("/inbox", response_model=list[InboxItem])
    async def get_inbox(
        staff: Annotated[Staff, Depends(ANY_STAFF)], uow: UoW,
        include_acknowledged: Annotated[bool, Query()] = False,
    ) -> list[InboxItem]:
        """The caller's inbox, urgent first."""
        entries = await uow.notifications.inbox(recipient_id=staff.id, include_acknowledged=include_acknowledged)
        return [InboxItem(item_id=e.id, **{k: getattr(e, k) for k in InboxItem.model_fields if k != "item_id"})
                for e in entries]

    @router.post("/inbox/{item_id}/ack", status_code=204)
    async def post_ack(item_id: uuid.UUID, staff: Annotated[Staff, Depends(ANY_STAFF)], uow: UoW) -> None:
        """Acknowledge an item; for an urgent alert this stops its escalation."""
        await service.acknowledge(uow, item_id, staff=staff)

    @router.get("/ack/{token}", response_class=HTMLResponse)
    async def get_ack_link(token: Token) -> HTMLResponse:
        """The page an acknowledgement link opens: a button to confirm. Opening it changes nothing, because chat
        apps fetch links to preview them."""
        return _page("Acknowledge this urgent alert?",
                     f'<form method="post" action="/ack/{html.escape(token)}">'
                     '<button type="submit">Acknowledge: I am dealing with it</button></form>')

    @router.post("/ack/{token}", response_class=HTMLResponse, responses={
        409: {"description": "The link was already used.", "content": {"text/html": {"schema": {"type": "string"}}}},
        410: {"description": "The link is not valid, has expired, or links are off.",
              "content": {"text/html": {"schema": {"type": "string"}}}}})
    async def post_ack_link(token: Token, uow: UoW) -> HTMLResponse:
        """Acknowledge the alert the link was sent for, as the person it was sent to (the link works once)."""
        try:
            await service.acknowledge_by_link(uow, token)
        except DomainError as refused:
            return _page("Not acknowledged", f"<p>{html.escape(str(refused))}.</p>", status=refused.status_code)
        return _page("Acknowledged", "<p>Thank you. The alert's escalation has stopped.</p>")

    @router.get("/alerts", response_model=list[Alert])
    async def get_alerts(
        _staff: Annotated[Staff, Depends(ALERT_WATCHERS)], uow: UoW,
        status: Annotated[Literal["open", "acknowledged"] | None, Query()] = None,
    ) -> list[Alert]:
        """Urgent alerts and where their escalation stands."""
        return [Alert(**{k: getattr(a, k) for k in Alert.model_fields})
                for a in await uow.notifications.alerts(status=status)]

    @router.get("/on-call/{role}", response_model=OnCallOut)
    async def get_on_call(role: Role, _staff: Annotated[Staff, Depends(ANY_STAFF)], uow: UoW) -> OnCallOut:
        """Who an urgent alert for ``role`` goes to right now, in escalation order."""
        return OnCallOut(role=role, chain=list(await service.on_call_now(uow, role)))

    @router.get("/rota", response_model=list[ShiftOut])
    async def get_rota(
        _staff: Annotated[Staff, Depends(ANY_STAFF)], uow: UoW,
        role: Annotated[Role | None, Query()] = None,
        days: Annotated[int, Query(ge=1, le=62)] = 14,
    ) -> list[ShiftOut]:
        """Shifts from now over the next ``days`` days."""
        now = uow.events.now
        shifts = await uow.notifications.shifts(role=role, start=now, end=now + timedelta(days=days))
        return [ShiftOut.of(s) for s in shifts]

    @router.post("/rota", status_code=201, response_model=ShiftOut)
    async def post_shift(body: ShiftIn, staff: Annotated[Staff, Depends(ROTA_KEEPERS)], uow: UoW) -> ShiftOut:
        """Put someone on call; effective at once, no restart."""
        request = service.ShiftRequest(role=body.role, staff_id=body.staff_id, position=body.position,
                                       starts_at=body.starts_at, ends_at=body.ends_at)
        return ShiftOut.of(await service.add_shift(uow, request, by=staff.id))

    @router.delete("/rota/{shift_id}", status_code=204)
    async def delete_shift(shift_id: uuid.UUID, staff: Annotated[Staff, Depends(ROTA_KEEPERS)], uow: UoW) -> None:
        """Take a shift off the rota (kept for the record)."""
        await service.remove_shift(uow, shift_id, by=staff.id)

    return router


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width"><title>{html.escape(title)}</title></head>'
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>", status_code=status)
