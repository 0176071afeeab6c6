"""How a `saga test` run is shown: a plain table per suite, and JUnit XML for CI.

A failing case says the step, the fault, the invariant or expectation it broke, and the
effects left in place; passing cases show their end status and what was left on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO
from xml.etree import ElementTree

from interpreter.testing._cases import CaseResult, Suite

__all__ = ["write_junit", "write_table"]

_HEAD = ("result", "case", "step", "fault", "end", "left in place")


def write_table(suites: Sequence[Suite], out: TextIO) -> None:
    """One table per suite, then the failures spelt out, then a one-line summary."""
    for suite in suites:
        out.write(f"{suite.label}\n")
        rows = [_HEAD] + [_row(result) for result in suite.results]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_HEAD))]
        for row in rows:
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            out.write("  " + line.rstrip() + "\n")
        for result in suite.results:
            for failure in result.failures:
                out.write(f"  FAIL {result.case.name}: {failure}\n")
        out.write("\n")
    out.write(summary(suites) + "\n")


def _row(result: CaseResult) -> tuple[str, ...]:
    verdict = "SKIP" if result.status == "SKIPPED" else ("ok" if result.passed else "FAIL")
    left = ", ".join(result.left_in_place) or "-"
    if result.on_purpose:
        left += f" (on purpose: {', '.join(result.on_purpose)})"
    if result.case.skipped:
        left = result.case.skipped
    return (
        verdict,
        result.case.name,
        result.case.step or "-",
        result.case.fault,
        result.status,
        left,
    )


def summary(suites: Sequence[Suite]) -> str:
    results = [r for s in suites for r in s.results]
    failed = sum(not r.passed for r in results)
    skipped = sum(r.status == "SKIPPED" for r in results)
    passed = len(results) - failed - skipped
    text = f"{len(results)} cases: {passed} passed, {failed} failed"
    return text + (f", {skipped} skipped" if skipped else "")


def write_junit(suites: Sequence[Suite], path: str | Path) -> None:
    """JUnit XML: a <testsuite> per suite, a <testcase> per case."""
    root = ElementTree.Element("testsuites", name="saga test")
    for suite in suites:
        node = ElementTree.SubElement(
            root,
            "testsuite",
            name=suite.label,
            tests=str(len(suite.results)),
            failures=str(sum(not r.passed for r in suite.results)),
            skipped=str(sum(r.status == "SKIPPED" for r in suite.results)),
            time=f"{sum(r.seconds for r in suite.results):.3f}",
        )
        for result in suite.results:
            _junit_case(node, suite, result)
    ElementTree.indent(root)
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _junit_case(parent: ElementTree.Element, suite: Suite, result: CaseResult) -> None:
    case = ElementTree.SubElement(
        parent,
        "testcase",
        classname=suite.label,
        name=result.case.name,
        time=f"{result.seconds:.3f}",
    )
    if result.status == "SKIPPED":
        ElementTree.SubElement(case, "skipped", message=result.case.skipped or "")
    elif not result.passed:
        left = ", ".join(result.left_in_place) or "none"
        failure = ElementTree.SubElement(case, "failure", message=result.failures[0])
        failure.text = "\n".join(
            [*result.failures, f"end status: {result.status}", f"left in place: {left}"]
        )
