"""``clinicflow demo``: walk one synthetic client through the whole pathway on a running system.

Everything goes through the services' public HTTP APIs with staff tokens minted from ``AUTH_JWT_SECRET``; a Kafka
reader prints the pathway's events (and the notifications they cause) as they happen. Dosing sessions are charted
with times up to two hours back, as a nurse charting after the fact would, so a two-hour monitored session takes
seconds; everything else is real.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaConsumer

from clinicflow.shared.auth import mint_token
from clinicflow.shared.catalogue import CATALOGUE
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.kafka import client_options
from clinicflow.shared.settings import AuthSettings, KafkaSettings

SERVICES = {"intake": 8001, "screening": 8002, "sessions": 8003, "notifications": 8004}
PHQ9_BASELINE = [2, 2, 3, 2, 2, 2, 2, 3, 0]  # 18: moderately severe, item 9 not endorsed
GAD7_BASELINE = [2, 2, 2, 1, 1, 2, 1]  # 11: moderate
FOLLOW_UP_PHQ9 = [14, 11, 8, 6, 4, 3]
SESSIONS = 6


@dataclass
class Timeline:
    """The pathway's events as they arrive, printed and kept."""

    pathway_id: uuid.UUID | None = None
    started: float = field(default_factory=time.monotonic)
    events: list[Envelope] = field(default_factory=list)
    echo: bool = True

    def add(self, envelope: Envelope) -> None:
        if envelope.subject != self.pathway_id:
            return
        self.events.append(envelope)
        if self.echo:
            print(f"  +{time.monotonic() - self.started:6.1f}s  {envelope.source.split('/')[-1]:<13} "
                  f"{envelope.type:<26} {_summary(envelope)}", flush=True)

    def count(self, event_type: str) -> int:
        return sum(e.type == event_type for e in self.events)


def _summary(envelope: Envelope) -> str:
    keys = ("outcome", "instrument", "total", "band", "reason", "session_number", "dose_mg", "route", "channel",
            "recipient_role", "latest_phq9", "response", "remission", "attempt_number", "breached")
    return " ".join(f"{k}={envelope.data[k]}" for k in keys if k in envelope.data)


async def follow(settings: KafkaSettings, timeline: Timeline, ready: asyncio.Event) -> None:
    """Print every event about the timeline's pathway, from now on."""
    topics = [settings.topic_prefix + spec.topic for spec in CATALOGUE.values() if not spec.identifiable]
    consumer = AIOKafkaConsumer(*topics, group_id=None, auto_offset_reset="latest", **client_options(settings))
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.1)
        for partition in consumer.assignment():
            await consumer.position(partition)  # pin "latest" before the walk starts
        ready.set()
        while True:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    timeline.add(Envelope.from_bytes(record.value))
    finally:
        await consumer.stop()


class Staff:
    """HTTP clients for the services, and tokens for the members of staff in the demo."""

    def __init__(self, secret: str, host: str) -> None:
        self._secret = secret
        ports = {name: int(os.environ.get(f"{name.upper()}_HTTP_PORT", port)) for name, port in SERVICES.items()}
        self.http = {name: httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30)
                     for name, port in ports.items()}

    def as_(self, role: str, staff_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self._secret, staff_id=staff_id, roles=[role])}"}

    async def call(self, service: str, method: str, path: str, *, who: tuple[str, str] | None = None,
                   json: dict | None = None, expect: int = 200) -> dict:
        headers = self.as_(*who) if who else {}
        response = await self.http[service].request(method, path, json=json, headers=headers)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {service}{path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else {}

    async def close(self) -> None:
        for client in self.http.values():
            await client.aclose()


async def until(check, *, timeout: float = 60, what: str) -> object:  # noqa: ANN001
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


CONTACT = ("contact_centre", "cc-1")
CLINICIAN = ("clinician", "cl-1")
DOCTOR = ("doctor", "dr-1")
NURSE = ("nurse", "rn-1")
THERAPIST = ("therapist", "th-1")


async def walk_pathway(staff: Staff, timeline: Timeline) -> uuid.UUID:
    """Enquiry → call-backs → booking → screening → sign-off → six sessions with integration → course outcome."""
    enquiry = await staff.call("intake", "POST", "/enquiries", expect=201, json={
        "first_name": "Demo", "last_name": "Client", "email": "demo.client@example.org", "phone": "07912 345678",
        "date_of_birth": "1986-03-14", "concerns": ["depression", "anxiety"], "story": "Synthetic demo client.",
        "preferred_contact_window": "morning", "consent_to_contact": True, "privacy_notice_version": "2026-01"})
    pathway = uuid.UUID(enquiry["enquiry_id"])
    timeline.pathway_id = pathway
    await staff.call("intake", "GET", f"/enquiries/{pathway}", who=CONTACT)
    await staff.call("intake", "POST", f"/enquiries/{pathway}/callbacks", who=CONTACT, expect=201,
                     json={"outcome": "no_answer"})
    await staff.call("intake", "POST", f"/enquiries/{pathway}/callbacks", who=CONTACT, expect=201,
                     json={"outcome": "reached"})
    await staff.call("intake", "POST", f"/enquiries/{pathway}/assessment", who=CONTACT, json={
        "assessment_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "clinician_id": "cl-1",
        "funding": {"route": "self_funded"}})
    await _screen(staff, pathway)
    course = await until(lambda: _course(staff, pathway), what="the course to open")
    for number in range(1, SESSIONS + 1):
        await _dosing_session(staff, timeline, course["course_id"], pathway, number)
    await until(lambda: _done(timeline), timeout=60, what="course.completed")
    return pathway


async def _screen(staff: Staff, pathway: uuid.UUID) -> None:
    await until(lambda: _exists(staff, "screening", f"/pathways/{pathway}/screening"), what="the screening case")
    for instrument, answers in (("phq9", PHQ9_BASELINE), ("gad7", GAD7_BASELINE)):
        await staff.call("screening", "POST", f"/pathways/{pathway}/measures", who=CLINICIAN, expect=201,
                         json={"instrument": instrument, "answers": answers, "context": "baseline"})
    await until(lambda: _history(staff, pathway), what="the enquiry's facts to reach screening")
    await staff.call("screening", "POST", f"/pathways/{pathway}/sign-off", who=DOCTOR, json={"outcome": "eligible"})


async def _history(staff: Staff, pathway: uuid.UUID) -> bool:
    response = await staff.http["screening"].post(
        f"/pathways/{pathway}/history", headers=staff.as_(*CLINICIAN),
        json={"conditions": [], "medicine_classes": ["ssris"], "blood_pressure": {"systolic": 126, "diastolic": 82},
              "weight_kg": 74.0})
    return response.status_code == 200


async def _dosing_session(staff: Staff, timeline: Timeline, course_id: str, pathway: uuid.UUID, number: int) -> None:
    now = datetime.now(UTC)
    session = await staff.call("sessions", "POST", f"/courses/{course_id}/sessions", who=NURSE, expect=201,
                               json={"scheduled_at": now.isoformat()})
    sid = session["session_id"]
    calm = {"systolic": 128, "diastolic": 82, "heart_rate": 74, "spo2": 98}
    await staff.call("sessions", "POST", f"/sessions/{sid}/pre-dose-check", who=NURSE, json={
        **calm, "weight_kg": 74.0, "escort_confirmed": True, "interacting_medicines_since_last": False})
    dosed = now - timedelta(minutes=125)
    await staff.call("sessions", "POST", f"/sessions/{sid}/dose", who=DOCTOR, json={
        "route": "iv", "dose_mg_per_kg": 0.5, "given_at": dosed.isoformat()})
    for minutes, moaas, cadss in ((40, 4, [2, 2, 1, 1, 0, 1]), (120, 5, [0] * 6)):
        await staff.call("sessions", "POST", f"/sessions/{sid}/vitals", who=NURSE, expect=201, json={
            **calm, "systolic": 146 if minutes == 40 else 128, "moaas": moaas, "cadss": cadss,
            "measured_at": (dosed + timedelta(minutes=minutes)).isoformat()})
    await staff.call("sessions", "POST", f"/sessions/{sid}/discharge", who=CLINICIAN, json={"checklist": {
        k: True for k in ("vitals_back_in_range", "moaas_5", "escort_present", "no_driving_until_next_day_advised",
                          "instructions_given", "next_session_booked", "integration_booked")}})
    await staff.call("screening", "POST", f"/pathways/{pathway}/measures", who=CLINICIAN, expect=201, json={
        "instrument": "phq9", "context": "follow_up",
        "answers": _answers_totalling(FOLLOW_UP_PHQ9[number - 1])})
    # The follow-up reaches the course through Kafka; let it land before the session's integration closes it.
    await until(lambda: _progressed(timeline, number), what="the course's progress")
    integration = await until(lambda: _integration(staff, pathway, sid), what="the integration session")
    await staff.call("sessions", "POST", f"/integrations/{integration}/complete", who=THERAPIST)


def _answers_totalling(total: int) -> list[int]:
    answers = [0] * 9
    for i in range(8):  # item 9 stays 0
        answers[i] = min(3, total - sum(answers))
    return answers


async def _exists(staff: Staff, service: str, path: str) -> bool:
    return (await staff.http[service].get(path, headers=staff.as_(*NURSE))).status_code == 200


async def _course(staff: Staff, pathway: uuid.UUID) -> dict | None:
    response = await staff.http["sessions"].get(f"/pathways/{pathway}/course", headers=staff.as_(*NURSE))
    return response.json() if response.status_code == 200 else None


async def _integration(staff: Staff, pathway: uuid.UUID, session_id: str) -> str | None:
    course = await _course(staff, pathway)
    return next((i["integration_id"] for i in course["integrations"] if i["session_id"] == session_id), None)


async def _progressed(timeline: Timeline, updates: int) -> bool:
    return timeline.count("course.progress.updated") >= updates


async def _done(timeline: Timeline) -> bool:
    return timeline.count("course.completed") > 0


async def run_demo(*, host: str = "127.0.0.1", echo: bool = True) -> Timeline:
    """Walk the pathway on a running system; returns its timeline."""
    secret = AuthSettings().jwt_secret
    if secret is None:
        raise SystemExit("AUTH_JWT_SECRET is not set: `source .run/local.env` while `make run` is going")
    timeline = Timeline(echo=echo)
    ready = asyncio.Event()
    reader = asyncio.create_task(follow(KafkaSettings(), timeline, ready))
    staff = Staff(secret.get_secret_value(), host)
    try:
        await asyncio.wait_for(ready.wait(), 30)
        print("walking a synthetic client through the pathway; events as they happen:", flush=True)
        pathway = await walk_pathway(staff, timeline)
        await asyncio.sleep(2)  # the last notifications
        [completed] = [e for e in timeline.events if e.type == "course.completed"]
        print(f"\npathway {pathway}: {len(timeline.events)} events; course completed after "
              f"{completed.data['sessions_completed']} sessions, PHQ-9 {completed.data['baseline_phq9']} → "
              f"{completed.data['final_phq9']} ({completed.data['change_percent']}%), response "
              f"{completed.data['response']}, remission {completed.data['remission']}", flush=True)
        return timeline
    finally:
        reader.cancel()
        await staff.close()
