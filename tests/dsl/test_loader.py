"""The loader: YAML 1.2 and JSON into plain data with positions, and hostile files
rejected quickly with a diagnostic, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dsl._loader import Limits, LoadError, load_file, load_text


def _error(text: str | bytes, limits: Limits | None = None, path: str = "f.yaml") -> str:
    with pytest.raises(LoadError) as caught:
        load_text(text, path, limits or Limits())
    return str(caught.value.diagnostic)


# --- data and positions ---------------------------------------------------------------


def test_positions_of_keys_and_values_are_one_based() -> None:
    document = load_text("a: 1\nb:\n  - x\n  - {c: d}\n")
    assert document.keys[("a",)] == (1, 1)
    assert document.values[("a",)] == (1, 4)
    assert document.values[("b", 1)] == (4, 5)
    assert document.keys[("b", 1, "c")] == (4, 6)
    assert document.values[("b", 1, "c")] == (4, 9)


def test_columns_count_characters_not_bytes() -> None:
    document = load_text('a: "été"\nb: x\n')
    assert document.values[("b",)] == (2, 4)
    assert load_text("é: 1\nb: [1, 2]\n").values[("b", 1)] == (2, 8)


def test_unknown_path_falls_back_to_nearest_located_ancestor() -> None:
    document = load_text("a: &x {b: 1}\nc: *x\n")
    assert document.value_position(("c", "b")) == (2, 4)
    assert document.key_position(("c", "b")) == (2, 1)


def test_scalars_follow_the_yaml_1_2_core_schema() -> None:
    text = "a: yes\nb: on\nc: 0o17\nd: 017\ne: 0x1f\nf: ~\ng: 1.5e3\nh: true\ni: '1'\n"
    assert load_text(text).data == {
        "a": "yes",
        "b": "on",
        "c": 15,
        "d": 17,
        "e": 31,
        "f": None,
        "g": 1500.0,
        "h": True,
        "i": "1",
    }


def test_keys_are_kept_as_written() -> None:
    assert load_text("200: ok\ntrue: x\n").data == {"200": "ok", "true": "x"}


def test_json_with_tabs_and_no_space_after_colon_loads() -> None:
    assert load_text('{\n\t"a":1,\n\t"b": [true, null]\n}\n', "f.json").data == {
        "a": 1,
        "b": [True, None],
    }


def test_core_tags_are_honoured() -> None:
    assert load_text("a: !!str 12\nb: !!float 1\n").data == {"a": "12", "b": 1.0}


def test_merge_keys_merge_without_overriding_explicit_keys() -> None:
    data = load_text("base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n").data
    assert data["thing"] == {"y": 3, "x": 1}


def test_byte_order_mark_is_ignored() -> None:
    assert load_text("\ufeffa: 1\n".encode()).data == {"a": 1}


def test_input_documents_may_be_any_json_value(tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text("[1, 2]")
    assert load_file(path, root="any").data == [1, 2]


# --- errors at their position ---------------------------------------------------------


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    assert _error("a: 1\nb:\n  c: 1\n  c: 2\n") == (
        "f.yaml:4:3: error: duplicate key 'c' (first defined on line 3)"
    )


def test_syntax_error_is_reported_at_its_position() -> None:
    assert _error("a: b: c\n").startswith("f.yaml:1:5: error: yaml syntax error: ")


def test_json_syntax_error_says_json() -> None:
    assert "json syntax error" in _error('{"a": 1', path="f.json")


def test_empty_file_is_an_error() -> None:
    assert _error("") == (
        "f.yaml:1:1: error: the file is empty: a saga needs `version`, `name` and `steps`"
    )


def test_root_must_be_a_mapping() -> None:
    assert (
        _error("- a\n") == "f.yaml:1:1: error: the top level must be a mapping of keys, not a list"
    )
    assert _error("just text\n").endswith("not the string 'just text'")


def test_invalid_utf8_is_reported_at_the_bad_byte() -> None:
    assert _error(b"a: 1\nb: caf\xe9\n") == (
        "f.yaml:2:7: error: the file is not valid utf-8: unexpected byte 0xe9"
    )


def test_control_characters_are_refused_with_position() -> None:
    assert _error("a: 1\nb: \x07\n") == (
        "f.yaml:2:4: error: yaml syntax error: character 0x0007 is not allowed"
    )


def test_non_finite_numbers_are_not_json() -> None:
    assert "'.nan' is not a JSON number" in _error("a: .nan\n")


def test_huge_integer_literal_is_refused() -> None:
    assert "the number is too long" in _error("a: " + "9" * 5000 + "\n")


def test_complex_keys_are_refused() -> None:
    assert "a mapping key must be a string" in _error("? [a, b]\n: c\n")


def test_unreadable_file_is_a_diagnostic(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as caught:
        load_file(tmp_path)
    assert "cannot read file" in str(caught.value)


# --- hostile files --------------------------------------------------------------------


def _billion_laughs(levels: int = 12) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly() -> None:
    started = time.monotonic()
    message = _error(_billion_laughs())
    assert "more than 500000 values once its aliases are expanded" in message
    assert time.monotonic() - started < 5


def test_moderate_aliases_are_fine() -> None:
    assert load_text(_billion_laughs(3)).data["a2"][9][9][9] == "lol"


def test_deep_nesting_is_refused_at_the_limit() -> None:
    message = _error("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert message == "f.yaml:1:67: error: the document is nested more than 64 levels deep"


def test_deep_block_nesting_is_refused() -> None:
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(200))
    assert "nested more than 64 levels" in _error(text)


def test_file_over_the_size_limit_is_refused_without_parsing() -> None:
    big = b"a: " + b"x" * (17 * 1024 * 1024) + b"\n"
    started = time.monotonic()
    assert _error(big) == "f.yaml:1:1: error: the file is too large (17.0 MiB; the limit is 16 MiB)"
    assert time.monotonic() - started < 5


def test_multi_megabyte_file_within_the_limit_loads_in_seconds() -> None:
    text = "a:\n" + "".join(f"  - {{k: value-{i}, n: {i}}}\n" for i in range(100_000))
    assert len(text) > 2_000_000
    started = time.monotonic()
    assert len(load_text(text).data["a"]) == 100_000
    assert time.monotonic() - started < 20


def test_too_many_values_are_refused_even_without_aliases() -> None:
    assert "more than 100 values" in _error("a: [" + "1, " * 200 + "1]", Limits(max_nodes=100))


def test_multi_megabyte_garbage_ends_in_a_diagnostic() -> None:
    garbage = bytes(range(256)) * 20_000
    assert "error" in _error(garbage)


def test_recursive_alias_is_refused() -> None:
    assert "unknown alias '*a'" in _error("a: &a [*a]\n")


def test_pure_python_parser_gives_the_same_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    folder = Path(__file__).parent.parent / "examples" / "valid"
    with_c = {p: load_file(p) for p in sorted(folder.iterdir())}
    real = importlib.import_module

    def without_c(name: str) -> object:
        if name == "_ruamel_yaml":
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(importlib, "import_module", without_c)
    for path, expected in with_c.items():
        pure = load_file(path)
        assert (pure.data, pure.keys, pure.values) == (
            expected.data,
            expected.keys,
            expected.values,
        )


def test_a_lone_surrogate_in_text_is_refused() -> None:
    assert _error("a: \ud800\n").startswith("f.yaml:1:4: error: the file is not valid utf-8")
