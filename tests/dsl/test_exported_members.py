"""The public API of the dsl modules is pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "dsl._validate": [
        "ValidationResult",
        "canonical_json",
        "check_document",
        "check_text",
        "data_problems",
        "definition_snapshot",
        "input_problems",
        "load_and_check",
        "load_input",
        "load_input_text",
        "validate_input",
    ],
    "dsl._loader": [
        "Document",
        "JsonPath",
        "Limits",
        "LoadError",
        "Position",
        "load_file",
        "load_text",
    ],
    "dsl._composer": ["ComposeError", "Composed", "compose"],
    "dsl._diagnostics": ["Diagnostic", "DslError", "InvalidSaga", "Severity"],
    "dsl._model": [
        "Auth",
        "BasicAuth",
        "BasicCredentials",
        "BearerAuth",
        "CompensationDefaults",
        "Defaults",
        "Duration",
        "EffectiveRequest",
        "EffectiveRetry",
        "Request",
        "Retry",
        "Saga",
        "Secret",
        "Service",
        "Step",
        "Wait",
        "effective_request",
        "format_duration",
        "parse_duration",
        "status_matches",
    ],
    "dsl._expressions": [
        "Expression",
        "ExpressionError",
        "References",
        "Template",
        "compile_condition",
        "compile_template",
        "evaluate_condition",
        "load_runtime",
        "references",
        "render",
    ],
    "dsl._schema": [
        "SCHEMA_FILE",
        "SCHEMA_ID",
        "default_schema_path",
        "generate_schema",
        "schema_text",
        "stale_schema_message",
    ],
    "dsl._checks": ["check_saga", "input_validator"],
    "dsl._dag": ["StepGraph"],
    "dsl._templates": [
        "TemplateUse",
        "check_input_reads",
        "check_template_reads",
        "find_templates",
    ],
    "dsl._schema_errors": [
        "describe_value",
        "field_name",
        "jsonschema_diagnostics",
        "near_miss",
        "pydantic_diagnostics",
    ],
    "dsl._graph": ["render_dot", "render_graph", "render_mermaid"],
    "interpreter.cli._reporters": [
        "FileReport",
        "REPORTERS",
        "report_github",
        "report_json",
        "report_text",
    ],
    "interpreter.cli._validate": ["COMMANDS", "expand_paths"],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_api_is_pinned(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == PUBLIC[module_name]


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_exported_name_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_every_dsl_error_shares_one_root() -> None:
    from dsl._diagnostics import DslError, InvalidSaga
    from dsl._expressions import ExpressionError
    from dsl._loader import LoadError

    assert all(issubclass(error, DslError) for error in (InvalidSaga, ExpressionError, LoadError))
