"""`saga validate`: files, folders and globs; every error at once; text, JSON and GitHub
formats; --input, --strict; exit codes 0 / 1 / 2; and no Temporal import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interpreter.cli import _click_main, main
from interpreter.cli._validate import quick_validate

EXAMPLES = Path(__file__).parent.parent / "examples"
VALID = EXAMPLES / "valid" / "sequence.yaml"
SAGA_BIN = str(Path(sys.executable).parent / "saga")

WARNS = "version: 1\nname: w\nsteps:\n  - name: a\n    action: {url: 'http://x', method: POST}\n"
BROKEN = "version: 1\nname: b\nsteps:\n  - name: a\n    action: {url: 'http://x', methd: GET}\n"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_valid_file_prints_nothing_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, str(VALID)) == (0, "", "")


def test_verbose_prints_a_summary_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "-v", str(VALID))
    assert (code, out) == (0, "")
    assert err == "1 file checked: 0 invalid, 0 errors, 0 warnings\n"


def test_every_error_of_every_file_is_printed_in_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = _write(tmp_path, "a.yaml", BROKEN)
    second = _write(tmp_path, "b.yaml", "version: 2\nname: X\nsteps: []\n")
    code, out, _ = _run(capsys, str(first), str(second))
    assert code == 1
    assert out.splitlines() == [
        f"{first}:5:31: error: unknown key 'methd' (did you mean 'method'?) in `steps[0].action`",
        f"{second}:1:10: error: unsupported version 2: the only version is 1",
        f"{second}:2:7: error: invalid saga name 'X': use lower-case letters, digits, '-' and "
        "'_', starting with a letter, at most 63 characters",
        f"{second}:3:8: error: `steps` needs at least 1 item",
    ]


def test_folders_are_searched_recursively_skipping_hidden_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _write(tmp_path, "top.yaml", BROKEN)
    _write(tmp_path, "deep/er/inner.yml", BROKEN)
    _write(tmp_path, ".hidden/skip.yaml", BROKEN)
    _write(tmp_path, "notes.txt", "not a saga")
    code, out, _ = _run(capsys, str(tmp_path))
    assert code == 1
    files = sorted({line.split(":")[0] for line in out.splitlines()})
    assert files == [str(tmp_path / "deep/er/inner.yml"), str(tmp_path / "top.yaml")]


def test_a_folder_walk_skips_input_documents_but_an_explicit_one_is_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _write(tmp_path, "trip.input.json", '{"trip_id": "t-1"}')
    _write(tmp_path, "trip.yaml", BROKEN)

    _, walked, _ = _run(capsys, str(tmp_path))
    _, named, _ = _run(capsys, str(tmp_path / "trip.input.json"))

    assert "trip.input.json" not in walked and "trip.yaml" in walked
    assert named.startswith(str(tmp_path / "trip.input.json"))


def test_globs_are_expanded(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(EXAMPLES / "valid" / "*.json"))
    assert (code, out) == (0, "")


def test_a_path_that_matches_nothing_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "no/such/file.yaml")
    assert (code, out) == (2, "")
    assert err == "Error: no such file or folder: 'no/such/file.yaml'\n"
    assert _run(capsys, "no/such/*.yaml")[2] == "Error: nothing matches 'no/such/*.yaml'\n"


def test_a_folder_without_sagas_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, str(tmp_path))
    assert code == 2 and err.startswith("Error: no saga files")


def test_warnings_are_printed_but_pass_unless_strict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _write(tmp_path, "w.yaml", WARNS)
    code, out, _ = _run(capsys, str(path))
    assert code == 0 and ": warning: step 'a' changes something (POST)" in out
    assert _run(capsys, "--strict", str(path))[0] == 1


def test_json_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "a.yaml", BROKEN)
    code, out, _ = _run(capsys, "--format", "json", str(path), str(VALID))
    report = json.loads(out)
    assert code == 1
    assert (report["valid"], report["errors"], report["warnings"]) == (False, 1, 0)
    assert report["files"][0] == {
        "path": str(path),
        "valid": False,
        "diagnostics": [
            {
                "line": 5,
                "column": 31,
                "severity": "error",
                "message": "unknown key 'methd' (did you mean 'method'?) in `steps[0].action`",
            }
        ],
    }
    assert report["files"][1] == {"path": str(VALID), "valid": True, "diagnostics": []}


def test_github_format_writes_workflow_commands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _write(tmp_path, "a,b.yaml", BROKEN)
    code, out, _ = _run(capsys, "--format", "github", str(path))
    escaped = str(path).replace(",", "%2C")
    assert code == 1
    assert out == (
        f"::error file={escaped},line=5,col=31::unknown key 'methd' (did you mean 'method'?) "
        "in `steps[0].action`\n"
    )


def test_input_is_checked_against_the_saga(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = _write(tmp_path, "good.json", '{"order_id": "o-1", "amount": 5}')
    bad = _write(tmp_path, "bad.yaml", "order_id: o-1\namount: 0\n")
    assert _run(capsys, "--input", str(good), str(VALID)) == (0, "", "")
    code, out, _ = _run(capsys, "--input", str(bad), str(VALID))
    assert code == 1
    assert out == f"{bad}:2:9: error: `amount` must be at least 1, not 0\n"


def test_an_unreadable_input_is_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(capsys, "--input", str(tmp_path / "none.json"), str(VALID))
    assert code == 1 and "cannot read file" in out


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "xml", str(VALID)]) == 2


# --- as a user runs it ----------------------------------------------------------------


def test_the_installed_command_reports_and_exits_1(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.yaml", BROKEN)
    done = subprocess.run([SAGA_BIN, "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout.startswith(f"{path}:5:31: error: unknown key 'methd'")
    assert done.stderr == ""


def test_the_installed_command_exits_2_on_usage_errors() -> None:
    done = subprocess.run([SAGA_BIN, "validate", "missing.yaml"], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("Error: ")


def test_validate_imports_neither_temporal_nor_rich() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", SAGA_BIN, "validate", str(VALID)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    imported = [line.split("|")[-1].strip() for line in done.stderr.splitlines()]
    assert "dsl._checks" in imported  # the file was really checked
    assert [name for name in imported if name.startswith(("temporalio", "rich", "click"))] == []
    assert "importlib.metadata" not in imported  # pydantic's plugin loader is not imported


_PLUGINS = """
import importlib, os, sys
from interpreter.cli import _without_pydantic_plugins
from dsl import load_and_check
_without_pydantic_plugins()
ok = load_and_check(sys.argv[1]).ok
searched = "importlib.metadata" in sys.modules
loader = importlib.import_module("pydantic.plugin._loader")
print(os.environ["PYDANTIC_DISABLE_PLUGINS"], ok, searched, list(loader.get_plugins()))
print(loader.PYDANTIC_ENTRY_POINT_GROUP, "importlib.metadata" in sys.modules)
"""


def test_validate_neither_searches_nor_imports_pydantic_plugins() -> None:
    args = [sys.executable, "-c", _PLUGINS, str(VALID)]
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    # Any other name asked of the loader comes from the real one, imported then.
    assert done.stdout.splitlines() == ["__all__ True False []", "pydantic True"]
    env["PYDANTIC_DISABLE_PLUGINS"] = "some-plugin"  # the user's choice is left alone
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert done.stdout.splitlines() == ["some-plugin True True []", "pydantic True"]


# --- the command line read without click ------------------------------------------------


def _quick_cases(folder: Path) -> list[list[str]]:
    valid, warns = str(VALID), str(_write(folder, "w.yaml", WARNS))
    broken, inputs = str(_write(folder, "b.yaml", BROKEN)), str(_write(folder, "i.json", "{}"))
    return [
        [valid],
        [valid, warns, broken],
        ["--format", "json", warns, broken],
        ["--format=github", broken],
        [warns, "--strict"],
        ["-v", valid, "--verbose"],
        ["--format", "json", "--format", "text", broken],
        ["--input", inputs, valid],
        [f"--input={inputs}", "--strict", warns],
        [str(folder)],
        ["missing.yaml"],
        [valid, "--format", "xml"],
        [valid, "--format"],
        [valid, "--input"],
        ["--input", "--strict", valid],
        ["--format="],
        ["--strict"],
        [],
        ["--help"],
        ["-h"],
        ["-vx", valid],
        ["--", valid],
        ["-", valid],
        ["--strictly", valid],
    ]


def test_the_quick_reading_runs_what_click_would(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for args in _quick_cases(tmp_path):
        by_click = (_click_main(["validate", *args]), *capsys.readouterr())
        assert (main(["validate", *args]), *capsys.readouterr()) == by_click, args


def test_the_quick_reading_leaves_to_click_what_it_does_not_know(tmp_path: Path) -> None:
    cases = _quick_cases(tmp_path)
    left = [args for args in cases if quick_validate(args) is None]
    assert left == cases[cases.index([str(VALID), "--format", "xml"]) :]
