"""Committed JSON Schemas of every event payload, and the backward-compatibility rule for a published version.

Within a version only additive, optional changes are allowed: no field removed, no field's type changed, no new
required field, no enum value removed. Anything else needs a new version (a new topic).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clinicflow.shared.catalogue import CATALOGUE, EventSpec

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema_of(spec: EventSpec) -> dict[str, Any]:
    """The payload's JSON Schema as it is in the code now."""
    return spec.payload.model_json_schema()


def schema_path(spec: EventSpec) -> Path:
    """Where the committed schema of an event type lives."""
    return SCHEMA_DIR / f"{spec.topic}.json"


def export_schemas() -> list[Path]:
    """Write every payload's schema to its committed file."""
    written = []
    for spec in CATALOGUE.values():
        path = schema_path(spec)
        path.write_text(json.dumps(schema_of(spec), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def breaking_changes(old: dict[str, Any], new: dict[str, Any], where: str = "") -> list[str]:
    """Why ``new`` would break consumers written against ``old`` (empty when compatible)."""
    problems: list[str] = []
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    problems += _compare_object(old, new, where or "payload", old_defs, new_defs)
    return problems


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return defs.get(ref.rsplit("/", 1)[-1], {}) if ref else node


def _compare_object(old, new, where, old_defs, new_defs) -> list[str]:  # noqa: ANN001
    old, new = _resolve(old, old_defs), _resolve(new, new_defs)
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in old_props:
        if name not in new_props:
            problems.append(f"{where}.{name}: removed")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"{where}.{name}: newly required")
    for name, old_field in old_props.items():
        if name in new_props:
            problems += _compare_field(old_field, new_props[name], f"{where}.{name}", old_defs, new_defs)
    return problems


def _compare_field(old, new, where, old_defs, new_defs) -> list[str]:  # noqa: ANN001
    old, new = _resolve(old, old_defs), _resolve(new, new_defs)
    if _types(old, old_defs) - _types(new, new_defs):
        return [f"{where}: type narrowed from {sorted(_types(old, old_defs))} to {sorted(_types(new, new_defs))}"]
    removed = set(_enum(old, old_defs)) - set(_enum(new, new_defs)) if _enum(new, new_defs) else set()
    if removed:
        return [f"{where}: values removed {sorted(removed)}"]
    if "properties" in old:
        return _compare_object(old, new, where, old_defs, new_defs)
    return []


def _alternatives(node: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node, defs)
    options = node.get("anyOf") or node.get("oneOf")
    return [_resolve(o, defs) for o in options] if options else [node]


def _types(node: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    found = set()
    for option in _alternatives(node, defs):
        kind = option.get("type")
        found |= set(kind) if isinstance(kind, list) else {kind or ("enum" if "enum" in option else "any")}
    return found


def _enum(node: dict[str, Any], defs: dict[str, Any]) -> list[Any]:
    values: list[Any] = []
    for option in _alternatives(node, defs):
        values += option.get("enum", []) + ([option["const"]] if "const" in option else [])
    return values
