"""The event envelope every clinicflow message travels in (CloudEvents 1.0, structured JSON mode).

The envelope is what the bus, the outbox and the inbox understand; the typed payload lives in ``data`` and is
described per event type in :mod:`clinicflow.shared.catalogue`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Envelope(BaseModel):
    """One event on the bus: who said what about which pathway, when, and in answer to what."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    specversion: Literal["1.0"] = Field("1.0", description="CloudEvents specification version.")
    id: uuid.UUID = Field(description="Unique event id; consumers deduplicate on it.")
    type: str = Field(description="Event type, e.g. `enquiry.received`; consumers route on it.")
    source: str = Field(description="The producing service, e.g. `clinicflow/intake`.")
    time: AwareDatetime = Field(description="When the fact happened (UTC).")
    subject: uuid.UUID = Field(
        description="The pathway id: the one opaque id that follows a client through the clinic (a register event: "
                    "the register page's id).")
    schema_version: int = Field(
        SCHEMA_VERSION, alias="schemaversion", description="Payload schema version (the topic's `.vN`)."
    )
    correlation_id: uuid.UUID = Field(
        alias="correlationid", description="Id shared by every event caused by the same original request."
    )
    causation_id: uuid.UUID | None = Field(
        None, alias="causationid", description="Id of the event that directly caused this one, if any."
    )
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any] = Field(description="The event's payload; its model is in the catalogue.")

    def to_bytes(self) -> bytes:
        """Serialise with the CloudEvents attribute names."""
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        """Parse a message body; raises ``pydantic.ValidationError`` when it is not an envelope."""
        return cls.model_validate_json(raw)


def new_envelope(
    *,
    type: str,
    source: str,
    subject: uuid.UUID,
    data: BaseModel,
    time: datetime,
    cause: Envelope | None = None,
    correlation_id: uuid.UUID | None = None,
) -> Envelope:
    """Build an envelope for a new event; when it answers ``cause``, it inherits its correlation id."""
    event_id = uuid.uuid4()
    if cause is not None:
        correlation_id = cause.correlation_id
    return Envelope(
        id=event_id,
        type=type,
        source=source,
        time=time,
        subject=subject,
        correlation_id=correlation_id or event_id,
        causation_id=cause.id if cause else None,
        data=data.model_dump(mode="json"),
    )
