"""Intake's rules: an enquiry from first contact to a booked assessment (docs/clinical-rules.md §1 steps 1–2), with
no I/O.

An enquiry moves new → in_progress (first call-back logged) → booked (assessment booked) and may be closed from any
open state. Erasure removes the person's identifiers but keeps the coded history; an erased enquiry takes no
further moves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from clinicflow.shared.errors import IllegalMove, InvalidField

ADULT_AGE = 18  # docs/clinical-rules.md §3: under 18 is not accepted at enquiry.


class EnquiryStatus(StrEnum):
    """Where an enquiry stands in the contact centre's workflow."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    BOOKED = "booked"
    CLOSED = "closed"


@dataclass(frozen=True)
class PersonalDetails:
    """What identifies the person: kept encrypted, only in intake's database."""

    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    date_of_birth: date
    story: str | None


@dataclass(frozen=True)
class CallbackPolicy:
    """How the contact centre chases an enquiry: the wait before each further attempt, and how many to make."""

    retry_after: tuple[timedelta, ...] = (timedelta(hours=4), timedelta(days=1), timedelta(days=2))

    @property
    def max_attempts(self) -> int:
        """Attempts after which the enquiry may be closed as unreachable."""
        return len(self.retry_after) + 1


@dataclass(frozen=True)
class Funding:
    """How treatment is paid for."""

    route: str  # self_funded | insured
    authorisation_reference: str | None = None


@dataclass(frozen=True)
class Enquiry:
    """One enquiry's coded state (identifiers live apart, in :class:`PersonalDetails`)."""

    id: uuid.UUID
    status: EnquiryStatus
    channel: str
    concerns: tuple[str, ...]
    age_band: str
    preferred_contact_window: str
    consent_version: str
    received_at: datetime
    callback_attempts: int = 0
    next_attempt_due: datetime | None = None
    funding_route: str | None = None
    assessment_at: datetime | None = None
    clinician_id: str | None = None
    closed_reason: str | None = None
    erased_at: datetime | None = None

    def _require_open(self, action: str) -> None:
        if self.erased_at is not None:
            raise IllegalMove(f"cannot {action}: the enquiry's personal data was erased")
        if self.status is EnquiryStatus.CLOSED:
            raise IllegalMove(f"cannot {action}: the enquiry is closed")

    def log_callback(self, outcome: str, *, now: datetime, policy: CallbackPolicy) -> Enquiry:
        """Record one call-back attempt; schedules the next when the person was not reached and tries remain."""
        self._require_open("log a call-back")
        attempt = self.callback_attempts + 1
        chase = outcome in ("no_answer", "voicemail") and attempt < policy.max_attempts
        return replace(
            self,
            status=EnquiryStatus.IN_PROGRESS if self.status is EnquiryStatus.NEW else self.status,
            callback_attempts=attempt,
            next_attempt_due=now + policy.retry_after[attempt - 1] if chase else None,
        )

    def book_assessment(self, *, at: datetime, clinician_id: str, funding: Funding, now: datetime) -> Enquiry:
        """Book the formal intake assessment, with the funding settled."""
        self._require_open("book an assessment")
        if self.status is EnquiryStatus.BOOKED:
            raise IllegalMove("cannot book an assessment: one is already booked")
        if at <= now:
            raise InvalidField("assessment_at", "past_time", "the assessment must be booked in the future")
        if funding.route == "insured" and not funding.authorisation_reference:
            raise InvalidField("funding.authorisation_reference", "missing",
                               "insured funding needs the insurer's authorisation reference")
        return replace(
            self, status=EnquiryStatus.BOOKED, assessment_at=at, clinician_id=clinician_id,
            funding_route=funding.route, next_attempt_due=None,
        )

    def close(self, reason: str, *, policy: CallbackPolicy) -> Enquiry:
        """Close the enquiry; 'unreachable' only once the configured attempts were made."""
        self._require_open("close the enquiry")
        if reason == "unreachable" and self.callback_attempts < policy.max_attempts:
            raise IllegalMove(
                f"cannot close as unreachable after {self.callback_attempts} of {policy.max_attempts} "
                "call-back attempts"
            )
        return replace(self, status=EnquiryStatus.CLOSED, closed_reason=reason, next_attempt_due=None)

    def erase(self, *, now: datetime) -> Enquiry:
        """Mark the person's identifiers erased; the coded history stays."""
        if self.erased_at is not None:
            raise IllegalMove("the enquiry's personal data was already erased")
        return replace(self, erased_at=now)


def age_on(date_of_birth: date, today: date) -> int:
    """Whole years of age on ``today``."""
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - before_birthday


def age_band(age: int) -> str:
    """The coded age band events carry instead of a date of birth (split at 65: docs/clinical-rules.md §3–4)."""
    for upper, band in ((24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54"), (64, "55-64"), (74, "65-74")):
        if age <= upper:
            return band
    return "75+"


def check_adult(date_of_birth: date, today: date) -> int:
    """The person's age, or a kind refusal when they are under 18 or the date is impossible."""
    if date_of_birth > today:
        raise InvalidField("date_of_birth", "future_date", "the date of birth is in the future")
    age = age_on(date_of_birth, today)
    if age < ADULT_AGE:
        raise InvalidField(
            "date_of_birth",
            "under_18",
            "Thank you for reaching out. Our service is for adults aged 18 and over, so we cannot take this "
            "enquiry; your GP or local children's and young people's mental health service can help.",
        )
    return age


def check_contactable(email: str | None, phone: str | None) -> None:
    """The person gave at least one way to reach them."""
    if not email and not phone:
        raise InvalidField("email", "contact_required",
                           "give an email address or a phone number (or both) so we can contact you")
