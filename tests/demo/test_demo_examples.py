"""The example sagas: valid models, compiling templates, valid inputs, demo ports."""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from ruamel.yaml import YAML

from dsl._expressions import compile_condition, compile_template
from dsl._model import Request, Saga
from interpreter.dev.demo import DEMO_PORTS

SAGAS = Path(__file__).resolve().parents[2] / "sagas"
INPUTS = {
    "trip-booking": "trip",
    "order-fulfilment": "order",
    "money-transfer": "transfer",
    "expense-approval": "expense",
}


def _load(name: str) -> Saga:
    return Saga.model_validate(YAML(typ="safe").load((SAGAS / f"{name}.yaml").read_text()))


def _requests(saga: Saga) -> list[Request]:
    found = [step.action for step in saga.steps if step.action is not None]
    found += [s.wait.notify for s in saga.steps if s.wait is not None and s.wait.notify]
    return found + [s.compensation for s in saga.steps if isinstance(s.compensation, Request)]


def _templates(saga: Saga) -> list[Any]:
    fields = ("path", "url", "query", "json_body", "body", "idempotency_key")
    values = [getattr(request, key) for request in _requests(saga) for key in fields]
    return [saga.output, *(step.output for step in saga.steps), *values]


def test_every_example_has_an_input() -> None:
    sagas = [path for path in SAGAS.glob("*.yaml") if ".test." not in path.name]
    assert sorted(path.stem for path in sagas) == sorted(INPUTS)
    for name in INPUTS:
        assert (SAGAS / f"{name}.input.json").is_file()


@pytest.mark.parametrize("name", INPUTS)
def test_an_example_starts_with_its_schema_comment(name: str) -> None:
    first = (SAGAS / f"{name}.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/saga.schema.json"


@pytest.mark.parametrize("name", INPUTS)
def test_an_example_is_named_after_its_file(name: str) -> None:
    assert _load(name).name == name


@pytest.mark.parametrize("name", INPUTS)
def test_every_template_of_an_example_compiles(name: str) -> None:
    saga = _load(name)
    for value in _templates(saga):
        if value not in (None, False):
            compile_template(value)
    conditions = [step.when for step in saga.steps] + [r.success for r in _requests(saga)]
    for condition in conditions:
        if condition is not None:
            compile_condition(condition)


@pytest.mark.parametrize("name", INPUTS)
def test_the_input_of_an_example_is_valid(name: str) -> None:
    schema = _load(name).input
    assert schema is not None
    document = json.loads((SAGAS / f"{name}.input.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    assert [error.message for error in validator.iter_errors(document)] == []


@pytest.mark.parametrize("name", INPUTS)
def test_an_example_calls_the_demo_services_on_their_ports(name: str) -> None:
    saga = _load(name)
    services = {key: urlsplit(service.url).port for key, service in (saga.services or {}).items()}
    assert services and services == {key: DEMO_PORTS[key] for key in services}
    urls = [urlsplit(request.url).port for request in _requests(saga) if request.url]
    assert set(urls) <= set(DEMO_PORTS.values())
