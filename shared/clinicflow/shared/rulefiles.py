"""Loading clinician-owned rule files: JSON read, checked for shape, then for safety invariants, at start.

A service refuses to start on a file that breaks either, with an error naming the file, the field and the rule it
breaks. The invariants themselves are clinical and live in each service's ``rules`` module; this module only reads
files and reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

Violation = tuple[str, str]  # (field, the invariant it breaks)


class RuleFileError(ValueError):
    """A rule file the service must not run with."""

    def __init__(self, file: str, violations: list[Violation]) -> None:
        self.file = file
        self.violations = violations
        listed = "; ".join(f"{field}: {invariant}" for field, invariant in violations)
        super().__init__(f"rule file {file} is not safe to run with: {listed}")


def load_rule_file(
    path: str | Path | None, packaged: Traversable, model: type[M], invariants: Callable[[M], Iterable[Violation]]
) -> M:
    """Read ``path`` (``packaged`` when None) as ``model``, then check every invariant; RuleFileError otherwise."""
    name = str(path) if path else f"{packaged.name} (packaged defaults)"
    text = Path(path).read_text() if path else packaged.read_text()
    try:
        rules = model.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise RuleFileError(name, [(f"line {exc.lineno}", "not valid JSON")]) from None
    except ValidationError as exc:
        violations = [(".".join(map(str, e["loc"])) or "<root>", e["msg"]) for e in exc.errors()]
        raise RuleFileError(name, violations) from None
    violations = list(invariants(rules))
    if violations:
        raise RuleFileError(name, violations)
    return rules
