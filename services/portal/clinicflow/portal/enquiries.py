"""The contact centre's pages: the work list (due call-backs first, overdue marked in words as well as colour, a
"due now" filter), and one enquiry: opening it asks why (the read is audited in intake with that purpose), then its
details, a call outcome, booking the assessment with funding, or closing it. A refused form comes back with each
field's error beside the field and what was typed still there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

# What intake accepts as the purpose of reading a person's details (its audit trail records it).
PURPOSES = {"contact_centre_workflow": "Calling back or booking (contact-centre work)",
            "assessment": "Preparing the intake assessment", "clinical_review": "Clinical review",
            "data_subject_request": "A request from the person about their data", "safeguarding": "Safeguarding"}
CALL_OUTCOMES = {"reached": "Reached", "no_answer": "No answer", "voicemail": "Left a voicemail",
                 "wrong_number": "Wrong number", "declined": "Declined"}
CLOSE_REASONS = {"declined": "Declined", "unreachable": "Unreachable", "not_suitable": "Not suitable",
                 "duplicate": "Duplicate"}
FUNDING_ROUTES = {"self_funded": "Self-funded", "insured": "Insured"}


def work_list(enquiries: list[dict[str, Any]], *, now: datetime, due_only: bool) -> list[dict[str, Any]]:
    """Open enquiries in the order to call them: overdue call-backs, then due ones (a new enquiry is due at once),
    then those due later; each marked ``overdue`` or ``due`` as it stands now."""
    rows = []
    for enquiry in enquiries:
        if enquiry["status"] not in ("new", "in_progress"):
            continue
        due_at = _time(enquiry["next_attempt_due"]) or _time(enquiry["received_at"])
        state = "overdue" if enquiry["next_attempt_due"] and due_at < now else "due" if due_at <= now else "later"
        if due_only and state == "later":
            continue
        rows.append({**enquiry, "due_at": due_at, "state": state})
    order = {"overdue": 0, "due": 1, "later": 2}
    return sorted(rows, key=lambda r: (order[r["state"]], r["due_at"]))


def assessment_time(local: str, zone: str) -> str | None:
    """A ``datetime-local`` value, read in the clinic's time zone, as an ISO time with its offset (None if blank or
    unreadable: the service then names the field)."""
    try:
        return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).isoformat()
    except ValueError:
        return None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None
