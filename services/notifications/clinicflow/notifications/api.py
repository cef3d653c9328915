"""Notifications' HTTP routes: the staff inbox, acknowledgement, and open alerts.

No ``from __future__ import annotations`` here: FastAPI resolves the route signatures' local aliases at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from clinicflow.notifications import service
from clinicflow.notifications.repository import NotificationsRepository
from clinicflow.shared.auth import ROLES, Staff, require_roles
from clinicflow.shared.runtime import transactional

ANY_STAFF = require_roles(*ROLES)
ALERT_WATCHERS = require_roles("doctor", "nurse", "clinical_lead", "admin")


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


def build_router(config: service.Config) -> APIRouter:
    """Notifications' routes."""
    router = APIRouter(tags=["notifications"])

    UoW = Annotated[service.UnitOfWork, transactional(
        lambda conn, events: service.UnitOfWork(NotificationsRepository(conn), events, config),
        source=service.SOURCE)]

    @router.get("/inbox", response_model=list[InboxItem])
    async def get_inbox(
        uow: UoW, staff: Annotated[Staff, Depends(ANY_STAFF)],
        include_acknowledged: Annotated[bool, Query()] = False,
    ) -> list[InboxItem]:
        """The caller's inbox, urgent first."""
        rows = await uow.notifications.inbox(recipient_id=staff.id, include_acknowledged=include_acknowledged)
        return [InboxItem(item_id=r["id"], **{k: r[k] for k in InboxItem.model_fields if k != "item_id"})
                for r in rows]

    @router.post("/inbox/{item_id}/ack", status_code=204)
    async def post_ack(item_id: uuid.UUID, uow: UoW, staff: Annotated[Staff, Depends(ANY_STAFF)]) -> None:
        """Acknowledge an item; for an urgent alert this stops its escalation."""
        await service.acknowledge(uow, item_id, staff=staff)

    @router.get("/alerts", response_model=list[Alert])
    async def get_alerts(
        uow: UoW, _staff: Annotated[Staff, Depends(ALERT_WATCHERS)],
        status: Annotated[Literal["open", "acknowledged"] | None, Query()] = None,
    ) -> list[Alert]:
        """Urgent alerts and where their escalation stands."""
        return [Alert(**{k: r[k] for k in Alert.model_fields}) for r in await uow.notifications.alerts(status=status)]

    return router
