"""Reporters for `saga validate`: the same results as text, JSON or GitHub annotations.

A reporter gets every file's diagnostics at once and writes them; the command picks
one by name (`REPORTERS`) and decides the exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from dsl import Diagnostic

__all__ = ["REPORTERS", "FileReport", "report_github", "report_json", "report_text"]


@dataclass(frozen=True)
class FileReport:
    """One checked file and its diagnostics, sorted by position."""

    path: str
    diagnostics: Sequence[Diagnostic]

    @property
    def valid(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def _counts(reports: Sequence[FileReport]) -> tuple[int, int]:
    errors = sum(1 for r in reports for d in r.diagnostics if d.is_error)
    warnings = sum(1 for r in reports for d in r.diagnostics if not d.is_error)
    return errors, warnings


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def report_text(reports: Sequence[FileReport], out: TextIO, verbose: bool = False) -> None:
    """`path:line:col: severity: message`, one per line; a summary on stderr with -v."""
    for report in reports:
        for diagnostic in report.diagnostics:
            print(diagnostic, file=out)
    if verbose:
        errors, warnings = _counts(reports)
        invalid = sum(1 for r in reports if not r.valid)
        print(
            f"{_plural(len(reports), 'file')} checked: {invalid} invalid, "
            f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}",
            file=sys.stderr,
        )


def report_json(reports: Sequence[FileReport], out: TextIO, verbose: bool = False) -> None:
    errors, warnings = _counts(reports)
    document = {
        "valid": errors == 0,
        "errors": errors,
        "warnings": warnings,
        "files": [
            {
                "path": report.path,
                "valid": report.valid,
                "diagnostics": [
                    {
                        "line": d.line,
                        "column": d.column,
                        "severity": d.severity,
                        "message": d.message,
                    }
                    for d in report.diagnostics
                ],
            }
            for report in reports
        ],
    }
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def report_github(reports: Sequence[FileReport], out: TextIO, verbose: bool = False) -> None:
    """GitHub Actions workflow commands: an annotation per diagnostic."""
    for report in reports:
        for d in report.diagnostics:
            props = f"file={_escape_property(d.path)},line={d.line},col={d.column}"
            print(f"::{d.severity} {props}::{_escape_data(d.message)}", file=out)


REPORTERS: dict[str, Callable[[Sequence[FileReport], TextIO, bool], None]] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
}
