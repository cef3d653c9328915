"""Intake's use cases: load → apply the domain rule → save, with the events they cause, in one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from clinicflow.intake.domain import (
    CallbackPolicy,
    Enquiry,
    EnquiryStatus,
    Funding,
    PersonalDetails,
    age_band,
    check_adult,
    check_contactable,
)
from clinicflow.intake.repository import EnquiryRepository
from clinicflow.intake.submission import EnquirySubmission
from clinicflow.shared import catalogue
from clinicflow.shared.errors import IllegalMove
from clinicflow.shared.outbox import EventWriter

SOURCE = "clinicflow/intake"


@dataclass(frozen=True)
class UnitOfWork:
    """One transaction's view of intake: its enquiries and the events it causes (the enquiry id is the pathway id)."""

    enquiries: EnquiryRepository
    events: EventWriter


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submission: the enquiry's id, and whether this call created it."""

    enquiry_id: uuid.UUID
    created: bool


async def submit_enquiry(uow: UnitOfWork, form: EnquirySubmission, *, submission_key: str | None) -> Submitted:
    """Accept a validated form: one enquiry and one `enquiry.received` per submission key."""
    age = check_adult(form.date_of_birth, uow.events.now.date())
    check_contactable(form.email, form.phone)
    submitted = form.model_dump_json().encode()
    if submission_key is not None:
        earlier = await uow.enquiries.find_by_submission_key(submission_key=submission_key, submitted=submitted)
        if earlier is not None:
            return _repeat(earlier)
    enquiry = Enquiry(
        id=uuid.uuid4(), status=EnquiryStatus.NEW, channel=form.channel, concerns=tuple(form.concerns),
        age_band=age_band(age), preferred_contact_window=form.preferred_contact_window,
        consent_version=form.privacy_notice_version, received_at=uow.events.now,
    )
    details = PersonalDetails(
        first_name=form.first_name, last_name=form.last_name, email=form.email, phone=form.phone,
        date_of_birth=form.date_of_birth, story=form.story,
    )
    if not await uow.enquiries.add(enquiry, details, submission_key=submission_key, submitted=submitted):
        # Another request with the same key committed between our look-up and our insert.
        return _repeat(await uow.enquiries.find_by_submission_key(submission_key=submission_key, submitted=submitted))
    await uow.events.emit(enquiry.id, catalogue.EnquiryReceived(
        channel=enquiry.channel, concerns=list(enquiry.concerns), age_band=enquiry.age_band,
        preferred_contact_window=enquiry.preferred_contact_window, consent_version=enquiry.consent_version,
        received_at=enquiry.received_at,
    ))
    return Submitted(enquiry.id, created=True)


def _repeat(earlier: tuple[uuid.UUID, bool]) -> Submitted:
    enquiry_id, same = earlier
    if not same:
        raise IllegalMove("this idempotency key was already used for a different submission")
    return Submitted(enquiry_id, created=False)


async def log_callback(
    uow: UnitOfWork, enquiry_id: uuid.UUID, *, outcome: str, staff_id: str, policy: CallbackPolicy
) -> Enquiry:
    """Record a call-back attempt → `enquiry.callback.logged` (with the next attempt, if one is due)."""
    enquiry = await uow.enquiries.get(enquiry_id=enquiry_id, for_update=True)
    enquiry = enquiry.log_callback(outcome, now=uow.events.now, policy=policy)
    await uow.enquiries.save(enquiry=enquiry)
    await uow.enquiries.add_callback(enquiry=enquiry, outcome=outcome, logged_by=staff_id, logged_at=uow.events.now)
    await uow.events.emit(enquiry.id, catalogue.EnquiryCallbackLogged(
        attempt_number=enquiry.callback_attempts, outcome=outcome, next_attempt_due=enquiry.next_attempt_due,
        logged_by=staff_id,
    ))
    return enquiry


@dataclass(frozen=True)
class Booking:
    """A request to book the intake assessment."""

    assessment_at: datetime
    clinician_id: str
    funding: Funding


async def book_assessment(uow: UnitOfWork, enquiry_id: uuid.UUID, booking: Booking) -> Enquiry:
    """Book the formal assessment with the funding settled → `intake.assessment.booked`."""
    enquiry = await uow.enquiries.get(enquiry_id=enquiry_id, for_update=True)
    enquiry = enquiry.book_assessment(
        at=booking.assessment_at, clinician_id=booking.clinician_id, funding=booking.funding, now=uow.events.now
    )
    await uow.enquiries.save(enquiry=enquiry)
    await uow.enquiries.set_authorisation_reference(
        enquiry_id=enquiry.id, reference=booking.funding.authorisation_reference
    )
    await uow.events.emit(enquiry.id, catalogue.IntakeAssessmentBooked(
        assessment_at=booking.assessment_at, clinician_id=booking.clinician_id, funding_route=booking.funding.route,
    ))
    return enquiry


async def close_enquiry(uow: UnitOfWork, enquiry_id: uuid.UUID, *, reason: str, policy: CallbackPolicy) -> Enquiry:
    """Close with a reason → `enquiry.closed`."""
    enquiry = await uow.enquiries.get(enquiry_id=enquiry_id, for_update=True)
    enquiry = enquiry.close(reason, policy=policy)
    await uow.enquiries.save(enquiry=enquiry)
    await uow.events.emit(enquiry.id, catalogue.EnquiryClosed(reason=reason))
    return enquiry


async def read_details(uow: UnitOfWork, enquiry_id: uuid.UUID, *, staff_id: str, purpose: str) -> PersonalDetails:
    """The person's details for a member of staff, with the read written to the audit trail."""
    await uow.enquiries.get(enquiry_id=enquiry_id)
    await uow.enquiries.audit(staff_id=staff_id, action="read_personal_details", enquiry_id=enquiry_id,
                              purpose=purpose)
    return await uow.enquiries.details(enquiry_id=enquiry_id)


async def erase_personal_data(uow: UnitOfWork, enquiry_id: uuid.UUID, *, staff_id: str, purpose: str) -> None:
    """Remove the person's identifiers, keep the coded history → `enquiry.erased`; audited."""
    enquiry = await uow.enquiries.get(enquiry_id=enquiry_id, for_update=True)
    enquiry = enquiry.erase(now=uow.events.now)
    await uow.enquiries.save(enquiry=enquiry)
    await uow.enquiries.erase_details(enquiry_id=enquiry_id)
    await uow.enquiries.audit(staff_id=staff_id, action="erase_personal_details", enquiry_id=enquiry_id,
                              purpose=purpose)
    await uow.events.emit(enquiry.id, catalogue.EnquiryErased())
