"""Contraindication proposals (docs/clinical-rules.md §3) and the doctor's sign-off rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from clinicflow.screening.contraindications import History, Proposal, propose
from clinicflow.screening.domain import CaseStatus, ScreeningCase, SignOff, required_baseline
from clinicflow.screening.rules import load_rules
from clinicflow.shared.errors import IllegalMove, InvalidField

RULES = load_rules()
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def history(*conditions: str, medicines=(), bp=(120, 80)) -> History:  # noqa: ANN001
    return History(frozenset(conditions), frozenset(medicines), bp[0], bp[1], 70.0)


def test_no_contraindication_proposes_eligible():
    assert propose(history(), age_band="35-44", rules=RULES).outcome == "eligible"


@pytest.mark.parametrize("code", sorted(RULES.absolute_contraindications))
def test_each_absolute_contraindication_proposes_ineligible(code):
    proposal = propose(history(code), age_band="35-44", rules=RULES)
    assert (proposal.outcome, proposal.absolute) == ("ineligible", (code,))


@pytest.mark.parametrize("code", sorted(RULES.relative_contraindications))
def test_each_relative_contraindication_proposes_needs_review(code):
    proposal = propose(history(code), age_band="35-44", rules=RULES)
    assert (proposal.outcome, proposal.relative) == ("needs_review", (code,))


def test_absolute_wins_over_relative_and_every_reason_is_kept():
    proposal = propose(history("pregnancy", "breastfeeding", medicines=["opioids"]), age_band="65-74", rules=RULES)
    assert proposal.outcome == "ineligible"
    assert proposal.codes == ("pregnancy", "age_65_or_over", "breastfeeding", "interacting_medicines")
    assert proposal.rule_set_version == RULES.version


@pytest.mark.parametrize("medicine", sorted(RULES.interacting_medicine_classes))
def test_interacting_medicines_need_review(medicine):
    assert propose(history(medicines=[medicine]), age_band="35-44", rules=RULES).relative == ("interacting_medicines",)


def test_other_medicines_do_not():
    assert propose(history(medicines=["ssris"]), age_band="35-44", rules=RULES).outcome == "eligible"


@pytest.mark.parametrize(("band", "outcome"),
                         [("55-64", "eligible"), ("65-74", "needs_review"), ("75+", "needs_review")])
def test_age_65_or_over_needs_review(band, outcome):
    assert propose(history(), age_band=band, rules=RULES).outcome == outcome


@pytest.mark.parametrize(("bp", "band", "above"), [
    ((140, 90), "35-44", False), ((141, 90), "35-44", True), ((140, 91), "35-44", True),
    ((150, 90), "65-74", False), ((151, 90), "65-74", True), ((145, 91), "65-74", True),
])
def test_blood_pressure_above_the_pre_dose_guide_is_age_aware(bp, band, above):
    proposal = propose(history(bp=bp), age_band=band, rules=RULES)
    assert ("blood_pressure_above_pre_dose_guide" in proposal.relative) is above


def test_unknown_codes_are_refused_naming_the_field():
    with pytest.raises(InvalidField) as unknown:
        propose(history("feeling_fine"), age_band="35-44", rules=RULES)
    assert unknown.value.field == "conditions"
    with pytest.raises(InvalidField) as unknown:
        propose(history(medicines=["herbal"]), age_band="35-44", rules=RULES)
    assert unknown.value.field == "medicine_classes"


def case(proposal: str | None = "eligible", **changes) -> ScreeningCase:
    p = Proposal(proposal, (), (), RULES.version) if proposal else None
    return ScreeningCase(pathway_id=uuid.uuid4(), status=CaseStatus.OPEN, opened_at=NOW, proposal=p, **changes)


BASELINE = {"phq9", "gad7"}


def sign(c: ScreeningCase, outcome: str, reason: str | None = None, taken=BASELINE) -> ScreeningCase:  # noqa: ANN001
    return c.sign_off(SignOff(outcome, "dr-1", reason), baseline_taken=set(taken), required=BASELINE, now=NOW)


def test_accepting_the_proposal_needs_no_reason():
    signed = sign(case(), "eligible")
    assert (signed.status, signed.outcome, signed.overridden, signed.signed_by) == (
        CaseStatus.SIGNED_OFF, "eligible", False, "dr-1")


def test_overriding_needs_a_written_reason_and_is_recorded():
    with pytest.raises(InvalidField) as missing:
        sign(case("ineligible"), "eligible")
    assert missing.value.field == "override_reason"
    signed = sign(case("ineligible"), "eligible", "cardiology cleared the aneurysm finding")
    assert signed.overridden and signed.override_reason


def test_a_needs_review_proposal_is_decided_with_a_reason_and_is_not_an_override():
    signed = sign(case("needs_review"), "eligible", "BP controlled on recheck")
    assert not signed.overridden
    with pytest.raises(InvalidField):
        sign(case("needs_review"), "ineligible")


def test_sign_off_is_refused_without_history_without_baselines_twice_and_with_an_open_safety_flag():
    with pytest.raises(IllegalMove, match="history"):
        sign(case(None), "eligible")
    with pytest.raises(IllegalMove, match="baseline measures missing: gad7"):
        sign(case(), "eligible", taken={"phq9"})
    with pytest.raises(IllegalMove, match="already signed off"):
        sign(sign(case(), "eligible"), "eligible")
    with pytest.raises(IllegalMove, match="risk review"):
        sign(case().flag_risk(), "eligible")
    assert sign(case().flag_risk(), "ineligible", "risk").outcome == "ineligible"
    assert sign(case().flag_risk().review_risk("low"), "eligible").outcome == "eligible"


@pytest.mark.parametrize("level", ["low", "moderate"])
def test_a_reviewed_risk_below_high_allows_an_eligible_sign_off_as_proposed(level):
    signed = sign(case().flag_risk().review_risk(level), "eligible")
    assert (signed.outcome, signed.overridden) == ("eligible", False)


def test_a_high_risk_review_blocks_an_eligible_sign_off_unless_the_doctor_overrides_with_a_reason():
    high = case().flag_risk().review_risk("high")
    with pytest.raises(InvalidField) as missing:
        sign(high, "eligible")
    assert (missing.value.field, missing.value.kind) == ("override_reason", "high_risk")
    signed = sign(high, "eligible", "psychiatrist reviewed: risk managed with a safety plan")
    assert (signed.outcome, signed.overridden) == ("eligible", True)
    assert sign(high, "ineligible", "high risk on review").outcome == "ineligible"


@pytest.mark.parametrize(("bp", "band", "severe"), [
    ((179, 109), "35-44", False), ((180, 90), "35-44", True), ((170, 110), "35-44", True),
    ((179, 109), "65-74", False), ((200, 120), "75+", True),
])
def test_blood_pressure_at_or_above_180_over_110_proposes_ineligible_until_controlled(bp, band, severe):
    proposal = propose(history(bp=bp), age_band=band, rules=RULES)
    assert ("severe_hypertension_at_screening" in proposal.absolute) is severe
    assert proposal.outcome == "ineligible" if severe else proposal.outcome == "needs_review"
    assert "blood_pressure_above_pre_dose_guide" not in proposal.relative if severe else True


@pytest.mark.parametrize("code", ["uncontrolled_hypertension", "chronic_psychotic_illness"])
def test_uncontrolled_hypertension_and_chronic_psychotic_illness_are_codes_that_propose_ineligible(code):
    assert propose(history(code), age_band="35-44", rules=RULES).outcome == "ineligible"


def test_concerns_add_required_baselines():
    assert required_baseline(("depression",), RULES) == {"phq9", "gad7"}
    assert required_baseline(("ptsd", "chronic_pain"), RULES) == {"phq9", "gad7", "pcl5", "pain_nrs"}
