"""FHIR export of one dosing session: Encounter, Procedure, MedicationAdministration and vital-sign Observations
(docs/clinical-rules.md §7; LOINC: BP panel 85354-9, systolic 8480-6, diastolic 8462-4, HR 8867-4, SpO2 2708-6,
respiratory rate 9279-1). Who gave and who witnessed the dose are its performers.

Validated with fhir.resources' R4B models, which match R4 for these resources. The subject is the opaque pathway id.
"""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle

from clinicflow.sessions.domain import DosingSession, SessionStatus, VitalsReading

LOINC = "http://loinc.org"
VITAL_SIGNS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                           "code": "vital-signs"}]}
ROUTES = {"iv": "Intravenous", "im": "Intramuscular", "intranasal": "Nasal"}
MEDICINES = {"iv": "ketamine", "im": "ketamine", "intranasal": "esketamine"}


def session_bundle(session: DosingSession, readings: list[VitalsReading]) -> dict:
    """A validated collection Bundle for one session, as JSON-ready data."""
    subject = {"reference": f"Patient/{session.pathway_id}"}
    encounter_ref = {"reference": f"Encounter/{session.id}"}
    resources = [_encounter(session, subject)]
    if session.given is not None:
        resources += [_procedure(session, subject, encounter_ref), _administration(session, subject, encounter_ref)]
    for n, reading in enumerate(readings):
        resources += _observations(session, n, reading, subject, encounter_ref)
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
