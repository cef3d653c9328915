"""The register's arithmetic and hash chain, at and either side of every boundary (docs/clinical-rules.md §8)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from clinicflow.register.ledger import (
    Draft,
    EntryKind,
    PageHead,
    administration_findings,
    append,
    counted_mg,
    fell_below_reorder_level,
    mg,
    remainder_mg,
    units,
    verify_page,
)
from clinicflow.register.rules import load_rules

RULES = load_rules()
VIAL = RULES.product("ketamine-10mg-ml-20ml")  # 200 mg a vial, 10 mg/mL, reorder below 10 vials
DEVICE = RULES.product("esketamine-28mg-device")
AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("given", "volume", "remainder"), [
    ("37", "3.7", "163.000"),      # drawn exactly what was given: the rest of the vial
    ("37", "4.0", "163.000"),      # drawn more than given: the excess is wasted too, still one vial opened
    ("200", "20", "0.000"),        # a whole vial: nothing left
    ("200.001", None, "199.999"),  # a microgram more opens a second vial
    ("199.999", None, "0.001"),
    ("37", None, "163.000"),       # no volume charted: the dose itself decides
])
def test_the_remainder_of_a_dose_is_what_is_left_in_the_units_it_opened(given, volume, remainder):
    assert remainder_mg(VIAL, given_mg=mg(given), volume_drawn_ml=volume and mg(volume)) == Decimal(remainder)


@pytest.mark.parametrize(("given", "remainder"), [("28", "0.000"), ("56", "0.000"), ("84", "0.000")])
def test_devices_are_given_whole_and_leave_nothing_to_waste(given, remainder):
    assert remainder_mg(DEVICE, given_mg=mg(given), volume_drawn_ml=None) == Decimal(remainder)


@pytest.mark.parametrize(("volume", "found"), [("3.699", ["drawn_less_than_given"]), ("3.7", []), ("3.701", [])])
def test_drawing_up_less_than_the_dose_given_is_a_finding(volume, found):
    assert administration_findings(VIAL, amount_mg=mg(37), volume_drawn_ml=mg(volume), batch_received=True,
                                   witnessed=True) == found


def test_an_unknown_batch_and_a_missing_witness_are_findings():
    assert administration_findings(DEVICE, amount_mg=mg(56), volume_drawn_ml=None, batch_received=False,
                                   witnessed=False) == ["unknown_batch", "unwitnessed_administration"]


@pytest.mark.parametrize(("before", "after", "told"), [
    ("2000", "1999.999", True),    # from at the level to just below it
    ("2000.001", "2000", False),   # down to the level, not below
    ("1999", "1000", False),       # already below: told once, at the crossing
    ("5000", "0", True),
])
def test_the_reorder_level_is_told_once_when_crossed(before, after, told):
    assert fell_below_reorder_level(VIAL, before_mg=Decimal(before), after_mg=Decimal(after)) is told


@pytest.mark.parametrize(("balance", "shown"), [("1999", "9.99"), ("2000", "10.00"), ("1999.999", "9.99")])
def test_a_balance_in_units_is_rounded_down(balance, shown):
    assert units(VIAL, Decimal(balance)) == Decimal(shown)


def test_a_stock_count_is_whole_units_plus_what_is_left_in_opened_ones():
    assert counted_mg(VIAL, counted_units=9, open_mg=mg("163")) == Decimal("1963.000")


def page(*amounts: str) -> list:
    head, entries = PageHead(VIAL.code), []
    for i, amount in enumerate(amounts):
        draft = Draft(kind=EntryKind.RECEIPT if Decimal(amount) > 0 else EntryKind.ADMINISTRATION,
                      amount_mg=mg(amount), occurred_at=AT + timedelta(minutes=i), recorded_by="rn-1",
                      witnessed_by="dr-1", batch="KT2611A")
        entry, head = append(head, draft, entry_id=uuid.uuid4(), recorded_at=AT + timedelta(minutes=i),
                             rule_set_version=RULES.version)
        entries.append(entry)
    return entries, head


def test_a_page_keeps_a_running_balance_and_its_chain_verifies():
    entries, head = page("2000", "-37", "-163", "-35.5")
    assert [e.balance_mg for e in entries] == [Decimal(b) for b in ("2000.000", "1963.000", "1800.000", "1764.500")]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[1].prev_hash == entries[0].hash
    assert verify_page(VIAL.code, entries, head) is None


@pytest.mark.parametrize(("tamper", "seq", "why"), [
    (lambda es: es.__setitem__(1, replace(es[1], recorded_by="rn-2")), 2, "content was changed"),
    (lambda es: es.__setitem__(1, replace(es[1], amount_mg=mg("-3.7"))), 2, "balance does not follow"),
    (lambda es: es.__setitem__(2, replace(es[2], prev_hash=es[0].hash)), 3, "does not link"),
    (lambda es: es.pop(1), 2, "entry 2 is missing"),
])
def test_verify_names_the_first_broken_link(tamper, seq, why):
    entries, head = page("2000", "-37", "-163", "-35.5")
    tamper(entries)
    broken = verify_page(VIAL.code, entries, head)
    assert (broken.seq, why in broken.why) == (seq, True)


def test_removing_the_last_entry_is_caught_by_the_page_head():
    entries, head = page("2000", "-37")
    assert "head does not match" in verify_page(VIAL.code, entries[:-1], head).why
