"""The refusals every service's domain raises, and how HTTP shows them (standard library only).

404 for something unknown, 403 for a record this person may not open, 409 for a move its state does not allow, 422
naming the field (FastAPI's error shape).
Messages are written to be shown to staff: they never carry personal data.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse.

    ``keeps_work`` marks the one kind of refusal whose unit of work still commits: the rules took a safety action
    before refusing (an item-9 answer raised its alert although the rest of the form is invalid), and that action
    must stand.
    """

    status_code = 400
    keeps_work = False


class NotFound(DomainError):
    """No such thing."""

    status_code = 404


class NotPermitted(DomainError):
    """This person may not do this to this record (their role allows it elsewhere)."""

    status_code = 403


class IllegalMove(DomainError):
    """The current state does not allow this."""

    status_code = 409


class InvalidField(DomainError):
    """One field breaks a rule."""

    status_code = 422

    def __init__(self, field: str, kind: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.kind = kind

    def detail(self) -> list[dict[str, object]]:
        """FastAPI's validation-error shape, so clients parse one format."""
        return [{"loc": ["body", *self.field.split(".")], "msg": str(self), "type": self.kind}]


class InvalidFields(DomainError):
    """Several fields break rules: each is named, so staff can correct them all at once."""

    status_code = 422

    def __init__(self, problems: list[InvalidField], *, keeps_work: bool = False) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
        self.keeps_work = keeps_work

    def detail(self) -> list[dict[str, object]]:
        """FastAPI's validation-error shape, one entry per field."""
        return [entry for problem in self.problems for entry in problem.detail()]
