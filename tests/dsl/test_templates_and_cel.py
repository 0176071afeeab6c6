"""`${ }` templates over CEL: typed values, interpolation, escapes, conditions, and a
sandbox with no way out (environment, files, clocks)."""

from __future__ import annotations

from typing import Any

import pytest

from dsl._expressions import (
    ExpressionError,
    compile_condition,
    compile_template,
    evaluate_condition,
    references,
    render,
)

CONTEXT: dict[str, Any] = {
    "input": {"id": "t-1", "count": 3, "items": ["a", "b"], "flag": True, "price": 1.5},
    "saga": {"id": "saga-1", "name": "demo"},
    "steps": {"book": {"output": {"id": 42}, "status": "SUCCEEDED"}},
}


def test_a_string_that_is_one_expression_gives_the_typed_value() -> None:
    assert render("${ input.count }", CONTEXT) == 3
    assert render("${ input.items }", CONTEXT) == ["a", "b"]
    assert render("${ input.flag }", CONTEXT) is True
    assert render("${ {'a': input.count + 1} }", CONTEXT) == {"a": 4}


def test_parts_are_interpolated_into_a_string() -> None:
    assert render("trip ${ input.id } x${ input.count }", CONTEXT) == "trip t-1 x3"


def test_non_strings_are_interpolated_as_compact_json() -> None:
    assert render("items=${ input.items }", CONTEXT) == 'items=["a","b"]'


def test_double_dollar_is_a_literal_dollar_brace() -> None:
    assert render("costs $${ price }", CONTEXT) == "costs ${ price }"
    assert render("$${ input.id } is ${ input.id }", CONTEXT) == "${ input.id } is t-1"


def test_a_lone_dollar_stays() -> None:
    assert render("5$ and $x", CONTEXT) == "5$ and $x"


def test_containers_are_templates_element_by_element() -> None:
    value = {"a": ["${ input.count }", {"b": "id-${ input.id }"}], "c": 7, "d": None}
    assert render(value, CONTEXT) == {"a": [3, {"b": "id-t-1"}], "c": 7, "d": None}


def test_braces_inside_expressions_do_not_end_them() -> None:
    assert render("${ {'k': '}'}.k }", CONTEXT) == "}"
    assert render("${ [1, 2].map(x, x * 2) }", CONTEXT) == [2, 4]


def test_step_outputs_and_status_are_readable() -> None:
    assert render("${ steps.book.output.id }", CONTEXT) == 42
    assert render("${ steps['book'].status }", CONTEXT) == "SUCCEEDED"


def test_unterminated_expression_is_an_error_at_its_start() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_template("ab ${ input.id")
    assert caught.value.offset == 3
    assert "unterminated" in caught.value.message


def test_syntax_error_offset_points_inside_the_string() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_template("x ${ 1 +* 2 }")
    assert caught.value.offset == 8
    assert caught.value.message == "syntax error: unexpected '*'"


def test_unknown_variable_is_named_with_the_known_ones() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_template("${ env.HOME }")
    assert caught.value.message.startswith("unknown variable 'env'")
    assert caught.value.offset == 3


def test_empty_expression_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="empty expression"):
        compile_template("${ }")


def test_conditions_accept_booleans_templates_and_bare_expressions() -> None:
    assert evaluate_condition(compile_condition(True), CONTEXT) is True
    assert evaluate_condition(compile_condition("${ input.count > 2 }"), CONTEXT) is True
    assert evaluate_condition(compile_condition("input.count > 5"), CONTEXT) is False


def test_a_condition_must_be_boolean() -> None:
    with pytest.raises(ExpressionError, match="must be true or false"):
        evaluate_condition(compile_condition("${ input.count }"), CONTEXT)


def test_evaluation_errors_become_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="missing"):
        render("${ input.missing.deeper }", CONTEXT)
    with pytest.raises(ExpressionError):
        render("${ 1 / 0 }", CONTEXT)


def test_no_expression_reaches_the_environment_files_or_clock() -> None:
    for source in ("${ env('HOME') }", "${ read_file('/etc/passwd') }", "${ now() }"):
        with pytest.raises(ExpressionError):
            compile_template(source)


def test_an_expression_sees_only_the_variables_it_names() -> None:
    # `saga` is absent from this context: an expression not reading it still evaluates.
    assert render("${ input.count }", {"input": {"count": 1}}) == 1


def test_references_name_the_steps_read() -> None:
    refs = references("steps.a.output.x + steps['b'].status + input.y")
    assert refs.steps == {"a", "b"}
    assert refs.roots == {"steps", "input"}
    assert not refs.dynamic_steps


def test_references_ignore_names_inside_strings_and_after_dots() -> None:
    refs = references("'steps.a' + input.steps")
    assert refs.steps == frozenset()
    assert refs.roots == {"input"}


def test_dynamic_step_access_is_flagged() -> None:
    assert references("steps[input.which].output").dynamic_steps
    assert references("steps").dynamic_steps
