"""Questionnaire scoring exactly as docs/clinical-rules.md §2 says, at every band boundary."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from clinicflow.screening.rules import load_rules
from clinicflow.screening.scoring import pcl5_meets_dsm5_clusters, readable_item9, score
from clinicflow.shared.errors import InvalidFields
from clinicflow.shared.rulefiles import RuleFileError

RULES = load_rules()
RULES_FILE = resources.files("clinicflow.screening") / "rulefiles" / "default.json"


def answers_totalling(total: int, items: int, high: int) -> list[int]:
    """Answers that sum to ``total``, filled from the first item."""
    answers = []
    for _ in range(items):
        answers.append(min(high, total))
        total -= answers[-1]
    assert total == 0
    return answers


@pytest.mark.parametrize(("total", "band"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe"),
])
def test_phq9_bands(total, band):
    result = score("phq9", answers_totalling(total, 9, 3), RULES)
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(("total", "band", "evaluate"), [
    (0, "minimal", False), (4, "minimal", False), (5, "mild", False), (9, "mild", False),
    (10, "moderate", True), (14, "moderate", True), (15, "severe", True), (21, "severe", True),
])
def test_gad7_bands_and_evaluation_at_10(total, band, evaluate):
    result = score("gad7", answers_totalling(total, 7, 3), RULES)
    assert (result.total, result.band) == (total, band)
    assert ("gad7_warrants_evaluation" in result.flags) is evaluate


@pytest.mark.parametrize(("total", "band"), [(0, "none"), (1, "mild"), (3, "mild"), (4, "moderate"),
                                              (6, "moderate"), (7, "severe"), (10, "severe")])
def test_pain_nrs_bands(total, band):
    assert score("pain_nrs", [total], RULES).band == band


@pytest.mark.parametrize(("total", "provisional"), [(0, False), (32, False), (33, True), (80, True)])
def test_pcl5_provisional_ptsd_at_the_default_cut_off_of_33(total, provisional):
    result = score("pcl5", answers_totalling(total, 20, 4), RULES)
    assert result.provisional_ptsd is provisional
    assert result.band == ("provisional_ptsd" if provisional else "below_cut_off")


def test_pcl5_cut_off_is_configurable_within_31_to_33(tmp_path):
    raw = json.loads(RULES_FILE.read_text())
    raw["pcl5_provisional_cut_off"] = 31
    (tmp_path / "r.json").write_text(json.dumps(raw))
    assert score("pcl5", answers_totalling(31, 20, 4), load_rules(tmp_path / "r.json")).provisional_ptsd
    raw["pcl5_provisional_cut_off"] = 30
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(RuleFileError, match="pcl5_provisional_cut_off: must be from 31 to 33"):
        load_rules(tmp_path / "bad.json")


def cluster_answers(b=0, c=0, d=0, e=0) -> list[int]:
    """PCL-5 answers with the given number of items rated 2 in each cluster (the rest 1)."""
    sizes = {"b": 5, "c": 2, "d": 7, "e": 6}
    counts = {"b": b, "c": c, "d": d, "e": e}
    return [2 if i < counts[k] else 1 for k in "bcde" for i in range(sizes[k])]


def test_pcl5_dsm5_cluster_rule_needs_one_b_one_c_two_d_two_e():
    assert pcl5_meets_dsm5_clusters(cluster_answers(1, 1, 2, 2))
    assert not pcl5_meets_dsm5_clusters(cluster_answers(0, 1, 2, 2))
    assert not pcl5_meets_dsm5_clusters(cluster_answers(1, 0, 2, 2))
    assert not pcl5_meets_dsm5_clusters(cluster_answers(1, 1, 1, 2))
    assert not pcl5_meets_dsm5_clusters(cluster_answers(1, 1, 2, 1))
    assert "pcl5_dsm5_clusters_met" in score("pcl5", cluster_answers(1, 1, 2, 2), RULES).flags


@pytest.mark.parametrize(("item9", "flagged"), [(0, False), (1, True), (3, True)])
def test_any_phq9_item9_answer_of_1_or_more_is_flagged_whatever_the_total(item9, flagged):
    result = score("phq9", [0] * 8 + [item9], RULES)
    assert ("phq9_item9_self_harm_thoughts" in result.flags) is flagged
    assert result.band == "minimal"


@pytest.mark.parametrize(("instrument", "answers", "field"), [
    ("phq9", [0] * 8, "answers"),
    ("phq9", [0] * 10, "answers"),
    ("phq9", [0, 0, 4, 0, 0, 0, 0, 0, 0], "answers.2"),
    ("gad7", [0, 0, 0, 0, 0, 0, -1], "answers.6"),
    ("pcl5", [0] * 19 + [5], "answers.19"),
    ("pain_nrs", [11], "answers.0"),
    ("pain_nrs", [True], "answers.0"),
])
def test_wrong_counts_and_out_of_range_answers_name_the_item(instrument, answers, field):
    with pytest.raises(InvalidFields) as invalid:
        score(instrument, answers, RULES)
    assert [p.field for p in invalid.value.problems] == [field]


def test_every_bad_item_is_named_at_once():
    with pytest.raises(InvalidFields) as invalid:
        score("phq9", [0, 4, 0, "2", 0, 0, None, 0], RULES)
    assert [p.field for p in invalid.value.problems] == ["answers", "answers.1", "answers.3", "answers.6"]


@pytest.mark.parametrize(("answers", "item9"), [
    ([0] * 8 + [3], 3),  # a complete form
    ([0, 9, 0, 0, 0, 0, 0, 0, 2], 2),  # another item out of range
    ([0] * 8 + [1, 0], 1),  # one answer too many
    ([0] * 8 + [0], 0),  # read, and below the threshold
    ([0] * 8, None),  # no ninth answer
    ([0] * 8 + [4], None),  # out of range: not an answer to item 9
    ([0] * 8 + ["3"], None),  # not an integer
    ([0] * 8 + [True], None),
])
def test_item9_is_read_on_its_own_whatever_else_is_wrong(answers, item9):
    assert readable_item9("phq9", answers) == item9


def test_item9_belongs_to_the_phq9_only():
    assert readable_item9("gad7", [0] * 8 + [3]) is None

