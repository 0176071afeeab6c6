"""The saga language: read a saga file, check it, and describe it. Never imports temporalio.

This package is the whole language and nothing else: no command line, no printing, no
Temporal. Its public API is the names below; the modules behind them are private.

    check = dsl.load_and_check("sagas/trip-booking.yaml")
    for diagnostic in check.diagnostics:    # path:line:col: severity: message
        print(diagnostic)
    saga = check.unwrap()                   # the Saga model, or InvalidSaga is raised
    problems = dsl.validate_input(saga, {"trip_id": "t-1"})

Names are loaded on first use, so `import dsl` is cheap and `saga validate` starts fast.

Exceptions::

    DslError                 root of every error this package raises
    ├── InvalidSaga          a file or an input failed validation; .diagnostics has them all
    ├── LoadError            a file is not one YAML or JSON document
    └── ExpressionError      a template does not parse, or failed while rendering
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsl._dag import StepGraph
    from dsl._diagnostics import Diagnostic, DslError, InvalidSaga, Severity
    from dsl._expressions import (
        ExpressionError,
        Template,
        compile_condition,
        compile_template,
        evaluate_condition,
        load_runtime,
    )
    from dsl._graph import render_graph
    from dsl._loader import Document, LoadError
    from dsl._model import (
        MUTATING_METHODS,
        BasicAuth,
        BearerAuth,
        EffectiveRequest,
        EffectiveRetry,
        Request,
        Saga,
        Secret,
        Step,
        Wait,
        effective_request,
        format_duration,
        parse_duration,
        status_matches,
    )
    from dsl._schema import (
        default_schema_path,
        generate_schema,
        json_schema_of,
        schema_text,
        stale_file_message,
        stale_schema_message,
    )
    from dsl._schema_errors import jsonschema_diagnostics, near_miss, pydantic_diagnostics
    from dsl._validate import (
        ValidationResult,
        canonical_json,
        check_document,
        check_text,
        data_problems,
        definition_snapshot,
        input_problems,
        load_and_check,
        load_input,
        load_input_text,
        validate_input,
    )

__all__ = [
    "MUTATING_METHODS",
    "BasicAuth",
    "BearerAuth",
    "Diagnostic",
    "Document",
    "DslError",
    "EffectiveRequest",
    "EffectiveRetry",
    "ExpressionError",
    "InvalidSaga",
    "LoadError",
    "Request",
    "Saga",
    "Secret",
    "Severity",
    "Step",
    "StepGraph",
    "Wait",
    "Template",
    "ValidationResult",
    "canonical_json",
    "check_document",
    "check_text",
    "compile_condition",
    "compile_template",
    "data_problems",
    "default_schema_path",
    "definition_snapshot",
    "effective_request",
    "evaluate_condition",
    "format_duration",
    "generate_schema",
    "json_schema_of",
    "jsonschema_diagnostics",
    "input_problems",
    "load_and_check",
    "load_input",
    "load_input_text",
    "load_runtime",
    "near_miss",
    "parse_duration",
    "pydantic_diagnostics",
    "render_graph",
    "schema_text",
    "stale_file_message",
    "stale_schema_message",
    "status_matches",
    "validate_input",
]

_HOMES = {
    "_dag": ["StepGraph"],
    "_diagnostics": ["Diagnostic", "DslError", "InvalidSaga", "Severity"],
    "_expressions": [
        "ExpressionError",
        "Template",
        "compile_condition",
        "compile_template",
        "evaluate_condition",
        "load_runtime",
    ],
    "_graph": ["render_graph"],
    "_loader": ["Document", "LoadError"],
    "_model": [
        "MUTATING_METHODS",
        "BasicAuth",
        "BearerAuth",
        "EffectiveRequest",
        "EffectiveRetry",
        "Request",
        "Saga",
        "Secret",
        "Step",
        "Wait",
        "effective_request",
        "format_duration",
        "parse_duration",
        "status_matches",
    ],
    "_schema": [
        "default_schema_path",
        "generate_schema",
        "json_schema_of",
        "schema_text",
        "stale_file_message",
        "stale_schema_message",
    ],
    "_schema_errors": ["jsonschema_diagnostics", "near_miss", "pydantic_diagnostics"],
    "_validate": [
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
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'dsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dsl.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
