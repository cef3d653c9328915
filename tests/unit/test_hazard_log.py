"""The hazard log stays true: every hazard has a control proven by tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOG = REPO / "docs" / "safety" / "hazard-log.md"
FIELDS = ("Cause", "Effect", "Initial risk", "Control", "Proven by", "Residual risk")


def hazards() -> dict[str, str]:
    sections = re.split(r"^### ", LOG.read_text(), flags=re.MULTILINE)[1:]
    return {s.split("\n", 1)[0]: s for s in sections}


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_hazard_has_each_field_and_a_unique_id():
    found = hazards()
    ids = [title.split()[0] for title in found]
    assert ids and len(ids) == len(set(ids)) and all(re.fullmatch(r"H-\d{3}", i) for i in ids)
    for title, text in found.items():
        for field in FIELDS:
            assert f"- **{field}**" in text, f"{title} has no {field}"


def test_every_hazard_names_tests_that_exist():
    for title, text in hazards().items():
        proven_by = text.split("- **Proven by**:", 1)[1].split("- **Residual risk**", 1)[0]
        references = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", proven_by)
        assert references, f"{title} names no test"
        for path, name in references:
            assert (REPO / path).is_file(), f"{title}: no file {path}"
            assert name in functions_in(REPO / path), f"{title}: no test {name} in {path}"
