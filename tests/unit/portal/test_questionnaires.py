"""The portal's questionnaire form: the right items per instrument, and a blank never becomes 0."""

from __future__ import annotations

import pytest

from clinicflow.portal.questionnaires import QUESTIONNAIRES, answers_from_form


@pytest.mark.parametrize(("code", "items", "highest"), [("phq9", 9, 3), ("gad7", 7, 3), ("pcl5", 20, 4),
                                                        ("pain_nrs", 1, 10)])
def test_each_form_has_its_instruments_items_and_range(code, items, highest):
    questionnaire = QUESTIONNAIRES[code]
    assert (questionnaire.items, questionnaire.highest) == (items, highest)


def test_a_blank_item_is_sent_blank_never_as_zero():
    form = {f"item{i}": "1" for i in range(1, 10)} | {"item4": "", "item9": " 2 "}
    assert answers_from_form(QUESTIONNAIRES["phq9"], form) == [1, 1, 1, "", 1, 1, 1, 1, 2]


def test_a_missing_item_is_sent_blank_and_the_item_count_stays_right():
    assert answers_from_form(QUESTIONNAIRES["gad7"], {"item1": "3"}) == [3, "", "", "", "", "", ""]
