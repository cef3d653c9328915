"""The register's rule file: the products the clinic holds and the wastage window (docs/clinical-rules.md §8).

Versioned clinic configuration, like the other rule files: the packaged defaults in ``rulefiles/default.json``, a
clinic's own file named by ``REGISTER_RULES_FILE``. Checked at start for shape and for invariants; the service refuses
a file that breaks either.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clinicflow.shared.rulefiles import Violation, load_rule_file

# Wastage of an opened vial is recorded within the shift that opened it: a clinic may ask for it sooner, never later.
WASTAGE_WITHIN_HOURS_AT_MOST = 24
# Ketamine and esketamine are Schedule 2 controlled drugs (Misuse of Drugs Regulations 2001): the drugs a page may hold.
CONTROLLED_DRUGS = ("ketamine", "esketamine")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Product(_Strict):
    """One register page: a drug in one form and strength, counted in whole units (vials, ampoules, devices)."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    drug: Literal["ketamine", "esketamine"]
    form: str = Field(min_length=1, max_length=80)
    strength: str = Field(min_length=1, max_length=80)
    unit: Literal["vial", "ampoule", "device"]
    mg_per_unit: Decimal = Field(gt=0, le=10_000, decimal_places=3)
    mg_per_ml: Decimal | None = Field(None, gt=0, le=1_000, decimal_places=3,
                                      description="Solutions only: the concentration a drawn volume is read with.")
    reorder_level_units: int = Field(ge=0, le=10_000)

    @property
    def solution(self) -> bool:
        """A solution is drawn up by volume; a device is given whole."""
        return self.mg_per_ml is not None


class RegisterRules(_Strict):
    """The rule file as loaded."""

    version: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    note: str = ""
    wastage_within_hours: float = Field(gt=0)
    products: tuple[Product, ...] = Field(min_length=1)

    def product(self, code: str) -> Product | None:
        """The page's product, or None for a code the clinic does not hold."""
        return next((p for p in self.products if p.code == code), None)


def invariants(rules: RegisterRules) -> Iterator[Violation]:
    """Every invariant the register rule file breaks."""
    if rules.wastage_within_hours > WASTAGE_WITHIN_HOURS_AT_MOST:
        yield "wastage_within_hours", f"must be at most {WASTAGE_WITHIN_HOURS_AT_MOST} (one shift)"
    codes = [p.code for p in rules.products]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        yield "products", f"{code!r} appears more than once"
    for index, product in enumerate(rules.products):
        where = f"products.{index}"
        if product.unit == "device" and product.solution:
            yield f"{where}.mg_per_ml", "a device is given whole: it has no concentration"
        if product.unit != "device" and not product.solution:
            yield f"{where}.mg_per_ml", "a vial or ampoule is drawn up by volume: give its concentration"
        if product.solution and (product.mg_per_unit / product.mg_per_ml) > 100:
            yield f"{where}.mg_per_unit", "more than 100 mL in one unit: check the strength"


def load_rules(path: str | Path | None = None) -> RegisterRules:
    """The clinic's register rules (the packaged defaults when ``path`` is None); RuleFileError when unsafe."""
    packaged = resources.files("clinicflow.register") / "rulefiles" / "default.json"
    return load_rule_file(path, packaged, RegisterRules, invariants)
