"""Every answer a route can give, declared in its OpenAPI document (docs/contracts.md): a client generated from the
document knows each refusal and its shape, not only the success.

One pass over the generated document rather than a list per route, from what each operation shows: one behind the
staff bearer check can answer 401 and 403; every API operation works in the database, so 503 (no connection in
time) and, when it changes something, 409 (a move its state does not allow); one with a path parameter 404; one
that takes a body 413 (larger than the limit). FastAPI declares 422 itself wherever there are parameters.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

OPERATIONS_TAG = "operations"  # health, readiness, metrics, AsyncAPI: no database session, no staff check
REFUSALS = {
    401: "No bearer token, or one that is invalid or expired.",
    403: "The token lacks the role this needs, or (for a client's record) the person is not on the care team.",
    404: "Nothing with that id.",
    409: "The record's state does not allow this (e.g. already signed off, already witnessed).",
    413: "The request body is larger than the service accepts.",
    503: "The service could not get a database connection in time: retry after the Retry-After seconds.",
}


class Error(BaseModel):
    """A refusal: a sentence for people, or (422) one entry per field in FastAPI's shape."""

    detail: str | list[dict[str, Any]] = Field(description="What was refused and why; never personal data.")


def refusals_of(method: str, operation: dict[str, Any]) -> set[int]:
    """The refusals one operation of the document can answer with."""
    if OPERATIONS_TAG in operation.get("tags", []):
        return set()
    codes = {503}
    if operation.get("security"):
        codes |= {401, 403}
    if method != "get":
        codes |= {409}
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.add(404)
    if method in ("post", "put", "patch"):
        codes.add(413)
    return codes


def declare_refusals(app: FastAPI) -> None:
    """Make the app's OpenAPI document declare each operation's refusals, with the ``Error`` schema."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {})["Error"] = Error.model_json_schema()
            for operations in document.get("paths", {}).values():
                for method, operation in operations.items():
                    for code in sorted(refusals_of(method, operation)):
                        operation["responses"].setdefault(str(code), {
                            "description": REFUSALS[code],
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
        return app.openapi_schema

    app.openapi = openapi
