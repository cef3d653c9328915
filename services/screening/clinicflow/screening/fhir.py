"""FHIR export of a pathway's measures: a QuestionnaireResponse and an Observation per questionnaire
(docs/clinical-rules.md §7).

Resources are validated with fhir.resources' R4B models, which match R4 for the resources used here. The subject is
the opaque pathway id, never a person's identifier.
"""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle

from clinicflow.screening.domain import Measure
from clinicflow.screening.scoring import INSTRUMENTS

LOINC = "http://loinc.org"


def measures_bundle(pathway_id: str, measures: list[Measure]) -> dict:
    """A validated collection Bundle, as JSON-ready data."""
    entries = []
    for measure in measures:
        response = _questionnaire_response(pathway_id, measure)
        entries.append({"fullUrl": f"urn:uuid:{measure.id}", "resource": response})
        entries.append({"fullUrl": f"urn:uuid:{measure.id}-total", "resource": _observation(pathway_id, measure)})
    bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries})
    return bundle.model_dump(mode="json", exclude_none=True)


def _questionnaire_response(pathway_id: str, measure: Measure) -> dict:
    shape = INSTRUMENTS[measure.instrument]
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": str(measure.id),
        "status": "completed",
        "subject": {"reference": f"Patient/{pathway_id}"},
        "authored": measure.recorded_at.isoformat(),
        "item": [
            {"linkId": f"{measure.instrument}_item{n}", "answer": [{"valueInteger": answer}]}
            for n, answer in enumerate(measure.answers, start=1)
        ],
    }
    if shape.loinc_panel:
        response["questionnaire"] = f"{LOINC}/q/{shape.loinc_panel}"
    return response


def _observation(pathway_id: str, measure: Measure) -> dict:
    shape = INSTRUMENTS[measure.instrument]
    return {
        "resourceType": "Observation",
        "id": f"{measure.id}-total",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "survey"}]}],
        "code": {"coding": [{"system": LOINC, "code": shape.loinc_total}], "text": f"{measure.instrument} total"},
        "subject": {"reference": f"Patient/{pathway_id}"},
        "effectiveDateTime": measure.recorded_at.isoformat(),
        "valueInteger": measure.total,
        "interpretation": [{"text": measure.band}],
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{measure.id}"}],
    }
