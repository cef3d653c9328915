"""A synthetic client's walk through the whole pathway over the public HTTP APIs, safe to retry at every step.

Each step first reads the state it is about to change (or sends an idempotency key), so a walk survives services
being killed and restarted mid-request without doing anything twice: the demo, the end-to-end fault tests and the
benchmark all use it. A course's sessions took place three days apart, ending about two hours ago, and are charted
after the fact in clinical order, each step by the member of staff whose act it is; that needs the demo rule file's
30-day charting window (``DEMO_SESSIONS_RULES``, which says so in its first lines).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from clinicflow.localinfra.tokens import mint_token

PORTS = {"intake": 8001, "screening": 8002, "sessions": 8003, "notifications": 8004, "register": 8005}
DEMO_SESSIONS_RULES = Path(__file__).with_name("demo-sessions-rules.json")
DAYS_BETWEEN_SESSIONS = 3
MAX_ROUNDS_PER_SESSION = 30  # each round takes one step; a session has eight
PHQ9_BASELINE = [2, 2, 3, 2, 2, 2, 2, 3, 0]  # 18: moderately severe; item 9 not endorsed
GAD7_BASELINE = [2, 2, 2, 1, 1, 2, 1]  # 11: moderate
FOLLOW_UP_PHQ9 = [14, 11, 8, 6, 4, 3, 3, 3]  # before each next session
FOLLOW_UP_GAD7 = {2: 9, 4: 6, 6: 4, 8: 3}  # every second session (docs/clinical-rules.md §5)
CALM = {"systolic": 128, "diastolic": 82, "heart_rate": 74, "spo2": 98}
PRE_DOSE = {**CALM, "respiratory_rate": 14, "weight_kg": 74.0, "escort_confirmed": True,
            "interacting_medicines_since_last": False, "alcohol_or_drugs_last_24h": False,
            "fasted_as_instructed": True, "pregnancy_excluded": True, "consent_reconfirmed": True}
TEAM = {"supervising_doctor": "dr-1", "monitoring_nurse": "rn-1", "therapist": "th-1"}
IV = {"route": "iv", "dose_mg_per_kg": 0.5, "infusion_minutes": 40, "team": TEAM}
# 0.5 mg/kg at 74 kg is 37 mg: 3.7 mL of a 10 mg/mL vial of 20 mL (200 mg), whose other 163 mg are wasted.
VIAL, VIAL_MG, BATCH = "ketamine-10mg-ml-20ml", 200, "KT2611A"
SUPPLY = {"product": VIAL, "batch": BATCH, "volume_drawn_ml": 3.7}
DOSE_MG, WASTED_MG = 37.0, 163.0
INTEGRATION = {"attended": True, "themes": ["insight", "change_and_intentions"], "concerns": []}
PREPARATION = {"topics": ["what_to_expect", "effects_and_timeline", "risks_and_side_effects", "no_driving",
                          "integration"], "safety_plan": ["warning_signs", "people_to_contact", "crisis_line"]}
CHECKLIST = dict.fromkeys(("vitals_back_in_range", "moaas_5", "escort_present", "no_driving_until_next_day_advised",
                           "instructions_given", "next_session_booked", "integration_booked"), True)
CONTACT, CLINICIAN, DOCTOR = ("contact_centre", "cc-1"), ("clinician", "cl-1"), ("doctor", "dr-1")
PHARMACY, LEAD = ("pharmacy", "ph-1"), ("clinical_lead", "lead-1")
NURSE, THERAPIST = ("nurse", "rn-1"), ("therapist", "th-1")
CARE = {"X-Access-Purpose": "direct_care"}


class Unavailable(Exception):
    """A service did not answer in time (it may be restarting)."""


class Clinic:
    """The five services' HTTP APIs, called as members of staff, retrying while a service is down."""

    def __init__(self, secret: str, *, host: str = "127.0.0.1", patience: float = 120.0,
                 ports: dict[str, int] | None = None) -> None:
        self._secret = secret
        self._patience = patience
        ports = ports or {name: int(os.environ.get(f"{name.upper()}_HTTP_PORT", port)) for name, port in PORTS.items()}
        self.http = {name: httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=20)
                     for name, port in ports.items()}

    def token(self, role: str, staff_id: str) -> dict[str, str]:
        """A bearer header for one member of staff."""
        return {"Authorization": f"Bearer {mint_token(self._secret, staff_id=staff_id, roles=[role])}"}

    async def request(self, service: str, method: str, path: str, *, who: tuple[str, str] | None = None,
                      json: dict | None = None, headers: dict | None = None) -> httpx.Response:
        """One call, repeated while the service is unreachable or failing (5xx); 4xx answers are returned. Staff
        here give care: a clinical record is opened for direct care unless the headers say otherwise."""
        deadline = time.monotonic() + self._patience
        all_headers = {**(self.token(*who) if who else {}), **CARE, **(headers or {})}
        while True:
            try:
                response = await self.http[service].request(method, path, json=json, headers=all_headers)
                if response.status_code < 500:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise Unavailable(f"{method} {service}{path}")
            await asyncio.sleep(0.5)

    async def expect(self, status: int | tuple[int, ...], service: str, method: str, path: str, **kwargs: Any
                     ) -> dict:
        """A call that must answer with ``status`` (or one of them); its JSON body."""
        response = await self.request(service, method, path, **kwargs)
        if response.status_code not in (status if isinstance(status, tuple) else (status,)):
            raise RuntimeError(f"{method} {service}{path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else {}

    async def until(self, check: Callable[[], Awaitable[Any]], *, what: str, timeout: float | None = None) -> Any:
        """Poll ``check`` until it returns something truthy."""
        deadline = time.monotonic() + (timeout or self._patience)
        while time.monotonic() < deadline:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.3)
        raise Unavailable(f"timed out waiting for {what}")

    async def close(self) -> None:
        """Close the HTTP clients."""
        for client in self.http.values():
            await client.aclose()


@dataclass(frozen=True)
class Walk:
    """What one walk does: how many sessions its course has, and whether its client endorses PHQ-9 item 9."""

    sessions: int = 6
    item9_at_baseline: bool = False


async def submit_enquiry(clinic: Clinic, *, key: str | None = None) -> uuid.UUID:
    """A web-form enquiry (idempotent under retry: the key makes a resend the same enquiry)."""
    body = await clinic.expect(201, "intake", "POST", "/enquiries",
                               headers={"Idempotency-Key": key or str(uuid.uuid4())},
                               json={"first_name": "Synthetic", "last_name": "Client",
                                     "email": "synthetic.client@example.org", "phone": "07912 345678",
                                     "date_of_birth": "1986-03-14", "concerns": ["depression", "anxiety"],
                                     "story": "A synthetic client for testing.", "preferred_contact_window": "morning",
                                     "consent_to_contact": True, "privacy_notice_version": "2026-01"})
    return uuid.UUID(body["enquiry_id"])


async def walk_pathway(clinic: Clinic, walk: Walk = Walk(), *, on_enquiry: Callable[[uuid.UUID], None] | None = None
                       ) -> uuid.UUID:
    """Enquiry → call-backs → booking → screening → sign-off → the course's sessions, each with integration and a
    follow-up PHQ-9 (and GAD-7 every second session); returns the pathway id once the course is completed."""
    pathway, course_id = await start_course(clinic, walk, on_enquiry=on_enquiry)
    for number in range(1, walk.sessions + 1):
        dosed_at = _first_dose(walk) + timedelta(days=DAYS_BETWEEN_SESSIONS * (number - 1))
        await _dosing_session(clinic, course_id, pathway, number, dosed_at)
    await clinic.until(lambda: _completed(clinic, pathway), what="the course to complete")
    return pathway


async def start_course(clinic: Clinic, walk: Walk = Walk(), *,
                       on_enquiry: Callable[[uuid.UUID], None] | None = None) -> tuple[uuid.UUID, str]:
    """The walk up to an open course (enquiry, call-backs, booking, screening, sign-off): pathway and course ids."""
    pathway = await submit_enquiry(clinic)
    if on_enquiry:
        on_enquiry(pathway)
    await clinic.expect(200, "intake", "GET", f"/enquiries/{pathway}", who=CONTACT,
                        headers={"X-Access-Purpose": "contact_centre_workflow"})
    for attempt, outcome in enumerate(("no_answer", "reached"), start=1):
        await _log_callback(clinic, pathway, attempt, outcome)
    await clinic.expect((200, 409), "intake", "POST", f"/enquiries/{pathway}/assessment", who=CONTACT, json={
        "assessment_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "clinician_id": "cl-1",
        "funding": {"route": "self_funded"}})
    await _screen(clinic, pathway, walk)
    course = await clinic.until(lambda: _course(clinic, pathway), what="the course to open")
    await _prepare(clinic, course["course_id"], _first_dose(walk) - timedelta(days=1))
    return pathway, course["course_id"]


def _first_dose(walk: Walk) -> datetime:
    """When the walk's first session was dosed: early enough for every session, three days apart, to be over."""
    return (datetime.now(UTC) - timedelta(days=DAYS_BETWEEN_SESSIONS * (walk.sessions - 1), hours=2, minutes=10)
            ).replace(second=0, microsecond=0)


async def _prepare(clinic: Clinic, course_id: str, at: datetime) -> None:
    """The preparation session and the client's written consent (recording either again replaces it)."""
    await clinic.expect(204, "sessions", "POST", f"/courses/{course_id}/preparation", who=THERAPIST,
                        json={**PREPARATION, "held_at": at.isoformat()})
    await clinic.expect(204, "sessions", "POST", f"/courses/{course_id}/consent", who=CLINICIAN,
                        json={"form_version": "consent-2026.1", "signed_at": at.isoformat()})


async def _log_callback(clinic: Clinic, pathway: uuid.UUID, attempt: int, outcome: str) -> None:
    details = await clinic.expect(200, "intake", "GET", f"/enquiries/{pathway}", who=CONTACT,
                                  headers={"X-Access-Purpose": "contact_centre_workflow"})
    if details["enquiry"]["callback_attempts"] < attempt:  # not logged yet (a retried request may have been)
        await clinic.expect(201, "intake", "POST", f"/enquiries/{pathway}/callbacks", who=CONTACT,
                            json={"outcome": outcome})


async def _screen(clinic: Clinic, pathway: uuid.UUID, walk: Walk) -> None:
    # The booked clinician is on the care team; they bring in the doctor and the nurse (the course's team after).
    await clinic.until(lambda: _ok(clinic, "screening", f"/pathways/{pathway}/screening", who=CLINICIAN),
                       what="the screening case")
    for colleague in ({"staff_id": DOCTOR[1], "role": "doctor"}, {"staff_id": NURSE[1], "role": "nurse"}):
        await clinic.expect(204, "screening", "POST", f"/pathways/{pathway}/care-team", who=CLINICIAN, json=colleague)
    phq9 = PHQ9_BASELINE[:8] + [1] if walk.item9_at_baseline else PHQ9_BASELINE
    for instrument, answers in (("phq9", phq9), ("gad7", GAD7_BASELINE)):
        await clinic.expect(201, "screening", "POST", f"/pathways/{pathway}/measures", who=CLINICIAN,
                            headers={"Idempotency-Key": f"baseline-{instrument}"},
                            json={"instrument": instrument, "answers": answers, "context": "baseline"})
    history = {"conditions": [], "medicine_classes": ["ssris"], "blood_pressure": {"systolic": 126, "diastolic": 82},
               "weight_kg": 74.0}
    await clinic.until(lambda: _recorded(clinic, pathway, history), what="the enquiry's facts to reach screening")
    if walk.item9_at_baseline:
        await clinic.expect((200, 409), "screening", "POST", f"/pathways/{pathway}/risk-review", who=DOCTOR,
                            json={"risk_level": "low"})
    await clinic.expect((200, 409), "screening", "POST", f"/pathways/{pathway}/sign-off", who=DOCTOR,
                        json={"outcome": "eligible"})


async def _recorded(clinic: Clinic, pathway: uuid.UUID, history: dict) -> bool:
    response = await clinic.request("screening", "POST", f"/pathways/{pathway}/history", who=CLINICIAN, json=history)
    return response.status_code == 200 or "signed off" in response.text


async def _dosing_session(clinic: Clinic, course_id: str, pathway: uuid.UUID, number: int, dosed_at: datetime
                          ) -> None:
    """One session charted after the fact: checked 20 minutes before the dose, readings at 40 and 120 minutes,
    discharged at 125. Each round reads the session and takes its next step; a step whose answer was lost is seen
    done on the next read (409 for a step already taken)."""
    at = lambda minutes: (dosed_at + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    for _ in range(MAX_ROUNDS_PER_SESSION):
        session = await _current_session(clinic, pathway, number)
        if session is not None and session["status"] == "discharged":
            await _waste_remainder(clinic, session["session_id"])
            await _follow_up(clinic, pathway, number, session["session_id"])
            return
        if session is None:
            await clinic.expect((201, 409), "sessions", "POST", f"/courses/{course_id}/sessions", who=NURSE,
                                json={"scheduled_at": at(-60)})
            continue
        sid, status = session["session_id"], session["status"]
        if status == "scheduled":
            step = ("pre-dose-check", NURSE, {**PRE_DOSE, "measured_at": at(-20)})
        elif status == "ready" and session["dose"] is None:
            step = ("dose-order", DOCTOR, IV)
        elif status == "ready":
            step = ("dose", NURSE, {**SUPPLY, "given_at": at(0)})
        elif session["witnessed"] is None:
            step = ("dose/witness", DOCTOR, None)
        else:
            await _chart_readings_and_discharge(clinic, session, at)
            continue
        path, who, body = step
        await clinic.expect((200, 409), "sessions", "POST", f"/sessions/{sid}/{path}", who=who, json=body)
    raise RuntimeError(f"session {number} of pathway {pathway} did not reach discharge")


async def _chart_readings_and_discharge(clinic: Clinic, session: dict, at: Callable[[int], str]) -> None:
    sid = session["session_id"]
    charted = {datetime.fromisoformat(v["measured_at"]) for v in session["vitals"] if v["phase"] == "in_session"}
    for minutes, moaas in ((40, 4), (120, 5)):
        if datetime.fromisoformat(at(minutes)) not in charted:
            await clinic.expect(201, "sessions", "POST", f"/sessions/{sid}/vitals", who=NURSE, json={
                **CALM, "moaas": moaas, "cadss": [1, 1, 1, 0, 0, 0] if moaas < 5 else [0] * 6,
                "measured_at": at(minutes)})
    await clinic.expect((200, 409), "sessions", "POST", f"/sessions/{sid}/discharge", who=CLINICIAN,
                        json={"checklist": CHECKLIST, "discharged_at": at(125)})


async def stock_the_register(clinic: Clinic, vials: int) -> dict:
    """A witnessed receipt of ``vials`` vials of the product the walks dose from (call it once, before walking)."""
    expiry = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()
    return await clinic.expect(201, "register", "POST", f"/pages/{VIAL}/receipts", who=PHARMACY, json={
        "quantity_units": vials, "supplier": "Synthetic Pharmaceuticals Ltd", "batch": BATCH, "expiry": expiry,
        "witnessed_by": "rn-1"})


async def _waste_remainder(clinic: Clinic, session_id: str) -> None:
    """The nurse destroys what is left in the opened vial, witnessed by the doctor, once the dose is in the register
    (409 afterwards: already recorded)."""
    await clinic.until(lambda: _ok(clinic, "register", f"/administrations/{session_id}"),
                       what="the dose to reach the register")
    await clinic.expect((201, 409), "register", "POST", f"/pages/{VIAL}/wastage", who=NURSE, json={
        "amount_mg": WASTED_MG, "reason": "unused_remainder", "session_id": session_id, "witnessed_by": "dr-1"})


async def _follow_up(clinic: Clinic, pathway: uuid.UUID, number: int, session_id: str) -> None:
    """The PHQ-9 after the session (and the GAD-7 after every second one), then the integration session."""
    follow_ups = {"phq9": FOLLOW_UP_PHQ9[number - 1]} | ({"gad7": FOLLOW_UP_GAD7[number]}
                                                          if number in FOLLOW_UP_GAD7 else {})
    for instrument, total in follow_ups.items():
        await clinic.expect(201, "screening", "POST", f"/pathways/{pathway}/measures", who=CLINICIAN,
                            headers={"Idempotency-Key": f"follow-up-{instrument}-{number}"},
                            json={"instrument": instrument, "context": "follow_up",
                                  "answers": answers_totalling(total, items=9 if instrument == "phq9" else 7)})
        # Measures reach the course through Kafka; let them land before the integration closes the session.
        await clinic.until(lambda i=instrument, t=total: _measure_seen(clinic, pathway, i, t, number),
                           what="course progress")
    integration = await clinic.until(lambda: _integration(clinic, pathway, session_id),
                                     what="the integration session")
    await clinic.expect((200, 409), "sessions", "POST", f"/integrations/{integration}/complete", who=THERAPIST,
                        json=INTEGRATION)


async def dose_and_breach(clinic: Clinic, course_id: str) -> float:
    """A dosing session happening now whose in-session reading breaches the SpO2 limit; when (monotonic) the reading
    was posted."""
    now = datetime.now(UTC)
    session = await clinic.expect(201, "sessions", "POST", f"/courses/{course_id}/sessions", who=NURSE,
                                  json={"scheduled_at": now.isoformat()})
    sid = session["session_id"]
    await clinic.expect(200, "sessions", "POST", f"/sessions/{sid}/pre-dose-check", who=NURSE, json=PRE_DOSE)
    await clinic.expect(200, "sessions", "POST", f"/sessions/{sid}/dose-order", who=DOCTOR, json=IV)
    await clinic.expect(200, "sessions", "POST", f"/sessions/{sid}/dose", who=NURSE, json=SUPPLY)
    posted = time.monotonic()
    await clinic.expect(201, "sessions", "POST", f"/sessions/{sid}/vitals", who=NURSE,
                        json={**CALM, "spo2": 89, "moaas": 4})
    return posted


async def release_safety_hold(clinic: Clinic, pathway: uuid.UUID) -> None:
    """A doctor's risk review finds low risk; waits until sessions has released the course's hold."""
    await clinic.expect(200, "screening", "POST", f"/pathways/{pathway}/risk-review", who=DOCTOR,
                        json={"risk_level": "low"})
    await clinic.until(lambda: _not_held(clinic, pathway), what="the safety hold to be released")


async def _not_held(clinic: Clinic, pathway: uuid.UUID) -> bool:
    return (await _course(clinic, pathway))["safety_hold"] is None


def answers_totalling(total: int, *, items: int = 9) -> list[int]:
    """Answers (0-3 each) with this total, the last item at 0 (PHQ-9's item 9 never endorsed)."""
    answers = [0] * items
    for i in range(items - 1):
        answers[i] = min(3, total - sum(answers))
    return answers


async def _ok(clinic: Clinic, service: str, path: str, *, who: tuple[str, str] = NURSE) -> bool:
    return (await clinic.request(service, "GET", path, who=who)).status_code == 200


async def _course(clinic: Clinic, pathway: uuid.UUID) -> dict | None:
    response = await clinic.request("sessions", "GET", f"/pathways/{pathway}/course", who=NURSE)
    return response.json() if response.status_code == 200 else None


async def _current_session(clinic: Clinic, pathway: uuid.UUID, number: int) -> dict | None:
    """The session this step works on: the course's number-th one, if it was already scheduled."""
    sessions = (await _course(clinic, pathway))["sessions"]
    return sessions[number - 1] if len(sessions) >= number else None


async def _measure_seen(clinic: Clinic, pathway: uuid.UUID, instrument: str, total: int, after_session: int) -> bool:
    trajectory = (await _course(clinic, pathway))["outcomes"][instrument]["trajectory"]
    return any((m["total"], m["after_session"]) == (total, after_session) for m in trajectory)


async def _integration(clinic: Clinic, pathway: uuid.UUID, session_id: str) -> str | None:
    course = await _course(clinic, pathway)
    return next((i["integration_id"] for i in course["integrations"] if i["session_id"] == session_id), None)


async def _completed(clinic: Clinic, pathway: uuid.UUID) -> bool:
    return (await _course(clinic, pathway))["status"] == "completed"
