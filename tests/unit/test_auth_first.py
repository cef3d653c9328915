"""Authentication comes before any database work on every route of every service: an unauthenticated flood gets
its 401 without taking a connection from the pool the event consumers share."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI

from clinicflow.intake.app import create_app as create_intake
from clinicflow.intake.encryption import FieldCipher
from clinicflow.intake.settings import IntakeSettings
from clinicflow.localinfra.tokens import mint_token
from clinicflow.notifications.app import create_app as create_notifications
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.register.app import create_app as create_register
from clinicflow.register.settings import RegisterSettings
from clinicflow.screening.app import create_app as create_screening
from clinicflow.screening.settings import ScreeningSettings
from clinicflow.sessions.app import create_app as create_sessions
from clinicflow.sessions.settings import SessionsSettings
from clinicflow.shared.auth import ROLES
from clinicflow.shared.settings import AuthSettings

SECRET = "unit-test-secret-that-is-long-enough-0123"
AUTH = AuthSettings(jwt_secret=SECRET)
# Open by design: the public enquiry form, acknowledgement links (the token is the credential), and operations.
PUBLIC = {("POST", "/enquiries"), ("GET", "/ack/{token}"), ("POST", "/ack/{token}"), ("GET", "/healthz"),
          ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/asyncapi.json")}


class CountingPool:
    """Counts requests for a database connection (and refuses them: a route that got this far was let in)."""

    def __init__(self) -> None:
        self.asked = 0

    async def acquire(self, timeout: float | None = None):  # noqa: ANN201
        self.asked += 1
        raise RuntimeError("no database in this test")


class Runtime:
    def __init__(self) -> None:
        self.pool = CountingPool()
        self.settings = IntakeSettings(encryption_keys=FieldCipher.new_key_setting("k1"), auth=AUTH)


def apps() -> dict[str, FastAPI]:
    return {
        "intake": create_intake(IntakeSettings(encryption_keys=FieldCipher.new_key_setting("k1"), auth=AUTH)),
        "screening": create_screening(ScreeningSettings(auth=AUTH)),
        "sessions": create_sessions(SessionsSettings(auth=AUTH)),
        "notifications": create_notifications(NotificationsSettings(auth=AUTH)),
        "register": create_register(RegisterSettings(auth=AUTH)),
    }


def calls(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) a service serves with staff authentication, path parameters filled in."""
    return [(method.upper(), re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path))
            for path, operations in app.openapi()["paths"].items() for method in operations
            if (method.upper(), path) not in PUBLIC]


@pytest.mark.parametrize("service", ["intake", "screening", "sessions", "notifications", "register"])
async def test_no_route_touches_the_database_before_authenticating_and_checking_the_role(service):
    app = apps()[service]
    app.state.runtime = runtime = Runtime()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    refused = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        routes = calls(app)
        assert len(routes) >= 5
        for method, path in routes:
            before = runtime.pool.asked
            anonymous = await client.request(method, path)
            assert (anonymous.status_code, runtime.pool.asked) == (401, before), (method, path, anonymous.text)
            for role in sorted(ROLES):
                token = {"Authorization": f"Bearer {mint_token(SECRET, staff_id='x-1', roles=[role])}"}
                before = runtime.pool.asked
                answer = await client.request(method, path, headers=token)
                if answer.status_code == 403:
                    refused += 1
                    assert runtime.pool.asked == before, (method, path, role)
    assert refused >= len(routes)  # most routes refuse most roles


@pytest.mark.parametrize("api_docs", [True, False])
async def test_the_api_documents_are_served_only_where_turned_on(api_docs):
    app = create_screening(ScreeningSettings(auth=AUTH, api_docs=api_docs))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://screening") as http:
        for path in ("/docs", "/openapi.json", "/asyncapi.json"):
            assert (await http.get(path)).status_code == (200 if api_docs else 404), path
        assert (await http.get("/healthz")).status_code == 200
