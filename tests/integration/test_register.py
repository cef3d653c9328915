"""The controlled-drugs register on the real broker and database: administrations from dose events exactly once,
witnessed receipts and wastage, corrections that never edit, stock checks that raise discrepancies at once, the
wastage watch, an append-only table, `clinicflow register verify`, and the inspector's CSV and PDF."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pypdf
import pytest

from clinicflow.register.service import page_id
from clinicflow.shared.catalogue import DoseAdministered
from tests.integration.conftest import bearer
from tests.support import events_on, eventually, publish_event

VIAL = "ketamine-10mg-ml-20ml"  # 200 mg a vial; reorder below 10 vials
NURSE, DOCTOR = bearer("nurse", staff_id="rn-1"), bearer("doctor", staff_id="dr-1")
PHARMACY, LEAD = bearer("pharmacy", staff_id="ph-1"), bearer("clinical_lead", staff_id="lead-1")
RECEIPT = {"quantity_units": 12, "supplier": "Synthetic Pharma Ltd", "batch": "KT2611A",
           "expiry": (date.today() + timedelta(days=400)).isoformat(), "witnessed_by": "rn-1"}


def dose(session_id: uuid.UUID, *, product: str = VIAL, batch: str = "KT2611A", amount: float = 37.0,
         volume: float | None = 3.7, witnessed_by: str | None = "dr-1") -> DoseAdministered:
    return DoseAdministered(
        course_id=uuid.uuid4(), session_id=session_id, route="iv", product=product, batch=batch, amount_mg=amount,
        volume_drawn_ml=volume, given_by="rn-1", given_at=datetime.now(UTC) - timedelta(minutes=5),
        witnessed_by=witnessed_by, witnessed_at=datetime.now(UTC) if witnessed_by else None)


async def call(register, method: str, path: str, body: dict | None = None, *, headers=NURSE,  # noqa: ANN001
               status: int = 201) -> dict | list:
    response = await register.http.request(method, path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


async def page(register) -> dict:  # noqa: ANN001
    return next(p for p in await call(register, "GET", "/pages", status=200) if p["product"] == VIAL)


async def administered(register, session_id: uuid.UUID) -> dict | None:  # noqa: ANN001
    response = await register.http.get(f"/administrations/{session_id}", headers=NURSE)
    return response.json() if response.status_code == 200 else None


async def test_a_dose_event_becomes_one_entry_and_receipts_doses_and_wastage_reconcile(register, kafka_settings):
    receipt = await call(register, "POST", f"/pages/{VIAL}/receipts", RECEIPT, headers=PHARMACY)
    assert (receipt["amount_mg"], receipt["balance_mg"], receipt["seq"]) == ("2400.000", "2400.000", 1)
    session, pathway = uuid.uuid4(), uuid.uuid4()
    event = dose(session)
    for _ in range(2):  # sessions' outbox may publish twice after a crash: one entry all the same
        await publish_event(kafka_settings, "session.dose.administered", pathway, event)
    entry = await eventually(lambda: administered(register, session))
    assert (entry["amount_mg"], entry["remainder_mg"], entry["pathway_id"], entry["witnessed_by"]) == (
        "-37.000", "163.000", str(pathway), "dr-1")
    wastage = {"amount_mg": "163", "reason": "unused_remainder", "session_id": str(session), "witnessed_by": "dr-1"}
    too_much = await call(register, "POST", f"/pages/{VIAL}/wastage", {**wastage, "amount_mg": "163.001"},
                          status=422)
    assert too_much["detail"][0]["loc"][-1] == "amount_mg"
    await call(register, "POST", f"/pages/{VIAL}/wastage", wastage)
    await call(register, "POST", f"/pages/{VIAL}/wastage", wastage, status=409)  # wasted once only
    entries = await call(register, "GET", f"/pages/{VIAL}/entries", status=200)
    assert [(e["kind"], e["balance_mg"]) for e in entries] == [
        ("receipt", "2400.000"), ("administration", "2363.000"), ("wastage", "2200.000")]
    assert (await page(register))["balance_units"] == "11.00"
    check = await call(register, "POST", f"/pages/{VIAL}/stock-checks", {"counted_units": 11, "witnessed_by": "dr-1"})
    assert (check["difference_mg"], check["discrepancy_id"]) == ("0.000", None)
    assert await call(register, "GET", "/discrepancies", headers=LEAD, status=200) == []


async def test_a_stock_count_that_differs_is_raised_at_once_and_resolved_by_the_accountable_people(
        register, kafka_settings):
    await call(register, "POST", f"/pages/{VIAL}/receipts", RECEIPT, headers=PHARMACY)
    same = await call(register, "POST", f"/pages/{VIAL}/stock-checks", {"counted_units": 11, "witnessed_by": "rn-1"},
                      status=422)
    assert same["detail"][0]["loc"][-1] == "witnessed_by"  # a second person, always
    check = await call(register, "POST", f"/pages/{VIAL}/stock-checks",
                       {"counted_units": 11, "open_mg": "150", "witnessed_by": "dr-1"})
    assert check["difference_mg"] == "-50.000"
    [found] = await events_on(kafka_settings, "register.discrepancy.found")
    assert (found.subject, found.data["kind"], found.data["difference_mg"], found.data["product"]) == (
        page_id(VIAL), "stock_count_differs", -50.0, VIAL)
    [open_one] = await call(register, "GET", "/discrepancies", headers=LEAD, status=200)
    assert open_one["discrepancy_id"] == check["discrepancy_id"]
    path = f"/discrepancies/{check['discrepancy_id']}/resolve"
    await call(register, "POST", path, {"resolution": "a vial broken in the fridge, found and wasted"}, status=403)
    await call(register, "POST", path, {"resolution": "a vial broken in the fridge, found and wasted"}, headers=LEAD,
               status=204)
    await call(register, "POST", path, {"resolution": "again"}, headers=LEAD, status=409)
    assert await call(register, "GET", "/discrepancies", headers=LEAD, status=200) == []


async def test_what_does_not_add_up_about_a_dose_is_entered_all_the_same_and_raised(register, kafka_settings):
    await call(register, "POST", f"/pages/{VIAL}/receipts", RECEIPT, headers=PHARMACY)
    unwitnessed, other_batch, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await publish_event(kafka_settings, "session.dose.administered", uuid.uuid4(), dose(unwitnessed, witnessed_by=None))
    await publish_event(kafka_settings, "session.dose.administered", uuid.uuid4(), dose(other_batch, batch="ZZ999"))
    await publish_event(kafka_settings, "session.dose.administered", uuid.uuid4(), dose(unknown, product="unheld-drug"))
    found = await events_on(kafka_settings, "register.discrepancy.found", at_least=3)
    assert sorted(e.data["kind"] for e in found) == ["unknown_batch", "unknown_product", "unwitnessed_administration"]
    assert await administered(register, unwitnessed) and await administered(register, other_batch)
    assert await administered(register, unknown) is None  # no page to enter it on: the discrepancy holds it
    # The team puts the unknown product's dose on the right page with a signed, witnessed correction.
    corrected = await call(register, "POST", f"/pages/{VIAL}/corrections", {
        "amount_mg": "-37", "reason": "dose charted against a product code we do not hold", "witnessed_by": "dr-1"})
    assert corrected["balance_mg"] == "2289.000"  # 2400 - 37 - 37 - 37


async def test_the_wastage_watch_raises_an_unrecorded_remainder_once_after_the_shift(register, kafka_settings, clock):
    await call(register, "POST", f"/pages/{VIAL}/receipts", RECEIPT, headers=PHARMACY)
    session = uuid.uuid4()
    await publish_event(kafka_settings, "session.dose.administered", uuid.uuid4(), dose(session))
    await eventually(lambda: administered(register, session))
    clock.advance(hours=11, minutes=59)  # within the 12-hour shift: nothing yet
    await call(register, "POST", f"/pages/{VIAL}/wastage", {"amount_mg": "100", "reason": "unused_remainder",
                                                            "session_id": str(session), "witnessed_by": "dr-1"})
    clock.advance(minutes=2)
    [found] = await events_on(kafka_settings, "register.discrepancy.found")
    assert (found.data["kind"], found.data["difference_mg"]) == ("wastage_not_recorded", -63.0)
    clock.advance(hours=1)
    await asyncio.sleep(1)  # five more passes of the watch ...
    assert len(await call(register, "GET", "/discrepancies", headers=LEAD, status=200)) == 1  # ... told once


async def test_a_page_falling_below_its_reorder_level_tells_the_pharmacy_once(register, kafka_settings):
    await call(register, "POST", f"/pages/{VIAL}/receipts", {**RECEIPT, "quantity_units": 10}, headers=PHARMACY)
    for _ in range(2):
        await call(register, "POST", f"/pages/{VIAL}/wastage",
                   {"amount_mg": "1", "reason": "broken_or_spilled", "witnessed_by": "dr-1"})
    [low] = await events_on(kafka_settings, "register.stock.low")
    assert (low.data["balance_units"], low.data["reorder_level_units"]) == (9.99, 10)


async def test_bad_input_is_refused_naming_the_field_and_roles_are_enforced(register):
    expired = await call(register, "POST", f"/pages/{VIAL}/receipts", {**RECEIPT, "expiry": "2020-01-01"},
                         headers=PHARMACY, status=422)
    assert expired["detail"][0]["loc"][-1] == "expiry"
    typo = await call(register, "POST", f"/pages/{VIAL}/receipts", {**RECEIPT, "quantity_units": 0}, status=422)
    assert typo["detail"][0]["loc"][-1] == "quantity_units"
    await call(register, "POST", "/pages/no-such-product/receipts", RECEIPT, status=404)
    await call(register, "POST", f"/pages/{VIAL}/receipts", RECEIPT, headers=bearer("therapist"), status=403)
    no_session = await call(register, "POST", f"/pages/{VIAL}/wastage",
                            {"amount_mg": "10", "reason": "unused_remainder", "witnessed_by": "dr-1"}, status=422)
    assert no_session["detail"][0]["loc"][-1] == "session_id"
    await call(register, "POST", f"/pages/{VIAL}/wastage", {"amount_mg": "10", "reason": "unused_remainder",
                                                            "session_id": str(uuid.uuid4()), "witnessed_by": "dr-1"},
               status=409)  # its dose has not reached the register
    zero = await call(register, "POST", f"/pages/{VIAL}/corrections",
                      {"amount_mg": "0", "reason": "nothing at all", "witnessed_by": "dr-1"}, status=422)
    assert zero["detail"][0]["loc"][-1] == "amount_mg"
    elsewhere = await call(register, "POST", f"/pages/{VIAL}/corrections", {
        "amount_mg": "-1", "reason": "names an entry on no page", "witnessed_by": "dr-1",
        "corrects": str(uuid.uuid4())},
        status=422)
    assert elsewhere["detail"][0]["loc"][-1] == "corrects"
    await call(register, "GET", f"/pages/{VIAL}/entries", headers=bearer("contact_centre"), status=403)


async def verify(database_settings, schema: str) -> tuple[int, str]:  # noqa: ANN001
    """`clinicflow register verify`, run as an operator would: its exit code and output."""
    env = {**os.environ, "DATABASE_URL": database_settings.url.get_secret_value(), "REGISTER_DB_SCHEMA": schema}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "clinicflow.shared.cli", "register", "verify", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    return process.returncode, output.decode()


async def test_entries_cannot_be_altered_and_verify_finds_a_tampered_row(register, database_settings):
    for quantity in (12, 3, 5):
        await call(register, "POST", f"/pages/{VIAL}/receipts", {**RECEIPT, "quantity_units": quantity},
                   headers=PHARMACY)
    schema = register.settings.db_schema
    conn = await asyncpg.connect(database_settings.url.get_secret_value(), server_settings={"search_path": schema})
    try:
        for statement in ("UPDATE entries SET amount_mg = 1 WHERE seq = 2", "DELETE FROM entries WHERE seq = 3",
                          "TRUNCATE entries CASCADE"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement)
        assert await verify(database_settings, schema) == (0, f"ok\t{VIAL}\t3 entries\n")
        # Someone with the owner's rights switches the guard off and changes a quantity received.
        await conn.execute("ALTER TABLE entries DISABLE TRIGGER entries_append_only")
        await conn.execute("UPDATE entries SET amount_mg = 400, balance_mg = 2800 WHERE seq = 2")
        await conn.execute("ALTER TABLE entries ENABLE TRIGGER entries_append_only")
    finally:
        await conn.close()
    code, output = await verify(database_settings, schema)
    assert code == 1
    assert f"BROKEN\t{VIAL}\tentry 2: its content was changed" in output
    assert "broken on 1 page" in output


async def test_an_inspector_gets_a_period_of_a_page_as_csv_and_as_a_printable_pdf(register, kafka_settings):
    await call(register, "POST", f"/pages/{VIAL}/receipts", {**RECEIPT, "supplier": "Synthetic Pharma Ltd (Łódź)"},
               headers=PHARMACY)  # a name outside the PDF font's Latin-1 prints, with '?' for what it cannot show
    session = uuid.uuid4()
    await publish_event(kafka_settings, "session.dose.administered", uuid.uuid4(), dose(session))
    await eventually(lambda: administered(register, session))
    response = await register.http.get(f"/pages/{VIAL}/entries", headers={**LEAD, "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["kind"], r["balance_mg"], r["balance_units"], r["witnessed_by"]) for r in rows] == [
        ("receipt", "2400.000", "12.00", "rn-1"), ("administration", "2363.000", "11.81", "dr-1")]
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    empty = await register.http.get(f"/pages/{VIAL}/entries", params={"since": later}, headers=LEAD)
    assert empty.json() == []
    pdf = await register.http.get(f"/pages/{VIAL}/report.pdf", headers=LEAD)
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Controlled drugs register: ketamine 10 mg/mL, 20 mL vial" in text
    assert "Hash chain: verified" in text
    assert "2363.000" in text and "Synthetic Pharma Ltd" in text
