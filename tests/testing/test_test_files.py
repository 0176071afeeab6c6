"""Test files: every mistake at its line and column; the committed ones are valid."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from interpreter.testing import (
    default_test_schema_path,
    load_test_file,
    stale_test_schema_message,
)

SAGAS = Path(__file__).parents[2] / "sagas"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(SAGAS / "trip-booking.yaml", tmp_path / "trip.yaml")
    shutil.copy(SAGAS / "trip-booking.input.json", tmp_path / "trip.input.json")
    return tmp_path


def diagnostics(folder: Path, text: str) -> list[str]:
    path = folder / "trip.test.yaml"
    path.write_text(text, encoding="utf-8")
    return [str(d).removeprefix(str(folder) + "/") for d in load_test_file(path).diagnostics]


@pytest.mark.parametrize("path", sorted(SAGAS.glob("*.test.yaml")), ids=lambda p: p.name)
def test_every_committed_test_file_is_valid(path: Path) -> None:
    assert load_test_file(path).diagnostics == []


def test_every_saga_has_a_test_file() -> None:
    sagas = {p.name.removesuffix(".yaml") for p in SAGAS.glob("*.yaml") if ".test." not in p.name}
    tests = {p.name.removesuffix(".test.yaml") for p in SAGAS.glob("*.test.yaml")}
    assert sagas == tests


def test_the_committed_schema_is_current() -> None:
    assert stale_test_schema_message(default_test_schema_path()) is None


def test_an_unknown_key_is_placed_and_its_near_miss_named(folder: Path) -> None:
    text = "saga: trip.yaml\ninput_file: trip.input.json\ncases:\n  - name: a\n    expct: {}\n"
    assert diagnostics(folder, text) == [
        "trip.test.yaml:5:5: error: unknown key 'expct' (did you mean 'expect'?) in `cases[0]`"
    ]


def test_an_unknown_step_in_fail_is_placed_and_its_near_miss_named(folder: Path) -> None:
    text = (
        "saga: trip.yaml\ninput_file: trip.input.json\ncases:\n"
        "  - name: a\n    fail: {reserve_cars: 409}\n"
    )
    assert diagnostics(folder, text) == [
        "trip.test.yaml:5:12: error: unknown step 'reserve_cars' (did you mean 'reserve_car'?)"
    ]


def test_a_bad_fault_and_a_bad_pattern_are_both_reported(folder: Path) -> None:
    text = (
        "saga: trip.yaml\ninput_file: trip.input.json\n"
        "services: {cars: {'/rentals': {status: 201}}}\n"
        "cases:\n  - name: a\n    fail: {reserve_car.compensation: cancel}\n"
    )
    found = diagnostics(folder, text)
    assert len(found) == 2
    assert found[0].startswith("trip.test.yaml:3:19: error: invalid pattern '/rentals'")
    assert found[1].startswith("trip.test.yaml:6:12: error: 'cancel' applies to a step's action")


def test_an_input_that_does_not_fit_the_saga_is_reported(folder: Path) -> None:
    text = "saga: trip.yaml\ninput: {trip_id: t-1}\ncases:\n  - name: a\n"
    found = diagnostics(folder, text)
    assert found and all(line.startswith("trip.test.yaml:2:") for line in found)
    assert "traveller" in " ".join(found)


def test_a_missing_saga_is_reported_at_its_key(folder: Path) -> None:
    text = "saga: nowhere.yaml\ncases:\n  - name: a\n"
    found = diagnostics(folder, text)
    assert found == [
        "trip.test.yaml:1:1: error: no such saga file 'nowhere.yaml' (relative to this file)"
    ]
