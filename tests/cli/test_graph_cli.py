"""`saga graph`: the step DAG with compensations, as Mermaid or as DOT that parses."""

from __future__ import annotations

import re
from pathlib import Path

import pydot
import pytest

from interpreter.cli import main

VALID = Path(__file__).parent.parent / "examples" / "valid"
INVALID = Path(__file__).parent.parent / "examples" / "invalid"

# Every line of our Mermaid output has one of these shapes.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")

MERMAID_LINE = re.compile(
    r"^(flowchart TD"
    r'|    \w+(\["[^"]*"\]|\[\["[^"]*"\]\]|\(\["[^"]*"\]\))'
    r"|    \w+ (-->|-\.->) \w+"
    r"|    classDef undo [^;]+"
    r"|    class [\w,]+ undo)$"
)


def _graph(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["graph", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_mermaid_shows_steps_edges_conditions_and_compensations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _graph(capsys, str(VALID / "dag.yaml"))
    assert code == 0
    lines = out.splitlines()
    assert [line for line in lines if not MERMAID_LINE.match(line)] == []
    assert "    step_flight --> step_car" in lines
    assert "    step_hotel --> step_car" in lines
    assert "    step_flight -.-> undo_flight" in lines
    assert "when: has(input.notify) && input.notify" in out


def test_mermaid_marks_the_pivot_with_a_double_border(capsys: pytest.CaptureFixture[str]) -> None:
    out = _graph(capsys, str(VALID / "pivot.yaml"))[1]
    assert '    step_capture[["capture<br/>POST shop /captures<br/>pivot' in out


def test_a_request_shows_its_service_and_path_apart(capsys: pytest.CaptureFixture[str]) -> None:
    out = _graph(capsys, str(VALID / "dag.yaml"))[1]
    assert '"flight<br/>POST flights /bookings"' in out
    assert "flights/bookings" not in out


def test_an_absolute_url_shows_whole(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_text(
        "version: 1\nname: u\nsteps:\n  - name: ping\n"
        "    action: {url: 'http://x.example/hooks/ping', method: GET}\n"
    )
    assert "GET http://x.example/hooks/ping" in _graph(capsys, str(path))[1]


def test_mermaid_escapes_quotes_in_labels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        "version: 1\nname: q\nsteps:\n  - name: end\n"
        "    when: '${ input.x == \"a<b\" }'\n"
        "    action: {url: 'http://x', method: GET}\n"
    )
    out = _graph(capsys, str(path))[1]
    assert "when: ${ input.x == #quot;a#lt;b#quot; }" in out
    assert [line for line in out.splitlines() if not MERMAID_LINE.match(line)] == []


@pytest.mark.parametrize("name", sorted(p.name for p in VALID.iterdir()))
def test_dot_output_parses(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, _ = _graph(capsys, "--format", "dot", str(VALID / name))
    assert code == 0
    graphs = pydot.graph_from_dot_data(out)
    assert graphs is not None and len(graphs) == 1


def test_dot_has_dashed_compensation_edges_and_a_double_bordered_pivot(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _graph(capsys, "--format", "dot", str(VALID / "pivot.yaml"))[1]
    graphs = pydot.graph_from_dot_data(out)
    assert graphs is not None
    [graph] = graphs
    edges = {(e.get_source(), e.get_destination()): e.get("style") for e in graph.get_edges()}
    assert edges[("step_hold", "undo_hold")] == "dashed"
    assert edges[("step_hold", "step_capture")] is None
    [pivot] = graph.get_node("step_capture")
    assert pivot.get("peripheries") == "2"


def test_an_invalid_saga_prints_its_diagnostics_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _graph(capsys, str(INVALID / "check-cycle.yaml"))
    assert (code, out) == (1, "")
    assert "waits for itself" in err


def test_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _graph(capsys, "missing.yaml") == (2, "", "Error: no such file: 'missing.yaml'\n")
