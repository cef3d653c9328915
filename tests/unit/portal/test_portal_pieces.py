"""The portal's own pieces without a browser: the trajectory chart, the session cookie (tampering, idle timeout),
CSRF, sign-in redirects, and a banner when a service does not answer."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import httpx
from fastapi import Response
from starlette.requests import Request

from clinicflow.portal.app import create_app
from clinicflow.portal.charts import trajectory_svg
from clinicflow.portal.cookies import SESSION_COOKIE, Cookies, StaffSession
from clinicflow.portal.settings import PortalSettings

SECRET = "portal-unit-test-secret-0123456789abcdef"
FIGURES = {"baseline": 18, "latest": 6, "change_percent": -66.7, "response": True, "remission": False,
           "trajectory": [{"total": 14, "measured_at": "x", "after_session": 1},
                          {"total": 6, "measured_at": "y", "after_session": 2}]}


def test_the_chart_is_valid_svg_with_a_text_equivalent_for_every_point():
    svg = trajectory_svg("phq9", FIGURES)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    assert root.find(f"{ns}title").text == "PHQ-9 (depression) across the course"
    assert "baseline 18, latest 6" in root.find(f"{ns}desc").text
    points = root.findall(f"{ns}circle")
    assert [p.find(f"{ns}title").text for p in points] == [
        "PHQ-9 (depression) 18, baseline", "PHQ-9 (depression) 14, after session 1",
        "PHQ-9 (depression) 6, after session 2"]
    heights = [float(p.get("cy")) for p in points]
    assert heights[0] < heights[1] < heights[2]  # a falling score is drawn falling


def test_a_low_baseline_says_response_does_not_apply():
    svg = trajectory_svg("gad7", {**FIGURES, "baseline": 8, "response": None, "remission": None, "trajectory": []})
    assert "response not applicable" in svg


def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "headers": headers, "method": "GET", "path": "/"})


def session_cookie(cookies: Cookies) -> str:
    response = Response()
    cookies.keep(response, StaffSession("dr-1", ("doctor",), "token", "csrf"))
    header = response.headers["set-cookie"]
    assert all(flag in header.lower() for flag in ("httponly", "samesite=strict", "secure"))
    return re.search(rf"{SESSION_COOKIE}=([^;]+)", header).group(1)


def test_a_session_cookie_is_refused_when_tampered_with_or_idle_past_the_timeout(monkeypatch):
    cookies = Cookies(SECRET, idle_seconds=60, secure=True)
    value = session_cookie(cookies)
    assert cookies.session(request_with(value)).staff_id == "dr-1"
    assert cookies.session(request_with(value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))) is None
    assert cookies.session(request_with(None)) is None
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert cookies.session(request_with(value)) is None


def portal(**settings) -> httpx.AsyncClient:  # noqa: ANN003
    unreachable = "http://127.0.0.1:9"
    app = create_app(PortalSettings(session_secret=SECRET, cookie_secure=False, intake_url=unreachable,
                                    screening_url=unreachable, sessions_url=unreachable,
                                    notifications_url=unreachable, **settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


async def test_pages_need_a_session_and_send_the_person_to_sign_in():
    async with portal() as http:
        home = await http.get("/")
        assert (home.status_code, home.headers["location"]) == (303, "/sign-in?next=/")
        assert (await http.get("/pathways/9b3c8a9e-2d0f-4a43-9d3c-6b7e9f0a1b2c")).status_code == 303
        sign_in = await http.get("/sign-in")
        assert "identity provider" in sign_in.text and "Development sign-in" not in sign_in.text


async def test_forms_without_their_csrf_token_are_refused_and_a_silent_service_is_a_banner(monkeypatch):
    monkeypatch.setenv("AUTH_JWT_SECRET", "portal-unit-test-jwt-secret-0123456789")
    async with portal(dev_sign_in=True) as http:
        page = await http.get("/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        forged = await http.post("/sign-in", data={"staff_id": "dr-1", "csrf": "guess", "next": "/"})
        assert forged.status_code == 403
        signed = await http.post("/sign-in", data={"staff_id": "dr-1", "csrf": token, "next": "//evil.example"})
        assert (signed.status_code, signed.headers["location"]) == (303, "/")  # never off-site
        down = await http.get("/")
        assert down.status_code == 503
        assert "notifications service is not answering" in down.text and "Traceback" not in down.text
        ack = await http.post("/inbox/9b3c8a9e-2d0f-4a43-9d3c-6b7e9f0a1b2c/ack", data={"csrf": "guess"})
        assert ack.status_code == 403


def test_the_work_list_puts_overdue_call_backs_first_and_the_due_now_filter_hides_later_ones():
    from datetime import UTC, datetime

    from clinicflow.portal.enquiries import assessment_time, work_list

    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def enquiry(name: str, received: str, due: str | None, status: str = "in_progress") -> dict:
        return {"enquiry_id": name, "status": status, "received_at": received, "next_attempt_due": due}

    rows = work_list([
        enquiry("later", "2026-11-27T08:00:00+00:00", "2026-11-27T16:00:00+00:00"),
        enquiry("new", "2026-11-27T11:00:00+00:00", None, status="new"),
        enquiry("overdue", "2026-11-26T09:00:00+00:00", "2026-11-27T10:00:00+00:00"),
        enquiry("booked", "2026-11-25T09:00:00+00:00", None, status="booked"),
    ], now=now, due_only=False)
    assert [(r["enquiry_id"], r["state"]) for r in rows] == [("overdue", "overdue"), ("new", "due"),
                                                              ("later", "later")]
    assert [r["enquiry_id"] for r in work_list([enquiry("later", "2026-11-27T08:00:00+00:00",
                                                        "2026-11-27T16:00:00+00:00")], now=now, due_only=True)] == []
    assert assessment_time("2026-07-01T10:30", "Europe/London") == "2026-07-01T10:30:00+01:00"  # summer time
    assert assessment_time("", "Europe/London") is None


async def test_breaking_the_glass_needs_a_reason_and_then_goes_with_that_clients_reads_only(monkeypatch):
    monkeypatch.setenv("AUTH_JWT_SECRET", "portal-unit-test-jwt-secret-0123456789")
    pathway, other = "9b3c8a9e-2d0f-4a43-9d3c-6b7e9f0a1b2c", "1c2d3e4f-2d0f-4a43-9d3c-6b7e9f0a1b2c"
    async with portal(dev_sign_in=True) as http:
        page = await http.get("/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        await http.post("/sign-in", data={"staff_id": "dr-2", "csrf": token, "next": "/"})
        csrf = Cookies(SECRET, idle_seconds=1800, secure=False).session(
            request_with(http.cookies[SESSION_COOKIE])).csrf
        terse = await http.post(f"/pathways/{pathway}/break-glass",
                                data={"csrf": csrf, "reason": "  urgent \n", "next": f"/pathways/{pathway}"})
        assert terse.status_code == 422 and "at least 15 characters" in terse.text
        said = {"csrf": csrf, "reason": "Covering the list:\nclient unwell", "next": "//evil.example"}
        broken = await http.post(f"/pathways/{pathway}/break-glass", data=said)
        assert (broken.status_code, broken.headers["location"]) == (303, "/")  # never off-site
        session = Cookies(SECRET, idle_seconds=1800, secure=False).session(request_with(http.cookies[SESSION_COOKIE]))
        assert session.break_glass == ((pathway, "Covering the list: client unwell"),)  # one line, for a header
        assert other not in dict(session.break_glass)
