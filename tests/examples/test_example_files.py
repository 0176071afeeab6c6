"""Example files as specifications: every valid file passes with no diagnostic, every
invalid file reports exactly the lines of its `.expected` file (`line:col: severity:
message`), and every saga bundled in sagas/ is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl._validate import load_and_check
from interpreter.cli._validate import expand_paths

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SAGA_SUFFIXES = (".yaml", ".yml", ".json")


def _examples(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in SAGA_SUFFIXES)


VALID = _examples(HERE / "valid")
INVALID = _examples(HERE / "invalid")
# The bundled sagas as `saga validate sagas/` finds them (it skips the *.input.json beside them).
BUNDLED = expand_paths([str(ROOT / "sagas")])


def _expected(path: Path) -> list[str]:
    return path.with_name(path.name + ".expected").read_text(encoding="utf-8").splitlines()


def _reported(path: Path) -> list[str]:
    prefix = f"{path}:"
    return [str(d).removeprefix(prefix) for d in load_and_check(path).diagnostics]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_example_is_valid_without_diagnostics(path: Path) -> None:
    result = load_and_check(path)
    assert result.diagnostics == []
    assert result.ok and result.saga is not None


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_reports_exactly_its_expected_diagnostics(path: Path) -> None:
    assert _reported(path) == _expected(path)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_expects_at_least_one_diagnostic(path: Path) -> None:
    assert _expected(path), f"{path.name}.expected is empty"


def test_invalid_examples_cover_many_cases() -> None:
    assert len(INVALID) >= 35


def test_every_expected_file_belongs_to_an_example() -> None:
    examples = {p.name for p in INVALID}
    orphans = [p.name for p in (HERE / "invalid").glob("*.expected") if p.stem not in examples]
    assert orphans == []


def test_sagas_folder_holds_examples() -> None:
    assert BUNDLED, "sagas/ should hold at least one example saga"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_saga_is_valid_without_diagnostics(path: Path) -> None:
    result = load_and_check(path)
    assert [str(d) for d in result.diagnostics] == []
    assert result.ok


def _bomb() -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    return ("\n".join(lines) + "\n").encode()


HOSTILE = {
    "alias-bomb.yaml": (
        _bomb,
        "6:25: error: the document holds more than 500000 values once its aliases are expanded",
    ),
    "deep.yaml": (
        lambda: b"a: " + b"[" * 50_000 + b"]" * 50_000,
        "1:67: error: the document is nested more than 64 levels deep",
    ),
    "latin1.yaml": (
        lambda: "version: 1\nname: caf\u00e9\n".encode("latin-1"),
        "2:10: error: the file is not valid utf-8: unexpected byte 0xe9",
    ),
    "huge.yaml": (
        lambda: b"version: 1\ndescription: " + b"x" * (20 * 1024 * 1024) + b"\n",
        "1:1: error: the file is too large (20.0 MiB; the limit is 16 MiB)",
    ),
    "nul.json": (
        lambda: b'{"version": 1,\n "name": "\x00"}',
        "2:11: error: json syntax error: character 0x0000 is not allowed",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_ends_in_one_diagnostic(tmp_path: Path, name: str) -> None:
    make, expected = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(make())
    assert _reported(path) == [expected]
