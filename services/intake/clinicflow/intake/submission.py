"""The one validation of an enquiry form, shared by the HTTP gateway and the web-form event consumer.

Shape and format live here (types, unknown fields, email, phone normalised to E.164, concerns, story length,
consent); the age and contact rules live in the domain (the age depends on the day the enquiry arrives).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from clinicflow.shared.catalogue import Channel, Concern, ContactWindow

STORY_LIMIT = 5000
PHONE_REGION = "GB"  # the clinic's country: numbers without a +country code are read as UK numbers


class EnquirySubmission(BaseModel):
    """An enquiry as a person submits it through a form, a call or a chat."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40, description="Any common format; stored as E.164.")
    date_of_birth: date
    concerns: list[Concern] = Field(min_length=1)
    story: str | None = Field(None, max_length=STORY_LIMIT)
    preferred_contact_window: ContactWindow
    channel: Channel = "web_form"
    consent_to_contact: Literal[True] = Field(description="Must be true: we only call people who asked us to.")
    privacy_notice_version: str = Field(min_length=1, max_length=50)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError("not a valid email address") from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            number = phonenumbers.parse(value, PHONE_REGION)
        except phonenumbers.NumberParseException:
            raise ValueError("not a valid phone number") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("concerns")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

