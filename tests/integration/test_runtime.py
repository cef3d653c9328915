"""A service built on the shared runtime, served over real HTTP on the real broker and database: health,
readiness, metrics, AsyncAPI, body limits and staff authentication."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import APIRouter, Depends

from clinicflow.localinfra.ports import free_port
from clinicflow.localinfra.tokens import mint_token
from clinicflow.shared.auth import Staff, require_roles
from clinicflow.shared.runtime import ServiceDefinition, build_app, transactional
from clinicflow.shared.settings import ServiceSettings
from tests.conftest import TEST_JWT_SECRET
from tests.support import serving

pytestmark = pytest.mark.integration


def doctor_only_router() -> APIRouter:
    router = APIRouter()

    @router.post("/commit-fails", status_code=201)
    async def commit_fails(conn=transactional(lambda conn, _events: conn, source="test")) -> dict:  # noqa: ANN001
        # The second insert breaks a constraint checked only at commit.
        await conn.execute("CREATE TABLE IF NOT EXISTS commits_later "
                           "(id int, CONSTRAINT once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)")
        await conn.execute("INSERT INTO commits_later VALUES (1), (1)")
        return {"stored": True}

    @router.post("/sign")
    async def sign(body: dict, staff: Staff = Depends(require_roles("doctor"))) -> dict:
        return {"signed_by": staff.id}

    return router


@pytest.fixture
async def service_url(kafka_settings, database_settings, auth_settings, namespace):
    port = free_port()
    settings = ServiceSettings(
        service_name="intake",
        http_port=port,
        db_schema=namespace,
        max_body_bytes=2048,
        kafka=kafka_settings,
        database=database_settings,
        auth=auth_settings,
    )
    app = build_app(ServiceDefinition(settings=settings, migrations=[], routers=[doctor_only_router()]))
    async with serving(app, port) as url:
        yield url


async def test_health_readiness_metrics_and_asyncapi_are_served(service_url):
    async with httpx.AsyncClient(base_url=service_url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "checks": {"database": True, "kafka": True}}
        assert "clinicflow_outbox_backlog" in (await http.get("/metrics")).text
        document = (await http.get("/asyncapi.json")).json()
        assert document["asyncapi"] == "3.0.0"
        assert "send_enquiry_received_v1" in document["operations"]
        assert (await http.get("/openapi.json")).status_code == 200


async def test_staff_calls_need_a_valid_token_with_the_role(service_url):
    doctor = mint_token(TEST_JWT_SECRET, staff_id="dr-1", roles=["doctor"])
    nurse = mint_token(TEST_JWT_SECRET, staff_id="rn-1", roles=["nurse"])
    expired = mint_token(TEST_JWT_SECRET, staff_id="dr-1", roles=["doctor"], ttl=timedelta(seconds=-5))
    forged = mint_token("another-key-entirely-of-enough-length", staff_id="dr-1", roles=["doctor"])
    no_roles = jwt.encode({"sub": "dr-1", "exp": 4102444800}, TEST_JWT_SECRET, algorithm="HS256")
    async with httpx.AsyncClient(base_url=service_url) as http:
        def sign(token: str | None):  # noqa: ANN202
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return http.post("/sign", json={}, headers=headers)

        assert (await sign(doctor)).json() == {"signed_by": "dr-1"}
        missing = await sign(None)
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        for token in (expired, forged, no_roles, "not-a-jwt"):
            assert (await sign(token)).status_code == 401
        refused = await sign(nurse)
        assert refused.status_code == 403
        assert "doctor" in refused.json()["detail"]


async def test_a_body_over_the_limit_is_refused_with_413_also_when_sent_in_chunks(service_url):
    doctor = mint_token(TEST_JWT_SECRET, staff_id="dr-1", roles=["doctor"])
    big = b'{"x": "' + b"a" * 4096 + b'"}'

    async def chunks():  # noqa: ANN202 - no Content-Length: the server must count
        for i in range(0, len(big), 512):
            yield big[i : i + 512]

    async with httpx.AsyncClient(base_url=service_url, headers={"Authorization": f"Bearer {doctor}"}) as http:
        assert (await http.post("/sign", content=big, headers={"content-type": "application/json"})).status_code == 413
        chunked = await http.post("/sign", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413


async def test_a_change_is_committed_before_the_response_so_a_failed_commit_is_never_reported_as_success(service_url):
    async with httpx.AsyncClient(base_url=service_url) as http:
        assert (await http.post("/commit-fails")).status_code == 500


async def test_a_request_that_cannot_get_a_connection_in_time_is_told_to_retry(
    kafka_settings, database_settings, auth_settings, namespace
):
    port = free_port()
    settings = ServiceSettings(
        service_name="intake", http_port=port, db_schema=namespace, kafka=kafka_settings, auth=auth_settings,
        database=database_settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1,
                                                      "acquire_timeout_seconds": 0.5}),
    )
    app = build_app(ServiceDefinition(settings=settings, migrations=[], routers=[doctor_only_router()]))
    async with serving(app, port) as url, httpx.AsyncClient(base_url=url) as http:
        held = await app.state.runtime.pool.acquire()  # every connection is busy
        try:
            busy = await http.post("/commit-fails")
        finally:
            await app.state.runtime.pool.release(held)
        assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")
        assert (await http.post("/commit-fails")).status_code == 500  # with a connection free it runs again
