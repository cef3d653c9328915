"""Intake's HTTP routes: the public web-form gateway and the contact centre's workflow (docs/contracts.md).

No ``from __future__ import annotations`` here: FastAPI resolves the route signatures' local aliases at runtime.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clinicflow.intake import service
from clinicflow.intake.domain import CallbackPolicy, Enquiry, Funding
from clinicflow.intake.encryption import FieldCipher
from clinicflow.intake.repository import EnquiryRepository
from clinicflow.intake.submission import EnquirySubmission
from clinicflow.shared.auth import Staff, require_roles
from clinicflow.shared.catalogue import CallbackOutcome, CloseReason, FundingRoute
from clinicflow.shared.runtime import transactional

CONTACT_CENTRE = require_roles("contact_centre", "clinician")
ADMIN = require_roles("admin")
Purpose = Literal["contact_centre_workflow", "assessment", "clinical_review", "data_subject_request", "safeguarding"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnquiryCreated(_Strict):
    enquiry_id: uuid.UUID


class EnquirySummary(_Strict):
    """An enquiry's coded state: what the work list shows (no identifiers)."""

    enquiry_id: uuid.UUID
    status: str
    channel: str
    concerns: list[str]
    age_band: str
    preferred_contact_window: str
    received_at: datetime
    callback_attempts: int
    next_attempt_due: datetime | None
    funding_route: str | None
    assessment_at: datetime | None
    clinician_id: str | None
    closed_reason: str | None
    erased: bool

    @classmethod
    def of(cls, enquiry: Enquiry) -> "EnquirySummary":
        return cls(
            enquiry_id=enquiry.id, status=enquiry.status.value, channel=enquiry.channel,
            concerns=list(enquiry.concerns), age_band=enquiry.age_band,
            preferred_contact_window=enquiry.preferred_contact_window, received_at=enquiry.received_at,
            callback_attempts=enquiry.callback_attempts, next_attempt_due=enquiry.next_attempt_due,
            funding_route=enquiry.funding_route, assessment_at=enquiry.assessment_at,
            clinician_id=enquiry.clinician_id, closed_reason=enquiry.closed_reason,
            erased=enquiry.erased_at is not None,
        )


class PersonalDetailsOut(_Strict):
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    date_of_birth: date
    story: str | None


class EnquiryDetails(_Strict):
    """An enquiry with the person's details (every read is audited)."""

    enquiry: EnquirySummary
    person: PersonalDetailsOut


class CallbackIn(_Strict):
    outcome: CallbackOutcome


class FundingIn(_Strict):
    route: FundingRoute
    authorisation_reference: str | None = Field(None, min_length=1, max_length=100)


class AssessmentIn(_Strict):
    assessment_at: AwareDatetime
    clinician_id: str = Field(min_length=1, max_length=100)
    funding: FundingIn


class CloseIn(_Strict):
    reason: CloseReason


def build_router(cipher: FieldCipher, policy: CallbackPolicy) -> APIRouter:
    """Intake's routes, bound to its field cipher and call-back policy."""
    router = APIRouter(tags=["enquiries"])

    UoW = Annotated[service.UnitOfWork, transactional(
        lambda conn, events: service.UnitOfWork(EnquiryRepository(conn, cipher), events), source=service.SOURCE)]

    @router.post("/enquiries", status_code=status.HTTP_201_CREATED, response_model=EnquiryCreated)
    async def post_enquiry(
        form: EnquirySubmission, uow: UoW, response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> EnquiryCreated:
        """Public web-form gateway: one enquiry per submission (repeat the Idempotency-Key to retry safely)."""
        result = await service.submit_enquiry(
            uow, form, submission_key=f"http:{idempotency_key}" if idempotency_key else None
        )
        if not result.created:
            response.headers["Idempotent-Replayed"] = "true"
        return EnquiryCreated(enquiry_id=result.enquiry_id)

    @router.get("/enquiries", response_model=list[EnquirySummary])
    async def list_enquiries(
        _staff: Annotated[Staff, Depends(CONTACT_CENTRE)], uow: UoW,
        status_: Annotated[Literal["new", "in_progress", "booked", "closed"] | None, Query(alias="status")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> list[EnquirySummary]:
        """The work list, oldest first (coded facts only: open one enquiry to see who it is)."""
        return [EnquirySummary.of(e) for e in await uow.enquiries.worklist(status=status_, limit=limit, offset=offset)]

    @router.get("/enquiries/{enquiry_id}", response_model=EnquiryDetails)
    async def get_enquiry(
        enquiry_id: uuid.UUID, staff: Annotated[Staff, Depends(CONTACT_CENTRE)], uow: UoW,
        x_access_purpose: Annotated[Purpose, Header(description="Why the details are read (one of a fixed list, "
                                                                "no default): it goes to the audit trail.")],
    ) -> EnquiryDetails:
        """One enquiry with the person's details; the read is written to the audit trail with its purpose."""
        person = await service.read_details(uow, enquiry_id, staff_id=staff.id, purpose=x_access_purpose)
        enquiry = await uow.enquiries.get(enquiry_id=enquiry_id)
        return EnquiryDetails(enquiry=EnquirySummary.of(enquiry), person=PersonalDetailsOut(**person.__dict__))

    @router.post("/enquiries/{enquiry_id}/callbacks", status_code=201, response_model=EnquirySummary)
    async def post_callback(
        enquiry_id: uuid.UUID, body: CallbackIn, staff: Annotated[Staff, Depends(CONTACT_CENTRE)], uow: UoW
    ) -> EnquirySummary:
        """Log a call-back attempt and its outcome."""
        enquiry = await service.log_callback(uow, enquiry_id, outcome=body.outcome, staff_id=staff.id, policy=policy)
        return EnquirySummary.of(enquiry)

    @router.post("/enquiries/{enquiry_id}/assessment", response_model=EnquirySummary)
    async def post_assessment(
        enquiry_id: uuid.UUID, body: AssessmentIn, _staff: Annotated[Staff, Depends(CONTACT_CENTRE)], uow: UoW
    ) -> EnquirySummary:
        """Book the intake assessment, settling the funding route."""
        booking = service.Booking(
            assessment_at=body.assessment_at, clinician_id=body.clinician_id,
            funding=Funding(body.funding.route, body.funding.authorisation_reference),
        )
        return EnquirySummary.of(await service.book_assessment(uow, enquiry_id, booking))

    @router.post("/enquiries/{enquiry_id}/close", response_model=EnquirySummary)
    async def post_close(
        enquiry_id: uuid.UUID, body: CloseIn, _staff: Annotated[Staff, Depends(CONTACT_CENTRE)], uow: UoW
    ) -> EnquirySummary:
        """Close the enquiry with a reason."""
        return EnquirySummary.of(await service.close_enquiry(uow, enquiry_id, reason=body.reason, policy=policy))

    @router.delete("/enquiries/{enquiry_id}/personal-data", status_code=204)
    async def delete_personal_data(
        enquiry_id: uuid.UUID, staff: Annotated[Staff, Depends(ADMIN)], uow: UoW
    ) -> Response:
        """Erase the person's identifiers and story on request; the coded pathway history stays."""
        await service.erase_personal_data(uow, enquiry_id, staff_id=staff.id, purpose="data_subject_request")
        return Response(status_code=204)

    return router
