"""The shared validation of an enquiry form, and field-level encryption."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from clinicflow.intake.encryption import FieldCipher
from clinicflow.intake.submission import EnquirySubmission

FORM = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.org", "phone": "07911 123456",
    "date_of_birth": "1985-12-10", "concerns": ["depression", "anxiety"], "story": "I have felt low",
    "preferred_contact_window": "morning", "consent_to_contact": True, "privacy_notice_version": "2026-01",
}


def errors_of(**changes) -> list[tuple]:
    with pytest.raises(ValidationError) as invalid:
        EnquirySubmission.model_validate({**FORM, **changes})
    return [(e["loc"], e["type"]) for e in invalid.value.errors()]


def test_a_valid_form_is_normalised():
    form = EnquirySubmission.model_validate(FORM)
    assert form.phone == "+447911123456"
    assert form.email == "Ada@example.org"
    assert form.channel == "web_form"


@pytest.mark.parametrize(("changes", "where"), [
    ({"consent_to_contact": False}, ("consent_to_contact",)),
    ({"email": "not-an-email"}, ("email",)),
    ({"phone": "12"}, ("phone",)),
    ({"concerns": []}, ("concerns",)),
    ({"concerns": ["insomnia"]}, ("concerns", 0)),
    ({"story": "x" * 5001}, ("story",)),
    ({"date_of_birth": "tenth of december"}, ("date_of_birth",)),
    ({"preferred_contact_window": "midnight"}, ("preferred_contact_window",)),
    ({"nickname": "Ada"}, ("nickname",)),
])
def test_each_bad_field_is_named(changes, where):
    assert where in [loc for loc, _ in errors_of(**changes)]


def test_a_story_of_exactly_5000_characters_is_accepted():
    assert len(EnquirySubmission.model_validate({**FORM, "story": "x" * 5000}).story) == 5000


def test_encrypted_values_round_trip_and_are_bound_to_their_record_and_field():
    cipher = FieldCipher.from_setting(FieldCipher.new_key_setting("k1"))
    record = uuid.uuid4()
    sealed = cipher.encrypt("Ada", record=record, field="first_name")
    assert b"Ada" not in sealed
    assert cipher.decrypt(sealed, record=record, field="first_name") == "Ada"
    with pytest.raises(InvalidTag):
        cipher.decrypt(sealed, record=record, field="last_name")
    with pytest.raises(InvalidTag):
        cipher.decrypt(sealed, record=uuid.uuid4(), field="first_name")


def test_after_rotation_old_values_still_decrypt_and_new_ones_use_the_new_key():
    old = FieldCipher.new_key_setting("k1")
    record = uuid.uuid4()
    sealed_before = FieldCipher.from_setting(old).encrypt("Ada", record=record, field="first_name")
    rotated = FieldCipher.from_setting(f"{FieldCipher.new_key_setting('k2')},{old}")
    assert rotated.decrypt(sealed_before, record=record, field="first_name") == "Ada"
    assert rotated.active_key_id == "k2"
    assert rotated.encrypt("Ada", record=record, field="first_name")[1:3] == b"k2"


def test_a_submission_fingerprint_is_keyed_so_nobody_with_the_database_can_test_a_guess():
    form = b'{"first_name":"Ada","last_name":"Lovelace","date_of_birth":"1990-01-01"}'
    setting = FieldCipher.new_key_setting("k1")
    old = FieldCipher.from_setting(setting)
    fingerprint = old.fingerprint(form)
    assert fingerprint.startswith("k1:") and hashlib.sha256(form).hexdigest() not in fingerprint
    assert old.same_fingerprint(form, fingerprint)
    assert not old.same_fingerprint(form.replace(b"Ada", b"Eve"), fingerprint)
    other_clinic = FieldCipher.from_setting(FieldCipher.new_key_setting("k1"))
    assert other_clinic.fingerprint(form) != fingerprint  # a different key: a guess cannot be checked without it
    assert not other_clinic.same_fingerprint(form, fingerprint)
    rotated = FieldCipher.from_setting(f"{FieldCipher.new_key_setting('k2')},{setting}")
    assert rotated.same_fingerprint(form, fingerprint)  # an earlier key still recognises its fingerprints
    assert rotated.fingerprint(form).startswith("k2:")
    assert not rotated.same_fingerprint(form, "k9:" + "0" * 64)
