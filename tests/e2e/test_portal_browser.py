"""The staff portal in a real Chromium (Debian's, driven by Playwright) against the real system: a doctor signs in,
an urgent alert appears on the page they are on without a reload and is acknowledged in one click; a contact-centre
agent works an enquiry from the list to a booked assessment, a refused form keeping what was typed; and a walked
pathway's page shows its course with each measure's trajectory. Screenshots of each page go to test-screenshots/
(not kept in git; the README shows copies from docs/screenshots/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from clinicflow.localinfra.pathway import (
    CLINICIAN,
    CONTACT,
    DOCTOR,
    GAD7_BASELINE,
    IV,
    NURSE,
    PHQ9_BASELINE,
    PRE_DOSE,
    Walk,
    start_course,
    submit_enquiry,
    walk_pathway,
)
from clinicflow.localinfra.ports import free_port
from clinicflow.shared.catalogue import RiskFlagged
from tests.e2e.harness import REPO, System
from tests.support import eventually, publish_event

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO / "test-screenshots"
AXE = REPO / ".tools" / "node_modules" / "axe-core" / "axe.min.js"  # make test installs it
# Debian's Chromium; Chromium's background connections are refused by a closed network, so they are switched off.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def portal(system: System, tmp_path: Path) -> AsyncIterator[str]:
    """The portal as a process beside the system, with the development sign-in."""
    port = free_port()
    env = {**system.env, "PORTAL_HTTP_PORT": str(port), "PORTAL_DEV_SIGN_IN": "true", "PORTAL_COOKIE_SECURE": "false",
           "PORTAL_SESSION_SECRET": "browser-test-portal-session-key-0123456789", "PORTAL_ALERT_POLL_SECONDS": "1",
           **{f"PORTAL_{name.upper()}_URL": f"http://127.0.0.1:{p}" for name, p in system.ports.items()}}
    log = open(tmp_path / "portal.log", "ab")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen([sys.executable, "-m", "clinicflow.portal"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        await eventually(lambda: _answers(url), timeout=30)
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield await browser.new_page(viewport={"width": 1100, "height": 900})
        finally:
            await browser.close()


async def shot(page: Page, name: str) -> None:
    """A screenshot of the whole page, for people to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it stands."""
    await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate("async () => (await axe.run(document)).violations"
                                     ".filter(v => ['serious', 'critical'].includes(v.impact))"
                                     ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))")
    assert violations == [], violations


async def sign_in(page: Page, portal: str, who: str) -> None:
    await page.goto(f"{portal}/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("button", name=who).click()
    await expect(page.get_by_role("heading", name="My work")).to_be_visible()


async def test_an_urgent_alert_appears_without_a_reload_and_is_acknowledged_in_one_click(system, portal, page):
    await sign_in(page, portal, "Doctor (on call first) (dr-1)")
    await expect(page.get_by_text("No urgent alert is open.")).to_be_visible()
    await page.goto(f"{portal}/pathways/{uuid.uuid4()}")  # busy with another client's page
    await expect(page.get_by_text("No treatment course has opened for this pathway yet.")).to_be_visible()

    flag = RiskFlagged(alert_id=uuid.uuid4(), reason="phq9_item9_self_harm_thoughts", severity="urgent",
                       rule_set_version="screening-rules-2026.2")
    await publish_event(system.kafka, "screening.risk.flagged", uuid.uuid4(), flag)
    alert = page.locator("#urgent .alert")  # the page is not reloaded: the live region fetches it
    await expect(alert).to_contain_text("URGENT: safety flag", timeout=30_000)
    await shot(page, "urgent-alert")
    await assert_accessible(page)

    await alert.get_by_role("button", name="Acknowledge: I am dealing with it").click()
    await expect(page.get_by_role("heading", name="My work")).to_be_visible()
    await expect(page.locator("#urgent .alert")).to_have_count(0, timeout=10_000)
    await expect(page.get_by_text("No urgent alert is open.")).to_be_visible()


async def test_the_pathway_page_shows_the_course_and_each_measures_trajectory(system, portal, page):
    clinic = system.clinic()
    try:
        pathway = await walk_pathway(clinic, Walk(sessions=2))
    finally:
        await clinic.close()
    await sign_in(page, portal, "Nurse (rn-1)")
    await page.goto(f"{portal}/pathways/{pathway}")
    await expect(page.get_by_text("completed (acute), 2 sessions planned")).to_be_visible()
    phq9 = page.get_by_role("img", name="PHQ-9 (depression) across the course")
    await expect(phq9).to_be_visible()
    await expect(phq9.locator("circle")).to_have_count(3)  # baseline and a measure after each session
    await expect(page.get_by_role("img", name="GAD-7 (anxiety) across the course")).to_be_visible()
    await expect(page.get_by_role("cell", name="discharged")).to_have_count(2)
    await shot(page, "pathway")
    await assert_accessible(page)

    # The clinical lead sees the cohort the course joined, and can take it away as CSV.
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, portal, "Clinical lead (lead-1)")
    await page.get_by_role("link", name="Outcomes").click()
    phq9 = page.get_by_role("row").filter(has_text="PHQ-9 (depression)")
    await expect(phq9).to_contain_text("completed")
    await expect(phq9.get_by_role("cell").nth(3)).to_have_text("1")
    await assert_accessible(page)
    await shot(page, "outcomes")
    download = await page.request.get(f"{portal}/outcomes.csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert "instrument,rule_set_version,ended_as" in await download.text()
    assert str(pathway) not in await download.text()


async def test_a_service_that_is_down_shows_a_banner_not_a_stack_trace(system, portal, page):
    await sign_in(page, portal, "Clinical lead (lead-1)")
    system.kill("notifications")
    await page.goto(f"{portal}/")
    await expect(page.get_by_role("alert")).to_contain_text("The notifications service is not answering")
    assert "Traceback" not in await page.content()


async def test_a_contact_centre_agent_logs_a_call_and_books_the_assessment_from_the_work_list(system, portal, page):
    clinic = system.clinic()
    try:
        enquiry = await submit_enquiry(clinic)
    finally:
        await clinic.close()
    await sign_in(page, portal, "Contact centre agent (cc-1)")
    await page.get_by_role("link", name="Enquiries").click()
    await expect(page.get_by_role("heading", name="Enquiries to call")).to_be_visible()
    await assert_accessible(page)
    await page.locator(f'a[href="/enquiries/{enquiry}"]').click()

    await expect(page.get_by_role("heading", name="Why are you opening this person's details?")).to_be_visible()
    await page.get_by_label("Purpose").select_option("contact_centre_workflow")
    await page.get_by_role("button", name="Open the details").click()
    await expect(page.get_by_role("heading", name="Synthetic Client")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_label("Outcome").select_option("no_answer")
    await page.get_by_role("button", name="Log the call").click()
    await expect(page.locator("dd").filter(has_text="next due")).to_contain_text("1; next due")

    # A time in the past is refused: the error stands beside the field and what was typed is still there.
    await page.get_by_label("Date and time (clinic time)").fill("2020-01-02T10:00")
    await page.get_by_label("Funding").select_option("self_funded")
    await page.get_by_role("button", name="Book the assessment").click()
    await expect(page.locator("#assessment_at-error")).to_contain_text("in the future")
    await expect(page.get_by_label("Date and time (clinic time)")).to_have_value("2020-01-02T10:00")
    await expect(page.get_by_label("Funding")).to_have_value("self_funded")
    await shot(page, "enquiry-refused-booking")

    await page.get_by_label("Date and time (clinic time)").fill("2031-03-04T10:30")
    await page.get_by_label("Clinician").select_option("cl-1")
    await page.get_by_role("button", name="Book the assessment").click()
    await expect(page.locator("dd").filter(has_text="with cl-1")).to_contain_text("2031-03-04 10:30 UTC")
    await expect(page.locator("dl")).to_contain_text("booked")


async def test_the_clinical_lead_counts_stock_sees_the_discrepancy_and_resolves_it_in_the_register(
        system, portal, page):
    await sign_in(page, portal, "Clinical lead (lead-1)")
    await page.get_by_role("link", name="Register").click()
    await expect(page.get_by_role("heading", name="Controlled drugs register")).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text="10 mg/mL")).to_contain_text("500.00 vials (100000.000 mg)")
    await assert_accessible(page)
    await page.get_by_role("link", name="ketamine 10 mg/mL, 20 mL vial").click()
    await expect(page.get_by_role("heading", name="Ketamine 10 mg/mL, 20 mL vial")).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text="receipt")).to_contain_text("ph-1")

    # A typo is refused beside its field, keeping what was typed; then a count one vial short is raised at once.
    await page.get_by_label("Whole vials counted").fill("49O")
    await page.get_by_label("Counted with (witness)").select_option("ao-1")
    await page.get_by_role("button", name="Record the count").click()
    await expect(page.locator("#counted_units-error")).to_contain_text("valid integer")
    await expect(page.get_by_label("Whole vials counted")).to_have_value("49O")
    await page.get_by_label("Whole vials counted").fill("499")
    await page.get_by_role("button", name="Record the count").click()
    await expect(page.get_by_role("status")).to_contain_text("differs from the register by -200.000 mg")
    await assert_accessible(page)
    await shot(page, "register-page")
    printable = await page.request.get(f"{portal}/register/ketamine-10mg-ml-20ml/report.pdf")
    assert (printable.status, printable.headers["content-type"]) == (200, "application/pdf")

    await page.get_by_role("link", name="Register").click()
    await expect(page.locator("#discrepancies + ul")).to_contain_text("stock count differs on ketamine-10mg-ml-20ml")
    await page.get_by_label("How it was resolved").fill("A vial found broken in the fridge; wasted and witnessed")
    await page.get_by_role("button", name="Resolve").click()
    await expect(page.get_by_text("None open.")).to_be_visible()


async def test_a_nurse_gives_a_dose_a_doctor_witnesses_it_and_a_breaching_reading_alerts_at_the_bedside(
        system, portal, page):
    clinic = system.clinic()
    try:
        pathway, course_id = await start_course(clinic, Walk(sessions=2))
        now = datetime.now(UTC).isoformat()
        session = await clinic.expect(201, "sessions", "POST", f"/courses/{course_id}/sessions", who=NURSE,
                                      json={"scheduled_at": now})
        sid = session["session_id"]
        await clinic.expect(200, "sessions", "POST", f"/sessions/{sid}/pre-dose-check", who=NURSE, json=PRE_DOSE)
        await clinic.expect(200, "sessions", "POST", f"/sessions/{sid}/dose-order", who=DOCTOR, json=IV)
    finally:
        await clinic.close()
    await sign_in(page, portal, "Nurse (rn-1)")
    await page.goto(f"{portal}/pathways/{pathway}")
    await page.get_by_role("link", name="open").click()
    await expect(page.get_by_role("heading", name="Record the dose given")).to_be_visible()
    await assert_accessible(page)
    # A batch typed wrong is refused beside its field, keeping what was typed.
    await page.get_by_label("Batch on the vial or device").fill("KT 2611A")
    await page.get_by_label("Volume drawn up (mL; not for a nasal device)").fill("3.7")
    await page.get_by_role("button", name="I gave this dose now").click()
    await expect(page.locator("#batch-error")).to_contain_text("should match pattern")
    await expect(page.get_by_label("Volume drawn up (mL; not for a nasal device)")).to_have_value("3.7")
    await page.get_by_label("Batch on the vial or device").fill("KT2611A")
    await page.get_by_role("button", name="I gave this dose now").click()
    await expect(page.locator("dd").filter(has_text="batch KT2611A")).to_contain_text("by rn-1")
    await expect(page.get_by_role("button", name="I witnessed this dose")).to_be_visible()

    # The second checker, dr-2, is not on the care team: the nurse adds them from the pathway page.
    await page.goto(f"{portal}/pathways/{pathway}")
    await page.get_by_label("Add a colleague to the care team").select_option(label="Doctor (dr-2), doctor")
    await page.get_by_role("button", name="Add to the team").click()
    await expect(page.get_by_role("listitem").filter(has_text="dr-2 (doctor)")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, portal, "Doctor (dr-2)")
    await page.goto(f"{portal}/pathways/{pathway}/sessions/{sid}")
    await page.get_by_role("button", name="I witnessed this dose").click()
    await expect(page.locator("dd").filter(has_text="by dr-2")).to_be_visible()
    await page.get_by_label("Systolic (mmHg)").fill("128")
    await page.get_by_label("Diastolic (mmHg)").fill("82")
    await page.get_by_label("Heart rate (bpm)").fill("74")
    await page.get_by_label("SpO2 (%)").fill("89")
    await page.get_by_role("button", name="Record the readings").click()
    await expect(page.locator(".banner.urgent")).to_contain_text("spo2 below")
    await assert_accessible(page)
    await shot(page, "dosing-session")

    # The dose is in the controlled-drugs register, from the session itself, with who gave and who witnessed it.
    clinic = system.clinic()
    try:
        entry = await clinic.until(lambda: _administered(clinic, sid), what="the dose in the register")
    finally:
        await clinic.close()
    assert (entry["batch"], entry["recorded_by"], entry["witnessed_by"], entry["amount_mg"]) == (
        "KT2611A", "rn-1", "dr-2", "-37.000")


async def _administered(clinic, session_id: str) -> dict | None:  # noqa: ANN001
    response = await clinic.request("register", "GET", f"/administrations/{session_id}", who=NURSE)
    return response.json() if response.status_code == 200 else None


async def test_a_clinician_scores_a_phq9_in_the_browser_and_a_doctor_reviews_risk_and_signs_off(
        system, portal, page):
    clinic = system.clinic()
    try:
        pathway = await submit_enquiry(clinic)
        await clinic.expect(200, "intake", "POST", f"/enquiries/{pathway}/assessment", who=CONTACT, json={
            "assessment_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "clinician_id": "cl-1",
            "funding": {"route": "self_funded"}})
        await clinic.until(lambda: _screening_open(clinic, pathway), what="the screening case")
        await clinic.expect(201, "screening", "POST", f"/pathways/{pathway}/measures", who=CLINICIAN,
                            json={"instrument": "gad7", "answers": GAD7_BASELINE, "context": "baseline"})
    finally:
        await clinic.close()
    await sign_in(page, portal, "Clinician (cl-1)")
    await page.goto(f"{portal}/pathways/{pathway}/screening")
    await expect(page.get_by_role("heading", name="Record a questionnaire")).to_be_visible()
    await assert_accessible(page)
    # Item 4 skipped, item 9 endorsed: the form is refused naming item 4, and the item-9 alert is raised all the same.
    for item, answer in enumerate(PHQ9_BASELINE[:8] + [1], start=1):
        if item != 4:
            await page.get_by_label(f"Item {item}", exact=False).first.select_option(str(answer))
    await page.get_by_role("button", name="Score it").click()
    await expect(page.locator("#item4-error")).to_contain_text("item 4 must be an integer")
    await expect(page.locator(".banner.urgent")).to_contain_text("phq9 item9")
    await expect(page.locator("#item9")).to_have_value("1")
    await page.locator("#item4").select_option("2")
    await page.get_by_role("button", name="Score it").click()
    await expect(page.get_by_role("row").filter(has_text="PHQ-9")).to_contain_text("19")
    await shot(page, "screening")

    # dr-1 is not on this client's care team (only the booked clinician is): the record does not open until they
    # say why, and breaking the glass is kept with the record and told to the clinical lead.
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, portal, "Doctor (on call first) (dr-1)")
    await page.goto(f"{portal}/pathways/{pathway}/screening")
    await expect(page.get_by_role("heading", name="You are not on this client's care team")).to_be_visible()
    assert "PHQ-9" not in await page.content()
    await assert_accessible(page)
    await page.get_by_label("Why must you open this record now?").fill("urgent")  # too short: the form stays
    await page.get_by_role("button", name="Break the glass and open the record").click()
    assert await page.get_by_label("Why must you open this record now?").evaluate("e => e.validity.tooShort")
    await expect(page.get_by_role("heading", name="You are not on this client's care team")).to_be_visible()
    await page.get_by_label("Why must you open this record now?").fill("On call: item 9 endorsed, clinician asked me")
    await page.get_by_role("button", name="Break the glass and open the record").click()
    await expect(page.get_by_role("heading", name="Record a questionnaire")).to_be_visible()
    await page.get_by_role("button", name="Sign off").click()  # nothing chosen: refused beside the field
    await expect(page.locator("#outcome-error")).to_be_visible()
    await page.get_by_label("Risk found").select_option("low")
    await page.get_by_role("button", name="Record the risk review").click()
    await expect(page.locator(".banner.urgent")).to_have_count(0)
    await assert_accessible(page)


async def _screening_open(clinic, pathway: uuid.UUID) -> bool:  # noqa: ANN001
    response = await clinic.request("screening", "GET", f"/pathways/{pathway}/screening", who=CLINICIAN)
    return response.status_code == 200
