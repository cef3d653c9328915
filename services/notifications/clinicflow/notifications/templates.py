"""What a notification says: what happened, what is needed, the pathway id and a link. Pure.

Built only from the event's coded fields, which never hold a name, contact detail, free text or answer; staff open
the link (authenticated, audited) for anything more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Content:
    """A notification's text."""

    title: str
    body: str
    link: str


def _codes(values: list[str] | str | None) -> str:
    return ", ".join(v.replace("_", " ") for v in ([values] if isinstance(values, str) else values or [])) or "none"


TEMPLATES: dict[str, tuple[str, str]] = {
    "enquiry.received": ("New enquiry to call back",
                         "A new {channel} enquiry ({concerns}; age band {age_band}) prefers contact: "
                         "{preferred_contact_window}. Please call back."),
    "enquiry.callback.logged": ("Call-back attempt due",
                                "Attempt {attempt_number} was '{outcome}'. The next attempt is due now."),
    "intake.assessment.booked": ("Intake assessment booked",
                                 "An intake assessment is booked with you for {assessment_at} ({funding_route})."),
    "screening.completed": ("Screening signed off",
                            "Screening outcome: {outcome} (proposed {proposed_outcome}; contraindications: "
                            "{contraindication_codes}; decided against the proposal: {overridden}). "
                            "Plan the next step."),
    "screening.risk.flagged": ("URGENT: safety flag",
                               "Urgent safety flag ({reason}). A doctor must review risk now and acknowledge."),
    "session.vitals.alerted": ("URGENT: vital signs alert",
                               "In-session readings breached: {breached}. Attend the client now and acknowledge."),
    "session.deferred": ("Dosing session deferred",
                         "A dosing session was deferred ({reason_codes}). Review and re-plan."),
    "session.logged": ("Dosing session needs review",
                       "Dosing session {session_number} ended: {outcome}; adverse events: {adverse_event_codes}. "
                       "A doctor reviews them before the next dose."),
    "session.overridden": ("Safety rule overridden",
                           "A doctor overrode {rule} at the {step} step (rules {rule_set_version}). "
                           "The reason is in the session record."),
    "integration.due": ("Integration session due",
                        "An integration session is due by {due_by}. Please arrange it."),
    "integration.overdue": ("Integration session overdue",
                            "An integration session has been overdue since {overdue_since}. Please follow up."),
    "integration.completed": ("Integration session needs the team",
                              "An integration session was recorded: did not attend {did_not_attend}; concerns for "
                              "the team: {concerns}."),
    "integration.risk.flagged": ("URGENT: risk flagged at integration",
                                 "The therapist flagged a risk at integration (concerns: {concerns}). The next dose "
                                 "is held: a doctor must review risk now and acknowledge."),
    "course.deteriorated": ("URGENT: deterioration",
                            "{instrument} rose from {baseline} at baseline to {latest} (rules {rule_set_version}). "
                            "The care team must review now."),
    "course.review.due": ("Non-response review due",
                          "After {after_session} sessions PHQ-9 has changed {phq9_change_percent}% from baseline. "
                          "A doctor reviews the course: continue, extend, change route or dose, or stop."),
    "course.plan.changed": ("Course plan changed",
                            "The course now plans {planned_sessions} sessions ({phase}; interval "
                            "{maintenance_interval_days} days in maintenance)."),
    "course.stopped": ("Course stopped",
                       "A doctor stopped the course ({reason}) after {sessions_completed} sessions. Sessions not yet "
                       "given are cancelled."),
    "course.progress.updated": ("Course progress",
                                "PHQ-9 {baseline_phq9} → {latest_phq9} ({change_percent}%): response {response}, "
                                "remission {remission}."),
    "register.discrepancy.found": ("Controlled drugs discrepancy",
                                   "The controlled-drugs register found a discrepancy on {product}: {kind} "
                                   "({difference_mg} mg). Investigate now and resolve it in the register."),
    "register.stock.low": ("Controlled drug below reorder level",
                           "{product} is down to {balance_units} units (reorder level {reorder_level_units}). "
                           "Please reorder."),
    "screening.record.break_glass": ("Screening record opened by breaking the glass",
                                     "{staff_id}, who is not on this client's care team, opened their screening "
                                     "record at {read_at}. Review the reason they gave in screening's break-glass "
                                     "log."),
    "course.record.break_glass": ("Course record opened by breaking the glass",
                                  "{staff_id}, who is not on this client's care team, opened their course record at "
                                  "{read_at}. Review the reason they gave in sessions' break-glass log."),
    "course.completed": ("Course completed",
                         "The course is complete after {sessions_completed} sessions: PHQ-9 {baseline_phq9} → "
                         "{final_phq9}, response {response}, remission {remission}."),
}


# Single codes shown in words (lists of codes always are).
_CODED = frozenset({"kind"})
# The register's events are about a register page, not a client: they link to the register.
REGISTER_PAGES = {"register.discrepancy.found": "/register/discrepancies", "register.stock.low": "/register"}


def render(event_type: str, data: dict[str, Any], *, pathway_id: str, staff_portal_url: str) -> Content:
    """The notification for one event."""
    title, body = TEMPLATES[event_type]
    fields = {k: (_codes(v) if isinstance(v, list) or k in _CODED else v) for k, v in data.items()}
    portal = staff_portal_url.rstrip("/")
    if event_type in REGISTER_PAGES:
        link = f"{portal}{REGISTER_PAGES[event_type]}"
        return Content(title=title, body=f"{body.format(**fields)}\nRegister: {link}", link=link)
    link = f"{portal}/pathways/{pathway_id}"
    return Content(title=title, body=f"{body.format(**fields)}\nPathway {pathway_id}: {link}", link=link)
