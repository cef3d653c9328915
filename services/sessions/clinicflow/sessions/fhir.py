"""FHIR export (docs/clinical-rules.md §7). One dosing session: Encounter, Procedure, MedicationAdministration and
vital-sign Observations (LOINC: BP panel 85354-9, systolic 8480-6, diastolic 8462-4, HR 8867-4, SpO2 2708-6,
respiratory rate 9279-1); who gave and who witnessed the dose are its performers. One course: CarePlan, Consent,
and an Observation per questionnaire total taken during it (PHQ-9 44261-6, GAD-7 70274-6, PCL-5 101698-9, pain NRS
72514-3).

Validated with fhir.resources' R4B models, which match R4 for these resources. The subject is the opaque pathway id.
"""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle

from clinicflow.sessions.course import Course
from clinicflow.sessions.dosing_session import DosingSession, SessionStatus, VitalsReading
from clinicflow.sessions.outcomes import CourseMeasure

LOINC = "http://loinc.org"
VITAL_SIGNS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                           "code": "vital-signs"}]}
ROUTES = {"iv": "Intravenous", "im": "Intramuscular", "intranasal": "Nasal"}
MEDICINES = {"iv": "ketamine", "im": "ketamine", "intranasal": "esketamine"}
INSTRUMENT_TOTALS = {"phq9": "44261-6", "gad7": "70274-6", "pcl5": "101698-9", "pain_nrs": "72514-3"}
CARE_PLAN_STATUS = {"active": "active", "completed": "completed", "stopped": "revoked", "withdrawn": "revoked"}


def session_bundle(session: DosingSession, readings: list[VitalsReading]) -> dict:
    """A validated collection Bundle for one session, as JSON-ready data."""
    subject = {"reference": f"Patient/{session.pathway_id}"}
    encounter_ref = {"reference": f"Encounter/{session.id}"}
    resources = [_encounter(session, subject)]
    if session.given is not None:
        resources += [_procedure(session, subject, encounter_ref), _administration(session, subject, encounter_ref)]
    for n, reading in enumerate(readings):
        resources += _observations(session, n, reading, subject, encounter_ref)
    return _bundle(resources)


def course_bundle(course: Course, measures: list[CourseMeasure]) -> dict:
    """A validated collection Bundle for one course (CarePlan, Consent, measures), as JSON-ready data."""
    subject = {"reference": f"Patient/{course.pathway_id}"}
    period = {"start": course.started_at.isoformat()} | (
        {"end": course.completed_at.isoformat()} if course.completed_at else {})
    resources = [{
        "resourceType": "CarePlan", "id": str(course.id), "status": CARE_PLAN_STATUS[course.status],
        "intent": "plan", "subject": subject, "period": period,
        "title": f"ketamine-assisted therapy: {course.planned_sessions} dosing sessions ({course.phase})",
        "activity": [{"detail": {"kind": "Appointment", "status": "scheduled" if course.status == "active"
                                 else "stopped" if course.status in ("stopped", "withdrawn") else "completed",
                                 "code": {"text": "dosing session"},
                                 "scheduledString": f"{course.planned_sessions} sessions"}}],
    }]
    if course.consent is not None:
        resources.append({
            "resourceType": "Consent", "id": f"{course.id}-consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "treatment"}]},
            "category": [{"text": f"written consent to the course, form {course.consent.form_version}"}],
            "patient": subject, "dateTime": course.consent.act.at.isoformat(),
            "performer": [{"reference": f"Practitioner/{course.consent.act.by}"}],
            "policyRule": {"text": course.consent.form_version},
        })
    resources += [{
        "resourceType": "Observation", "id": str(m.measure_id), "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "survey"}]}],
        "code": {"coding": [{"system": LOINC, "code": INSTRUMENT_TOTALS[m.instrument]}], "text": m.instrument},
        "subject": subject, "effectiveDateTime": m.measured_at.isoformat(), "valueInteger": m.total,
        "basedOn": [{"reference": f"CarePlan/{course.id}"}],
    } for m in measures if m.instrument in INSTRUMENT_TOTALS]
    return _bundle(resources)


def _bundle(resources: list[dict]) -> dict:
    bundle = Bundle.model_validate({
        "resourceType": "Bundle", "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    })
    return bundle.model_dump(mode="json", exclude_none=True)


def _encounter(session: DosingSession, subject: dict) -> dict:
    period = {"start": (session.dosed_at or session.scheduled_at).isoformat()}
    left = session.discharged or session.ended
    if left:
        period["end"] = left.at.isoformat()
    status = "cancelled" if session.status is SessionStatus.CANCELLED else "finished" if left else "in-progress"
    return {
        "resourceType": "Encounter", "id": str(session.id), "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": subject, "period": period,
    }


def _procedure(session: DosingSession, subject: dict, encounter: dict) -> dict:
    return {
        "resourceType": "Procedure", "id": f"{session.id}-procedure",
        "status": "completed" if session.discharged_at else "in-progress",
        "code": {"text": "ketamine-assisted therapy dosing session"},
        "subject": subject, "encounter": encounter, "performedDateTime": session.dosed_at.isoformat(),
    }


def _administration(session: DosingSession, subject: dict, encounter: dict) -> dict:
    dose = session.dose
    return {
        "resourceType": "MedicationAdministration", "id": f"{session.id}-dose", "status": "completed",
        "medicationCodeableConcept": {"text": MEDICINES[dose.route]},
        "subject": subject, "context": encounter, "effectiveDateTime": session.dosed_at.isoformat(),
        "performer": [{"actor": {"reference": f"Practitioner/{act.by}"}} for act in (session.given, session.witnessed)
                      if act is not None],
        "dosage": {"route": {"text": ROUTES[dose.route]},
                   "dose": {"value": dose.mg, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}},
    }


def _observations(session: DosingSession, n: int, reading: VitalsReading, subject: dict, encounter: dict) -> list[dict]:
    v, at = reading.vitals, reading.measured_at.isoformat()

    def quantity(value: int, unit: str, code: str) -> dict:
        return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": code}

    def observation(suffix: str, loinc: str, **rest: object) -> dict:
        return {"resourceType": "Observation", "id": f"{session.id}-{n}-{suffix}", "status": "final",
                "category": [VITAL_SIGNS], "code": {"coding": [{"system": LOINC, "code": loinc}]},
                "subject": subject, "encounter": encounter, "effectiveDateTime": at, **rest}

    return [
        observation("bp", "85354-9", component=[
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
             "valueQuantity": quantity(v.systolic, "mmHg", "mm[Hg]")},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
             "valueQuantity": quantity(v.diastolic, "mmHg", "mm[Hg]")},
        ]),
        observation("hr", "8867-4", valueQuantity=quantity(v.heart_rate, "beats/minute", "/min")),
        observation("spo2", "2708-6", valueQuantity=quantity(v.spo2, "%", "%")),
    ] + ([observation("rr", "9279-1", valueQuantity=quantity(v.respiratory_rate, "breaths/minute", "/min"))]
         if v.respiratory_rate is not None else [])
