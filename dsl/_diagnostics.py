"""Diagnostics: what the validator reports, one per problem.

Exceptions::

    DslError                 root of every error this package raises
    ├── InvalidSaga          a file or document failed validation; .diagnostics has them all
    ├── LoadError            (dsl._loader) a file is not one YAML or JSON document
    └── ExpressionError      (dsl._expressions) a template does not parse, or failed

Every problem is collected before anything is raised, so a user sees all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Diagnostic", "DslError", "InvalidSaga", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place: `path:line:col: severity: message` (1-based)."""

    path: str
    line: int
    column: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class DslError(Exception):
    """The root of every error raised by the dsl package."""


class InvalidSaga(DslError):
    """Raised when a saga (or a run's input) fails validation; carries every diagnostic."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        head = f"invalid saga for {len(errors)} reason{'s' if len(errors) != 1 else ''}"
        super().__init__("\n".join([head, *(str(d) for d in self.diagnostics)]))
