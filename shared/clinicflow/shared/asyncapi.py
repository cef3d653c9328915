"""AsyncAPI 3.0 document of one service's events, generated from the catalogue (the single source of truth)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clinicflow.shared.catalogue import CATALOGUE, EventSpec, produced_by
from clinicflow.shared.envelope import Envelope


def asyncapi_document(service: str, *, consumes: Iterable[str], description: str = "") -> dict[str, Any]:
    """Channels, messages and operations for what ``service`` sends and receives."""
    sends = produced_by(service)
    receives = [CATALOGUE[t] for t in consumes]
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for action, specs in (("send", sends), ("receive", receives)):
        for spec in specs:
            name = _name(spec)
            messages[name] = _message(spec, schemas)
            channels[name] = {
                "address": spec.topic,
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
            operations[f"{action}_{name}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{name}"},
                "summary": (spec.payload.__doc__ or "").strip(),
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"clinicflow {service}", "version": "1", "description": description},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


_REF = "#/components/schemas/{model}"


def _name(spec: EventSpec) -> str:
    return spec.topic.replace(".", "_")


def _message(spec: EventSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    """The message's schema; the models nested in it go to ``schemas`` (the document's components), where the
    references pydantic writes point, so every ``$ref`` resolves from the document's root."""
    envelope = Envelope.model_json_schema(by_alias=True, ref_template=_REF)
    data = spec.payload.model_json_schema(ref_template=_REF)
    schemas.update(envelope.pop("$defs", {}) | data.pop("$defs", {}))
    envelope["properties"]["data"] = data
    envelope["properties"]["type"] = {"const": spec.type, "type": "string"}
    return {
        "name": spec.type,
        "title": spec.type,
        "summary": (spec.payload.__doc__ or "").strip(),
        "payload": envelope,
        "bindings": {"kafka": {"key": {"type": "string", "format": "uuid", "description": "The pathway id."}}},
    }
