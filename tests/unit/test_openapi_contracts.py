"""The OpenAPI documents a client reads declare every refusal an operation can answer with, in one error shape,
and what /metrics really returns. (The fuzz test checks the running services keep to them.)"""

from __future__ import annotations

import httpx
import pytest

from tests.unit.test_auth_first import apps

SERVICES = apps()


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_every_operation_declares_its_refusals_with_the_error_schema(service):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=SERVICES[service]), base_url="http://s") as http:
        document = (await http.get("/openapi.json")).json()
    assert "Error" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            if "operations" in operation.get("tags", []):
                continue
            assert "503" in declared, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= declared, (method, path)
            if "{" in path:
                assert "404" in declared, (method, path)
            if method in ("post", "put", "patch"):
                assert {"409", "413"} <= declared, (method, path)
            for code in declared - {"200", "201", "204", "422"}:
                content = operation["responses"][code].get("content", {})
                if "text/html" in content:  # a page for people (an acknowledgement link), not an API answer
                    continue
                assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                    method, path, code)
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert "application/json" not in metrics and any(kind.startswith("text/plain") for kind in metrics)
