"""Intake's rules, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from clinicflow.intake.domain import (
    CallbackPolicy,
    Enquiry,
    EnquiryStatus,
    Funding,
    age_band,
    check_adult,
    check_contactable,
)
from clinicflow.shared.errors import IllegalMove, InvalidField

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
POLICY = CallbackPolicy(retry_after=(timedelta(hours=4), timedelta(days=1)))


def enquiry(**changes) -> Enquiry:
    base = Enquiry(
        id=uuid.uuid4(), status=EnquiryStatus.NEW, channel="web_form", concerns=("depression",), age_band="35-44",
        preferred_contact_window="any", consent_version="v1", received_at=NOW,
    )
    return Enquiry(**{**base.__dict__, **changes})


def test_a_person_aged_exactly_18_today_is_accepted():
    assert check_adult(date(2008, 11, 26), date(2026, 11, 26)) == 18


def test_a_person_18_tomorrow_gets_a_kind_explicit_refusal():
    with pytest.raises(InvalidField) as refusal:
        check_adult(date(2008, 11, 27), date(2026, 11, 26))
    assert refusal.value.field == "date_of_birth"
    assert refusal.value.kind == "under_18"
    assert "18 and over" in str(refusal.value)


def test_a_date_of_birth_in_the_future_is_refused():
    with pytest.raises(InvalidField, match="future"):
        check_adult(date(2027, 1, 1), date(2026, 11, 26))


@pytest.mark.parametrize(("age", "band"), [(18, "18-24"), (24, "18-24"), (25, "25-34"), (64, "55-64"),
                                           (65, "65-74"), (74, "65-74"), (75, "75+"), (101, "75+")])
def test_age_bands_split_at_65(age, band):
    assert age_band(age) == band


def test_an_enquiry_needs_an_email_or_a_phone():
    check_contactable("a@example.org", None)
    check_contactable(None, "+447911123456")
    with pytest.raises(InvalidField) as missing:
        check_contactable(None, None)
    assert missing.value.kind == "contact_required"


def test_an_unanswered_call_schedules_the_next_attempt_until_the_attempts_run_out():
    first = enquiry().log_callback("no_answer", now=NOW, policy=POLICY)
    assert (first.status, first.callback_attempts, first.next_attempt_due) == (
        EnquiryStatus.IN_PROGRESS, 1, NOW + timedelta(hours=4))
    second = first.log_callback("voicemail", now=NOW, policy=POLICY)
    assert second.next_attempt_due == NOW + timedelta(days=1)
    third = second.log_callback("no_answer", now=NOW, policy=POLICY)
    assert (third.callback_attempts, third.next_attempt_due) == (3, None)


def test_reaching_the_person_schedules_no_further_attempt():
    assert enquiry().log_callback("reached", now=NOW, policy=POLICY).next_attempt_due is None


def test_closing_as_unreachable_needs_every_attempt_made():
    with pytest.raises(IllegalMove, match="2 of 3"):
        enquiry(callback_attempts=2).close("unreachable", policy=POLICY)
    assert enquiry(callback_attempts=3).close("unreachable", policy=POLICY).status is EnquiryStatus.CLOSED


def test_booking_sets_the_assessment_and_funding():
    booked = enquiry().book_assessment(
        at=NOW + timedelta(days=3), clinician_id="cl-1", funding=Funding("self_funded"), now=NOW
    )
    assert (booked.status, booked.clinician_id, booked.funding_route) == (EnquiryStatus.BOOKED, "cl-1", "self_funded")


def test_insured_funding_needs_an_authorisation_reference():
    with pytest.raises(InvalidField) as missing:
        enquiry().book_assessment(at=NOW + timedelta(days=1), clinician_id="c", funding=Funding("insured"), now=NOW)
    assert missing.value.field == "funding.authorisation_reference"


def test_an_assessment_in_the_past_is_refused():
    with pytest.raises(InvalidField, match="future"):
        enquiry().book_assessment(at=NOW - timedelta(minutes=1), clinician_id="c", funding=Funding("self_funded"),
                                  now=NOW)


@pytest.mark.parametrize("move", [
    lambda e: e.log_callback("reached", now=NOW, policy=POLICY),
    lambda e: e.book_assessment(at=NOW + timedelta(days=1), clinician_id="c", funding=Funding("self_funded"), now=NOW),
    lambda e: e.close("declined", policy=POLICY),
])
def test_a_closed_or_erased_enquiry_takes_no_further_moves(move):
    with pytest.raises(IllegalMove, match="closed"):
        move(enquiry(status=EnquiryStatus.CLOSED))
    with pytest.raises(IllegalMove, match="erased"):
        move(enquiry(erased_at=NOW))


def test_booking_twice_is_refused():
    with pytest.raises(IllegalMove, match="already booked"):
        enquiry(status=EnquiryStatus.BOOKED).book_assessment(
            at=NOW + timedelta(days=1), clinician_id="c", funding=Funding("self_funded"), now=NOW)


def test_erasing_twice_is_refused():
    with pytest.raises(IllegalMove, match="already erased"):
        enquiry(erased_at=NOW).erase(now=NOW)
