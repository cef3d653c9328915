"""Intake's SQL: enquiries, their encrypted personal details, call-back attempts and the audit trail.

Every method runs inside the caller's transaction (one connection), so state and outbox rows commit together.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

from clinicflow.intake.domain import Enquiry, EnquiryStatus, PersonalDetails
from clinicflow.intake.encryption import FieldCipher
from clinicflow.shared.errors import NotFound

_ENCRYPTED_FIELDS = ("first_name", "last_name", "email", "phone", "date_of_birth", "story")

_INSERT_ENQUIRY = """
INSERT INTO enquiries (id, status, channel, concerns, age_band, preferred_contact_window, consent_version,
                       received_at, submission_key, submission_fingerprint)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (submission_key) DO NOTHING
RETURNING id"""
_INSERT_DETAILS = """
INSERT INTO enquiry_personal_details (enquiry_id, first_name, last_name, email, phone, date_of_birth, story, key_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""
_BY_SUBMISSION_KEY = "SELECT id, submission_fingerprint FROM enquiries WHERE submission_key = $1"
_GET = "SELECT * FROM enquiries WHERE id = $1"
_GET_FOR_UPDATE = "SELECT * FROM enquiries WHERE id = $1 FOR UPDATE"
_SAVE = """
UPDATE enquiries SET status = $2, callback_attempts = $3, next_attempt_due = $4, funding_route = $5,
                     assessment_at = $6, clinician_id = $7, closed_reason = $8, erased_at = $9
WHERE id = $1"""
_INSERT_CALLBACK = """
INSERT INTO callback_attempts (enquiry_id, attempt_number, outcome, logged_by, logged_at, next_attempt_due)
VALUES ($1, $2, $3, $4, $5, $6)"""
_DETAILS = "SELECT * FROM enquiry_personal_details WHERE enquiry_id = $1"
_SET_AUTHORISATION = "UPDATE enquiry_personal_details SET authorisation_reference = $2 WHERE enquiry_id = $1"
_ERASE_DETAILS = "DELETE FROM enquiry_personal_details WHERE enquiry_id = $1"
_FORGET_SUBMISSION = "UPDATE enquiries SET submission_fingerprint = NULL WHERE id = $1"
_STALE_KEY = """
SELECT * FROM enquiry_personal_details WHERE key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED"""
_REENCRYPTED = """
UPDATE enquiry_personal_details
SET first_name = $2, last_name = $3, email = $4, phone = $5, date_of_birth = $6, story = $7,
    authorisation_reference = $8, key_id = $9
WHERE enquiry_id = $1"""
_AUDIT = "INSERT INTO audit_log (staff_id, action, enquiry_id, purpose) VALUES ($1, $2, $3, $4)"
_WORKLIST = """
SELECT * FROM enquiries
WHERE ($1::text IS NULL OR status = $1) AND erased_at IS NULL
ORDER BY received_at, id
LIMIT $2 OFFSET $3"""


class EnquiryRepository:
    """Enquiries in intake's schema, read and written on one connection."""

    def __init__(self, conn: asyncpg.Connection, cipher: FieldCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def add(
        self, enquiry: Enquiry, details: PersonalDetails, *, submission_key: str | None, submitted: bytes
    ) -> bool:
        """Store a new enquiry, its encrypted details and a keyed fingerprint of what was submitted; False when the
        submission key was already used."""
        created = await self._conn.fetchval(
            _INSERT_ENQUIRY, enquiry.id, enquiry.status.value, enquiry.channel, list(enquiry.concerns),
            enquiry.age_band, enquiry.preferred_contact_window, enquiry.consent_version, enquiry.received_at,
            submission_key, self._cipher.fingerprint(submitted),
        )
        if created is None:
            return False
        values = {**details.__dict__, "date_of_birth": details.date_of_birth.isoformat()}
        encrypted = [self._cipher.encrypt(values[f], record=enquiry.id, field=f) for f in _ENCRYPTED_FIELDS]
        await self._conn.execute(_INSERT_DETAILS, enquiry.id, *encrypted, self._cipher.active_key_id)
        return True

    async def find_by_submission_key(self, *, submission_key: str, submitted: bytes) -> tuple[uuid.UUID, bool] | None:
        """The enquiry a submission key made, and whether ``submitted`` is what was submitted then (True once its
        fingerprint is forgotten)."""
        row = await self._conn.fetchrow(_BY_SUBMISSION_KEY, submission_key)
        if row is None:
            return None
        stored = row["submission_fingerprint"]
        return row["id"], stored is None or self._cipher.same_fingerprint(submitted, stored)

    async def get(self, *, enquiry_id: uuid.UUID, for_update: bool = False) -> Enquiry:
        """One enquiry (locked for this transaction when it is about to change); NotFound otherwise."""
        row = await self._conn.fetchrow(_GET_FOR_UPDATE if for_update else _GET, enquiry_id)
        if row is None:
            raise NotFound("no enquiry with that id")
        return _enquiry(row)

    async def save(self, *, enquiry: Enquiry) -> None:
        """Write an enquiry's changed coded state."""
        await self._conn.execute(
            _SAVE, enquiry.id, enquiry.status.value, enquiry.callback_attempts, enquiry.next_attempt_due,
            enquiry.funding_route, enquiry.assessment_at, enquiry.clinician_id, enquiry.closed_reason,
            enquiry.erased_at,
        )

    async def add_callback(
        self, *, enquiry: Enquiry, outcome: str, logged_by: str, logged_at: datetime
    ) -> None:
        """Record the call-back attempt an enquiry just counted."""
        await self._conn.execute(
            _INSERT_CALLBACK, enquiry.id, enquiry.callback_attempts, outcome, logged_by, logged_at,
            enquiry.next_attempt_due,
        )

    async def details(self, *, enquiry_id: uuid.UUID) -> PersonalDetails:
        """The person's decrypted details; NotFound once erased."""
        row = await self._conn.fetchrow(_DETAILS, enquiry_id)
        if row is None:
            raise NotFound("no personal details held for that enquiry")
        plain = {f: self._cipher.decrypt(row[f], record=enquiry_id, field=f) for f in _ENCRYPTED_FIELDS}
        return PersonalDetails(**{**plain, "date_of_birth": date.fromisoformat(plain["date_of_birth"])})

    async def set_authorisation_reference(self, *, enquiry_id: uuid.UUID, reference: str | None) -> None:
        """Store the insurer's authorisation reference, encrypted."""
        encrypted = self._cipher.encrypt(reference, record=enquiry_id, field="authorisation_reference")
        await self._conn.execute(_SET_AUTHORISATION, enquiry_id, encrypted)

    async def erase_details(self, *, enquiry_id: uuid.UUID) -> None:
        """Remove every identifier of the person, keeping the coded enquiry."""
        await self._conn.execute(_ERASE_DETAILS, enquiry_id)
        await self._conn.execute(_FORGET_SUBMISSION, enquiry_id)

    async def reencrypt_batch(self, *, limit: int) -> int:
        """Re-encrypt up to ``limit`` rows still under an older key with the active one; returns how many."""
        rows = await self._conn.fetch(_STALE_KEY, self._cipher.active_key_id, limit)
        fields = (*_ENCRYPTED_FIELDS, "authorisation_reference")
        for row in rows:
            record = row["enquiry_id"]
            values = [self._cipher.encrypt(self._cipher.decrypt(row[f], record=record, field=f), record=record,
                                           field=f) for f in fields]
            await self._conn.execute(_REENCRYPTED, record, *values, self._cipher.active_key_id)
        return len(rows)

    async def audit(self, *, staff_id: str, action: str, enquiry_id: uuid.UUID, purpose: str) -> None:
        """Append to the audit trail."""
        await self._conn.execute(_AUDIT, staff_id, action, enquiry_id, purpose)

    async def worklist(self, *, status: str | None, limit: int, offset: int) -> list[Enquiry]:
        """Enquiries not erased, oldest first, optionally of one status."""
        return [_enquiry(row) for row in await self._conn.fetch(_WORKLIST, status, limit, offset)]


def _enquiry(row: asyncpg.Record) -> Enquiry:
    return Enquiry(
        id=row["id"], status=EnquiryStatus(row["status"]), channel=row["channel"], concerns=tuple(row["concerns"]),
        age_band=row["age_band"], preferred_contact_window=row["preferred_contact_window"],
        consent_version=row["consent_version"], received_at=row["received_at"],
        callback_attempts=row["callback_attempts"], next_attempt_due=row["next_attempt_due"],
        funding_route=row["funding_route"], assessment_at=row["assessment_at"], clinician_id=row["clinician_id"],
        closed_reason=row["closed_reason"], erased_at=row["erased_at"],
    )
