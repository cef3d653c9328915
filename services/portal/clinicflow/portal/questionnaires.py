"""The questionnaires a clinician enters in the portal: how many items each has and the answers each item takes
(docs/clinical-rules.md §2). Screening scores them; the portal only lays out the form. Items are shown by number,
never by their wording. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Questionnaire:
    """One instrument's form: its name, item count and the highest answer an item takes (the lowest is 0)."""

    code: str
    name: str
    items: int
    highest: int
    notes: dict[int, str]  # item number → what the item is about, where staff must know (never the wording)


QUESTIONNAIRES = {q.code: q for q in (
    Questionnaire("phq9", "PHQ-9 (depression, past 2 weeks)", 9, 3,
                  {9: "thoughts of being better off dead or of self-harm: any answer above 0 alerts the doctor on "
                      "call at once"}),
    Questionnaire("gad7", "GAD-7 (anxiety, past 2 weeks)", 7, 3, {}),
    Questionnaire("pcl5", "PCL-5 (PTSD, past month)", 20, 4, {}),
    Questionnaire("pain_nrs", "Pain NRS (0 none to 10 worst)", 1, 10, {}),
)}
CONTEXTS = {"baseline": "Baseline (before the course)", "pre_session": "Before a dosing session",
            "follow_up": "Follow-up"}


def answers_from_form(questionnaire: Questionnaire, form: dict[str, str]) -> list[int | str]:
    """The answers in item order, as typed: a blank item stays blank so screening refuses it by name (a skipped
    item is never taken as 0)."""
    answers: list[int | str] = []
    for item in range(1, questionnaire.items + 1):
        value = form.get(f"item{item}", "").strip()
        answers.append(int(value) if value.isdigit() else value)
    return answers
