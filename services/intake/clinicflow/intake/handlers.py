"""Intake's Kafka subscribers: web forms that emit `webform.enquiry.submitted` instead of calling the HTTP gateway."""

from __future__ import annotations

from pydantic import ValidationError

from clinicflow.intake.encryption import FieldCipher
from clinicflow.intake.repository import EnquiryRepository
from clinicflow.intake.service import SOURCE, UnitOfWork, submit_enquiry
from clinicflow.intake.submission import EnquirySubmission
from clinicflow.shared.consumer import Delivery, Handler, Rejected, describe_validation_error
from clinicflow.shared.errors import InvalidField
from clinicflow.shared.runtime import Clock


def build_handlers(cipher: FieldCipher, clock: Clock) -> dict[str, Handler]:
    """The events intake consumes, with their handlers."""

    async def on_webform_enquiry_submitted(delivery: Delivery) -> None:
        """Validate the form exactly as the HTTP gateway does; its submission id makes redelivery harmless."""
        form = delivery.payload
        try:
            submission = EnquirySubmission.model_validate(form.model_dump(exclude={"submission_id"}))
            uow = UnitOfWork(EnquiryRepository(delivery.connection, cipher), delivery.events(SOURCE, clock()))
            await submit_enquiry(uow, submission, submission_key=f"webform:{form.submission_id}")
        except ValidationError as exc:
            raise Rejected("invalid_form", describe_validation_error(exc)) from None
        except InvalidField as exc:
            raise Rejected("invalid_form", f"{exc.field}: {exc.kind}") from None

    return {"webform.enquiry.submitted": on_webform_enquiry_submitted}


