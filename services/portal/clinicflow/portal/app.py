"""Wiring and routes of the portal: sign-in, my work (inbox and urgent alerts, acknowledged in one click, new ones
appearing without a reload), and the pathway page that notifications link to (the course, its sessions and each
measure's trajectory). Every page is built from the services' APIs as the signed-in person."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from clinicflow.portal.charts import NAMES, trajectory_svg
from clinicflow.portal.cookies import Cookies, StaffSession, new_csrf
from clinicflow.portal.enquiries import (
    CALL_OUTCOMES,
    CLOSE_REASONS,
    FUNDING_ROUTES,
    PURPOSES,
    assessment_time,
    work_list,
)
from clinicflow.portal.questionnaires import CONTEXTS, QUESTIONNAIRES, answers_from_form
from clinicflow.portal.services import Refused, ServiceDown, Services
from clinicflow.portal.settings import PortalSettings
from clinicflow.shared.care_team import MINIMUM_REASON_CHARACTERS, NOT_ON_CARE_TEAM, TeamRole
from clinicflow.shared.settings import AuthSettings

PACKAGE = resources.files("clinicflow.portal")
TEAM_ROLES = get_args(TeamRole)  # who a care team is made of


class SignInRequired(Exception):
    """No valid session: go to the sign-in page."""


def create_app(settings: PortalSettings) -> FastAPI:
    """The portal's ASGI app."""
    cookies = Cookies(settings.session_secret.get_secret_value(), idle_seconds=settings.idle_timeout_minutes * 60,
                      secure=settings.cookie_secure)
    services = Services({"intake": settings.intake_url, "screening": settings.screening_url,
                         "sessions": settings.sessions_url, "notifications": settings.notifications_url,
                         "register": settings.register_url})
    directory = json.loads((Path(settings.staff_file) if settings.staff_file else PACKAGE / "staff.json")
                           .read_text())["staff"]
    mint = _dev_sign_in() if settings.dev_sign_in else None
    templates = Jinja2Templates(directory=str(PACKAGE / "templates"))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.close()

    app = FastAPI(title="clinicflow portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static")

    def page(request: Request, name: str, staff: StaffSession | None, status_code: int = 200, *, renew: bool = True,
             **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(request, name, {"staff": staff, "poll": settings.alert_poll_seconds,
                                                              **context}, status_code=status_code)
        if staff is not None and renew:
            cookies.keep(response, staff)  # the idle timeout runs from the last use
        response.headers["Cache-Control"] = "no-store"  # clinical pages are never cached
        return response

    def signed_in(request: Request) -> StaffSession:
        staff = cookies.session(request)
        if staff is None:
            raise SignInRequired
        return staff

    def check_csrf(staff: StaffSession, submitted: str) -> None:
        if not submitted or submitted != staff.csrf:
            raise Refused(403, "this form has expired: reload the page and try again")

    @app.exception_handler(SignInRequired)
    async def to_sign_in(request: Request, _exc: SignInRequired) -> Response:
        return RedirectResponse(f"/sign-in?next={request.url.path}", status_code=303)

    @app.exception_handler(ServiceDown)
    async def service_down(request: Request, exc: ServiceDown) -> Response:
        return page(request, "problem.html", cookies.session(request), status_code=503,
                    message=f"The {exc.service} service is not answering just now. Nothing you entered was sent; "
                            "try again in a minute, and tell the operations team if it persists.")

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        staff, pathway_id = cookies.session(request), request.path_params.get("pathway_id")
        if exc.status == 403 and staff and pathway_id and str(exc.detail).startswith(NOT_ON_CARE_TEAM):
            back = request.url.path if request.method == "GET" else f"/pathways/{pathway_id}"
            return page(request, "care_team.html", staff, status_code=403, pathway_id=pathway_id, next=back,
                        errors={}, typed={})
        return page(request, "problem.html", staff, status_code=exc.status, message=_plain(exc.detail))

    def record_headers(staff: StaffSession, pathway_id: uuid.UUID) -> dict[str, str]:
        """How a client's clinical record is opened: for their care, or on the glass this person broke for them."""
        reason = dict(staff.break_glass).get(str(pathway_id))
        if reason is None:
            return {"X-Access-Purpose": "direct_care"}
        return {"X-Access-Purpose": "break_glass", "X-Break-Glass-Reason": reason}

    @app.post("/pathways/{pathway_id}/break-glass")
    async def break_glass(request: Request, pathway_id: uuid.UUID, csrf: str = Form(), reason: str = Form(""),
                          next: str = Form("/")) -> Response:  # noqa: A002 - the form's field
        """Break the glass on one client's record: the reason goes with every read of it for this session (each
        read logged by the service; the clinical lead told)."""
        staff = signed_in(request)
        check_csrf(staff, csrf)
        # One line of printable text: it travels in a header, and is kept as written otherwise.
        said = " ".join(reason.split()).encode("ascii", "replace").decode("ascii")
        if len(said) < MINIMUM_REASON_CHARACTERS:
            return page(request, "care_team.html", staff, status_code=422, pathway_id=pathway_id, next=_local(next),
                        errors={"reason": f"Give your reason in at least {MINIMUM_REASON_CHARACTERS} characters."},
                        typed={"reason": reason})
        response = RedirectResponse(_local(next), status_code=303)
        cookies.keep(response, staff.breaking_glass(str(pathway_id), said[:500]))
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/sign-in", response_class=HTMLResponse)
    async def get_sign_in(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the query's name
        token = new_csrf()
        response = page(request, "sign_in.html", None, staff_list=directory if mint else None, next=_local(next),
                        csrf=token)
        cookies.remember_sign_in_token(response, token)
        return response

    @app.post("/sign-in")
    async def post_sign_in(request: Request, staff_id: str = Form(), csrf: str = Form(), next: str = Form("/")
                           ) -> Response:  # noqa: A002
        if mint is None:
            raise Refused(404, "the development sign-in is off")
        if not cookies.sign_in_token_matches(request, csrf):
            raise Refused(403, "this sign-in form has expired: reload the page and try again")
        person = {s["id"]: s for s in directory}.get(staff_id)
        if person is None:
            raise Refused(422, "no such member of staff")
        session = StaffSession(person["id"], tuple(person["roles"]), mint(person["id"], person["roles"]), new_csrf())
        response = RedirectResponse(_local(next), status_code=303)
        cookies.keep(response, session)
        return response

    @app.post("/sign-out")
    async def post_sign_out(request: Request, csrf: str = Form()) -> Response:
        staff = signed_in(request)
        check_csrf(staff, csrf)
        response = RedirectResponse("/sign-in", status_code=303)
        cookies.end(response)
        return response

    async def my_work(staff: StaffSession) -> dict[str, Any]:
        inbox = await services.call("notifications", "GET", "/inbox", token=staff.token)
        alerts = []
        if staff.has_any("doctor", "nurse", "clinical_lead", "admin"):
            alerts = await services.call("notifications", "GET", "/alerts", token=staff.token,
                                         params={"status": "open"})
        return {"inbox": inbox, "alerts": alerts}

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        staff = signed_in(request)
        return page(request, "home.html", staff, **await my_work(staff))

    @app.get("/fragments/alerts", response_class=HTMLResponse)
    async def alerts_fragment(request: Request) -> HTMLResponse:
        """What the live region on every page shows: the caller's unacknowledged urgent items. Polling is not use:
        it does not hold off the idle timeout."""
        staff = signed_in(request)
        inbox = await services.call("notifications", "GET", "/inbox", token=staff.token)
        return page(request, "_urgent.html", staff, renew=False,
                    urgent=[i for i in inbox if i["priority"] == "urgent"])

    @app.post("/inbox/{item_id}/ack")
    async def acknowledge(request: Request, item_id: uuid.UUID, csrf: str = Form(), back: str = Form("/")
                          ) -> Response:
        staff = signed_in(request)
        check_csrf(staff, csrf)
        await services.call("notifications", "POST", f"/inbox/{item_id}/ack", token=staff.token)
        return RedirectResponse(_local(back), status_code=303)

    @app.get("/pathways/{pathway_id}", response_class=HTMLResponse)
    async def pathway(request: Request, pathway_id: uuid.UUID) -> HTMLResponse:
        """The link every notification carries: the client's course from the services' records."""
        staff = signed_in(request)
        try:
            course = await services.call("sessions", "GET", f"/pathways/{pathway_id}/course", token=staff.token,
                                         headers=record_headers(staff, pathway_id))
        except Refused as exc:
            if exc.status != 404:
                raise
            course = None
        charts = {name: trajectory_svg(name, figures) for name, figures in (course or {}).get("outcomes", {}).items()}
        care_team, colleagues = [], []
        if course is not None:
            care_team = await services.call("sessions", "GET", f"/pathways/{pathway_id}/care-team",
                                            token=staff.token)
            on_team = {m["staff_id"] for m in care_team}
            if staff.staff_id in on_team or staff.has_any("clinical_lead"):
                colleagues = [{"id": s["id"], "name": s["name"], "role": role} for s in directory
                              for role in TEAM_ROLES if role in s["roles"] and s["id"] not in on_team]
        return page(request, "pathway.html", staff, pathway_id=pathway_id, course=course, charts=charts,
                    names=NAMES, care_team=care_team, colleagues=colleagues)

    @app.post("/pathways/{pathway_id}/care-team")
    async def add_to_care_team(request: Request, pathway_id: uuid.UUID, csrf: str = Form(), colleague: str = Form(""),
                               ) -> Response:
        """A member of the course's care team brings a colleague onto it (the course's team, in sessions)."""
        staff = signed_in(request)
        check_csrf(staff, csrf)
        staff_id, _, role = colleague.partition("|")
        await services.call("sessions", "POST", f"/pathways/{pathway_id}/care-team", token=staff.token,
                            json={"staff_id": staff_id, "role": role})
        return RedirectResponse(f"/pathways/{pathway_id}", status_code=303)

    async def screening_page(request: Request, staff: StaffSession, pathway_id: uuid.UUID, *,
                             errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                             instrument: str = "phq9", status_code: int = 200) -> HTMLResponse:
        case = await services.call("screening", "GET", f"/pathways/{pathway_id}/screening", token=staff.token,
                                   headers=record_headers(staff, pathway_id))
        return page(request, "screening.html", staff, status_code=status_code, pathway_id=pathway_id, case=case,
                    errors=errors or {}, typed=typed or {}, questionnaire=QUESTIONNAIRES[instrument],
                    questionnaires=QUESTIONNAIRES, contexts=CONTEXTS, names=NAMES,
                    can_measure=staff.has_any("clinician", "doctor", "nurse"), is_doctor=staff.has_any("doctor"))

    @app.get("/pathways/{pathway_id}/screening", response_class=HTMLResponse)
    async def screening(request: Request, pathway_id: uuid.UUID, instrument: str = "phq9") -> HTMLResponse:
        """The screening case: questionnaires scored, the contraindication proposal, safety flags, the sign-off."""
        return await screening_page(request, signed_in(request), pathway_id,
                                    instrument=instrument if instrument in QUESTIONNAIRES else "phq9")

    async def act_on_screening(request: Request, pathway_id: uuid.UUID, csrf: str, path: str, body: dict[str, Any],
                               typed: dict[str, str], instrument: str = "phq9") -> Response:
        staff = signed_in(request)
        check_csrf(staff, csrf)
        try:
            await services.call("screening", "POST", f"/pathways/{pathway_id}/{path}", token=staff.token, json=body,
                                headers=record_headers(staff, pathway_id))
        except Refused as refused:
            if refused.status not in (409, 422):
                raise
            errors = {(f"item{int(k) + 1}" if k.isdigit() else k): v for k, v in refused.by_field().items()}
            return await screening_page(request, staff, pathway_id, errors=errors, typed=typed,
                                        instrument=instrument, status_code=refused.status)
        return RedirectResponse(f"/pathways/{pathway_id}/screening", status_code=303)

    @app.post("/pathways/{pathway_id}/screening/measures")
    async def record_measure(request: Request, pathway_id: uuid.UUID) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        instrument = form.get("instrument", "")
        if instrument not in QUESTIONNAIRES:
            raise Refused(422, "choose a questionnaire")
        body = {"instrument": instrument, "context": form.get("context", "baseline"),
                "answers": answers_from_form(QUESTIONNAIRES[instrument], form)}
        return await act_on_screening(request, pathway_id, form.get("csrf", ""), "measures", body, form, instrument)

    @app.post("/pathways/{pathway_id}/screening/risk-review")
    async def review_risk(request: Request, pathway_id: uuid.UUID, csrf: str = Form(), risk_level: str = Form("")
                          ) -> Response:
        return await act_on_screening(request, pathway_id, csrf, "risk-review", {"risk_level": risk_level},
                                      {"risk_level": risk_level})

    @app.post("/pathways/{pathway_id}/screening/sign-off")
    async def sign_off(request: Request, pathway_id: uuid.UUID, csrf: str = Form(), outcome: str = Form(""),
                       override_reason: str = Form("")) -> Response:
        body = {"outcome": outcome} | ({"override_reason": override_reason} if override_reason.strip() else {})
        return await act_on_screening(request, pathway_id, csrf, "sign-off", body,
                                      {"outcome": outcome, "override_reason": override_reason})

    async def session_page(request: Request, staff: StaffSession, pathway_id: uuid.UUID, session_id: uuid.UUID, *,
                           errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                           breached: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
        course = await services.call("sessions", "GET", f"/pathways/{pathway_id}/course", token=staff.token,
                                     headers=record_headers(staff, pathway_id))
        session = next((s for s in course["sessions"] if s["session_id"] == str(session_id)), None)
        if session is None:
            raise Refused(404, "this course has no such dosing session")
        products = None
        if session["status"] == "ready" and session["dose"] and not session["given"]:
            try:  # the products to choose from; without the register the code is typed (the register checks it)
                products = await services.call("register", "GET", "/pages", token=staff.token)
            except ServiceDown:
                products = None
        return page(request, "session.html", staff, status_code=status_code, pathway_id=pathway_id, course=course,
                    session=session, products=products, errors=errors or {}, typed=typed or {},
                    breached=breached or [], can_chart=staff.has_any("nurse", "doctor"),
                    can_witness=staff.has_any("nurse", "doctor", "clinician"))

    @app.get("/pathways/{pathway_id}/sessions/{session_id}", response_class=HTMLResponse)
    async def dosing_session(request: Request, pathway_id: uuid.UUID, session_id: uuid.UUID) -> HTMLResponse:
        """One dosing session at the bedside: the dose and who gave and witnessed it, every reading, and the next
        step for the person signed in."""
        return await session_page(request, signed_in(request), pathway_id, session_id)

    async def chart(request: Request, pathway_id: uuid.UUID, session_id: uuid.UUID, csrf: str, step: str,
                    body: dict[str, Any] | None, typed: dict[str, str]) -> Response:
        staff = signed_in(request)
        check_csrf(staff, csrf)
        try:
            answer = await services.call("sessions", "POST", f"/sessions/{session_id}/{step}", token=staff.token,
                                         json=body)
        except Refused as refused:
            if refused.status not in (409, 422):
                raise
            return await session_page(request, staff, pathway_id, session_id, errors=refused.by_field(),
                                      typed=typed, status_code=refused.status)
        if answer and answer.get("breached"):  # shown at once on the page the nurse is on; the alert is already out
            return await session_page(request, staff, pathway_id, session_id, breached=answer["breached"])
        return RedirectResponse(f"/pathways/{pathway_id}/sessions/{session_id}", status_code=303)

    @app.post("/pathways/{pathway_id}/sessions/{session_id}/dose")
    async def give_dose(request: Request, pathway_id: uuid.UUID, session_id: uuid.UUID, csrf: str = Form(),
                        product: str = Form(""), batch: str = Form(""), volume_drawn_ml: str = Form("")) -> Response:
        typed = {"product": product, "batch": batch.strip(), "volume_drawn_ml": volume_drawn_ml}
        body = {"product": product, "batch": batch.strip()} | (
            {"volume_drawn_ml": volume_drawn_ml} if volume_drawn_ml.strip() else {})
        return await chart(request, pathway_id, session_id, csrf, "dose", body, typed)

    @app.post("/pathways/{pathway_id}/sessions/{session_id}/witness")
    async def witness_dose(request: Request, pathway_id: uuid.UUID, session_id: uuid.UUID, csrf: str = Form()
                           ) -> Response:
        return await chart(request, pathway_id, session_id, csrf, "dose/witness", None, {})

    @app.post("/pathways/{pathway_id}/sessions/{session_id}/vitals")
    async def record_vitals(request: Request, pathway_id: uuid.UUID, session_id: uuid.UUID, csrf: str = Form(),
                            systolic: str = Form(""), diastolic: str = Form(""), heart_rate: str = Form(""),
                            spo2: str = Form(""), respiratory_rate: str = Form(""), moaas: str = Form("")
                            ) -> Response:
        typed = {"systolic": systolic, "diastolic": diastolic, "heart_rate": heart_rate, "spo2": spo2,
                 "respiratory_rate": respiratory_rate, "moaas": moaas}
        body = {k: v.strip() for k, v in typed.items() if v.strip() or k in ("systolic", "diastolic", "heart_rate",
                                                                               "spo2")}
        return await chart(request, pathway_id, session_id, csrf, "vitals", body, typed)

    @app.get("/outcomes", response_class=HTMLResponse)
    async def outcomes(request: Request) -> HTMLResponse:
        """Cohort outcomes per instrument, rules version and how courses ended (clinical lead, doctors)."""
        staff = signed_in(request)
        cohort = await services.call("sessions", "GET", "/outcomes", token=staff.token)
        return page(request, "outcomes.html", staff, rows=cohort["outcomes"], names=NAMES)

    @app.get("/outcomes.csv")
    async def outcomes_csv(request: Request) -> Response:
        """The same figures as a spreadsheet, as sessions makes it (no identifier in it)."""
        staff = signed_in(request)
        table = await services.download("sessions", "/outcomes", token=staff.token, accept="text/csv")
        return Response(table, media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="clinicflow-outcomes.csv"',
                                 "Cache-Control": "no-store"})

    @app.get("/enquiries", response_class=HTMLResponse)
    async def enquiries(request: Request, due: str = "") -> HTMLResponse:
        """The contact centre's work list."""
        staff = signed_in(request)
        found = [e for status in ("new", "in_progress") for e in await services.call(
            "intake", "GET", "/enquiries", token=staff.token, params={"status": status, "limit": 500})]
        rows = work_list(found, now=datetime.now(UTC), due_only=due == "now")
        return page(request, "enquiries.html", staff, rows=rows, due_only=due == "now")

    async def enquiry_page(request: Request, staff: StaffSession, enquiry_id: uuid.UUID, purpose: str, *,
                           errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                           status_code: int = 200) -> HTMLResponse:
        if purpose not in PURPOSES:
            return page(request, "enquiry_purpose.html", staff, enquiry_id=enquiry_id, purposes=PURPOSES)
        details = await services.call("intake", "GET", f"/enquiries/{enquiry_id}", token=staff.token,
                                      headers={"X-Access-Purpose": purpose})
        clinicians = [s for s in directory if "clinician" in s["roles"]]
        return page(request, "enquiry.html", staff, status_code=status_code, enquiry=details["enquiry"],
                    person=details["person"], purpose=purpose, purposes=PURPOSES, outcomes=CALL_OUTCOMES,
                    reasons=CLOSE_REASONS, routes=FUNDING_ROUTES, clinicians=clinicians, errors=errors or {},
                    typed=typed or {})

    @app.get("/enquiries/{enquiry_id}", response_class=HTMLResponse)
    async def enquiry(request: Request, enquiry_id: uuid.UUID, purpose: str = "") -> HTMLResponse:
        """One enquiry: first why it is being opened, then the person's details (that read is audited)."""
        return await enquiry_page(request, signed_in(request), enquiry_id, purpose)

    async def act_on_enquiry(request: Request, enquiry_id: uuid.UUID, purpose: str, csrf: str, path: str,
                             body: dict[str, Any], typed: dict[str, str]) -> Response:
        staff = signed_in(request)
        check_csrf(staff, csrf)
        try:
            await services.call("intake", "POST", f"/enquiries/{enquiry_id}/{path}", token=staff.token, json=body)
        except Refused as refused:
            if refused.status not in (409, 422):
                raise
            return await enquiry_page(request, staff, enquiry_id, purpose, errors=refused.by_field(), typed=typed,
                                      status_code=refused.status)
        return RedirectResponse(f"/enquiries/{enquiry_id}?purpose={purpose}", status_code=303)

    @app.post("/enquiries/{enquiry_id}/callbacks")
    async def log_call(request: Request, enquiry_id: uuid.UUID, csrf: str = Form(), purpose: str = Form(),
                       outcome: str = Form("")) -> Response:
        return await act_on_enquiry(request, enquiry_id, purpose, csrf, "callbacks", {"outcome": outcome},
                                    {"outcome": outcome})

    @app.post("/enquiries/{enquiry_id}/assessment")
    async def book(request: Request, enquiry_id: uuid.UUID, csrf: str = Form(), purpose: str = Form(),
                   assessment_at: str = Form(""), clinician_id: str = Form(""), funding_route: str = Form(""),
                   authorisation_reference: str = Form("")) -> Response:
        funding = {"route": funding_route} | ({"authorisation_reference": authorisation_reference}
                                              if authorisation_reference else {})
        body = {"assessment_at": assessment_time(assessment_at, settings.clinic_time_zone),
                "clinician_id": clinician_id, "funding": funding}
        typed = {"assessment_at": assessment_at, "clinician_id": clinician_id, "funding_route": funding_route,
                 "authorisation_reference": authorisation_reference}
        return await act_on_enquiry(request, enquiry_id, purpose, csrf, "assessment", body, typed)

    @app.post("/enquiries/{enquiry_id}/close")
    async def close(request: Request, enquiry_id: uuid.UUID, csrf: str = Form(), purpose: str = Form(),
                    reason: str = Form("")) -> Response:
        return await act_on_enquiry(request, enquiry_id, purpose, csrf, "close", {"reason": reason},
                                    {"reason": reason})

    async def register_page(request: Request, staff: StaffSession, *, errors: dict[str, str] | None = None,
                            status_code: int = 200) -> HTMLResponse:
        pages = await services.call("register", "GET", "/pages", token=staff.token)
        discrepancies = await services.call("register", "GET", "/discrepancies", token=staff.token)
        return page(request, "register.html", staff, status_code=status_code, pages=pages,
                    discrepancies=discrepancies, errors=errors or {},
                    can_resolve=staff.has_any("clinical_lead", "accountable_officer"))

    @app.get("/register", response_class=HTMLResponse)
    async def register(request: Request) -> HTMLResponse:
        """The controlled-drugs register: each page's balance against its reorder level, and what does not add up."""
        return await register_page(request, signed_in(request))

    @app.get("/register/discrepancies")
    async def register_discrepancies(request: Request) -> Response:
        """Where discrepancy notifications link: the register's list of them."""
        signed_in(request)
        return RedirectResponse("/register#discrepancies", status_code=303)

    @app.post("/register/discrepancies/{discrepancy_id}/resolve")
    async def resolve(request: Request, discrepancy_id: uuid.UUID, csrf: str = Form(), resolution: str = Form("")
                      ) -> Response:
        staff = signed_in(request)
        check_csrf(staff, csrf)
        try:
            await services.call("register", "POST", f"/discrepancies/{discrepancy_id}/resolve", token=staff.token,
                                json={"resolution": resolution})
        except Refused as refused:
            if refused.status not in (409, 422):
                raise
            errors = {f"{discrepancy_id}": message for message in refused.by_field().values()}
            return await register_page(request, staff, errors=errors, status_code=refused.status)
        return RedirectResponse("/register#discrepancies", status_code=303)

    async def product_page(request: Request, staff: StaffSession, product: str, *,
                           errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                           status_code: int = 200, checked: dict | None = None) -> HTMLResponse:
        pages = await services.call("register", "GET", "/pages", token=staff.token)
        found = next((p for p in pages if p["product"] == product), None)
        if found is None:
            raise Refused(404, "the register has no page for that product")
        entries = await services.call("register", "GET", f"/pages/{product}/entries", token=staff.token)
        witnesses = [s for s in directory if s["id"] != staff.staff_id and
                     {"nurse", "doctor", "pharmacy", "clinical_lead", "accountable_officer"} & set(s["roles"])]
        return page(request, "register_page.html", staff, status_code=status_code, product=found,
                    entries=list(reversed(entries)), errors=errors or {}, typed=typed or {}, witnesses=witnesses,
                    checked=checked)

    @app.get("/register/{product}", response_class=HTMLResponse)
    async def register_product(request: Request, product: str) -> HTMLResponse:
        """One page of the register: every entry, newest first, with the balance after it; a stock check form."""
        return await product_page(request, signed_in(request), product)

    @app.post("/register/{product}/stock-check", response_class=HTMLResponse)
    async def stock_check(request: Request, product: str, csrf: str = Form(), counted_units: str = Form(""),
                          open_mg: str = Form("0"), witnessed_by: str = Form("")) -> HTMLResponse:
        staff = signed_in(request)
        check_csrf(staff, csrf)
        typed = {"counted_units": counted_units, "open_mg": open_mg, "witnessed_by": witnessed_by}
        try:
            checked = await services.call("register", "POST", f"/pages/{product}/stock-checks", token=staff.token,
                                          json={"counted_units": counted_units, "open_mg": open_mg or "0",
                                                "witnessed_by": witnessed_by})
        except Refused as refused:
            if refused.status not in (409, 422):
                raise
            return await product_page(request, staff, product, errors=refused.by_field(), typed=typed,
                                      status_code=refused.status)
        return await product_page(request, staff, product, checked=checked)

    @app.get("/register/{product}/entries.csv")
    async def register_csv(request: Request, product: str) -> Response:
        """The page as a spreadsheet, as the register makes it."""
        staff = signed_in(request)
        table = await services.download("register", f"/pages/{product}/entries", token=staff.token,
                                        accept="text/csv")
        return Response(table, media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="register-{product}.csv"', "Cache-Control": "no-store"})

    @app.get("/register/{product}/report.pdf")
    async def register_pdf(request: Request, product: str) -> Response:
        """The page as a printable PDF for a register inspector."""
        staff = signed_in(request)
        pdf = await services.download("register", f"/pages/{product}/report.pdf", token=staff.token,
                                      accept="application/pdf")
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="register-{product}.pdf"', "Cache-Control": "no-store"})

    return app


def _dev_sign_in() -> Any:
    """The development sign-in's token minting, with the local key. Only in the development install."""
    try:
        from clinicflow.localinfra.tokens import mint_token
    except ImportError as missing:
        raise RuntimeError("PORTAL_DEV_SIGN_IN needs the development install (make run)") from missing
    secret = AuthSettings().jwt_secret
    if secret is None:
        raise RuntimeError("PORTAL_DEV_SIGN_IN needs AUTH_JWT_SECRET to mint the development tokens")

    def mint(staff_id: str, roles: list[str]) -> str:
        return mint_token(secret.get_secret_value(), staff_id=staff_id, roles=roles)

    return mint


def _local(path: str) -> str:
    """Only redirect within the portal (never to another site named in a query)."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _plain(detail: Any) -> str:
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail)
