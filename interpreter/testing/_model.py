"""The `*.test.yaml` format, as pydantic models: the single source of its JSON Schema.

```yaml
saga: trip-booking.yaml                 # the saga, relative to this file
input: {trip_id: t-1}                   # or input_file: trip-booking.input.json
services:                               # answers of the simulated services
  cars: {"POST /rentals": {status: 201, json: {id: C1}}}
signals: {approval: {approved: true}}   # data for wait steps, delivered as a run starts
rejections: {approval: {approved: false}}   # data that makes a wait's `success` false
cases:
  - name: the car is refused, the rest is undone
    fail: {reserve_car: 409}            # a status, timeout, uncertain or cancel
    expect: {status: COMPENSATED, compensated: [reserve_hotel, reserve_flight]}
  - name: the approval is refused
    fail: {approval: rejected}          # a wait step: timeout, rejected or cancel
```
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dsl import json_schema_of, parse_duration, stale_file_message

__all__ = [
    "SCHEMA_FILE",
    "Expect",
    "FaultSpec",
    "ServiceAnswer",
    "TestCase",
    "TestFile",
    "default_test_schema_path",
    "stale_test_schema_message",
    "saga_test_schema",
    "saga_test_schema_text",
]

SCHEMA_FILE = Path("schemas") / "saga-test.schema.json"
SCHEMA_ID = "https://saga-dsl.dev/schemas/saga-test.schema.json"

FaultKind = Literal["timeout", "uncertain", "cancel", "rejected"]
FaultStatus = Annotated[int, Field(ge=400, le=599)]
EndStatus = Literal["COMPLETED", "COMPENSATED", "COMPENSATION_FAILED", "PARKED", "INCOMPLETE"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ServiceAnswer(_Model):
    """How a simulated service answers requests matching one `METHOD /path` pattern."""

    status: int | None = Field(
        default=None,
        ge=100,
        le=599,
        description="The status; default: the first success status the request expects.",
    )
    json_body: Any = Field(
        default=None,
        alias="json",
        description="The JSON body; default: the request's JSON object (POST: with an `id`).",
    )
    headers: dict[str, str] | None = Field(default=None, description="Response headers.")
    delay: str | None = Field(
        default=None,
        description="Wait before answering, e.g. '100ms'; at or past the request's timeout "
        "the request times out (without waiting).",
    )

    @field_validator("delay")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class FaultSpec(_Model):
    """A fault that strikes only the first `times` attempts."""

    fault: FaultStatus | FaultKind = Field(description="A status (400-599), or a kind of fault.")
    times: int = Field(ge=1, description="How many attempts fail; later ones are answered.")


Fault = FaultStatus | FaultKind | FaultSpec


class Expect(_Model):
    """What the run must end with; every key is optional."""

    status: EndStatus | None = Field(default=None, description="The saga's end status.")
    reason: Literal["failure", "cancel", "timeout"] | None = Field(
        default=None, description="Why the saga did not complete."
    )
    failed_step: str | None = Field(default=None, description="The step that failed.")
    compensated: list[str] | None = Field(
        default=None, description="Exactly the steps that ended COMPENSATED, in any order."
    )
    compensation_failed: list[str] | None = Field(
        default=None, description="Exactly the steps whose compensation failed, in any order."
    )
    left_in_place: list[str] | None = Field(
        default=None,
        description="Exactly the steps whose applied effect nothing undid, in any order.",
    )
    output: Any = Field(default=None, description="The saga's output (COMPLETED runs).")


class TestCase(_Model):
    """One run of the saga with the faults of `fail`."""

    __test__ = False  # not a pytest test class

    name: str = Field(min_length=1, description="The case's name, shown in the report.")
    fail: dict[str, Fault] | None = Field(
        default=None,
        description="Faults by step: `STEP` (its action) or `STEP.compensation`: a status "
        "(400-599), 'timeout', 'uncertain', 'cancel', or {fault: ..., times: N}. A wait "
        "step: 'timeout' (nobody answers), 'rejected' (its `rejections` data is delivered) "
        "or 'cancel' (the saga is cancelled while it waits); `STEP.notify`: a fault of its "
        "notify request.",
    )
    signals: dict[str, Any] | None = Field(
        default=None,
        description="Data for wait steps, by step, for this case: replaces the file's "
        "`signals` for the steps named.",
    )
    expect: Expect | None = Field(default=None, description="What the run must end with.")
    invariants: bool = Field(
        default=True, description="Also check the four invariants (default true)."
    )


class TestFile(_Model):
    """A `*.test.yaml` file: one saga, one input, the services' answers and the cases."""

    __test__ = False

    schema_ref: str | None = Field(default=None, alias="$schema", description="Editor hint.")
    saga: str = Field(min_length=1, description="The saga file, relative to this file.")
    input: Any = Field(default=None, description="The run's input.")
    input_file: str | None = Field(
        default=None, description="A file holding the input, relative to this file."
    )
    services: dict[str, dict[str, ServiceAnswer]] | None = Field(
        default=None,
        description="Per service (a name from the saga, or a url's origin for absolute "
        "urls): answers by `METHOD /path` pattern; `{name}` matches one path segment.",
    )
    signals: dict[str, Any] | None = Field(
        default=None,
        description="Data for wait steps, by step: delivered to every run as it starts "
        "(the run keeps it until the step waits). `saga test --matrix` reads it too.",
    )
    rejections: dict[str, Any] | None = Field(
        default=None,
        description="Data for wait steps, by step, that makes the step's `success` false: "
        "delivered in the cases that fail the step with 'rejected'.",
    )
    cases: list[TestCase] = Field(min_length=1, description="The cases to run.")

    @model_validator(mode="after")
    def _one_input(self) -> TestFile:
        if self.input is not None and self.input_file is not None:
            raise ValueError("give either `input` or `input_file`, not both")
        return self


@cache
def saga_test_schema() -> dict[str, Any]:
    return json_schema_of(
        TestFile,
        schema_id=SCHEMA_ID,
        title="Saga test file",
        description="Failure cases of one saga, run offline by `saga test`.",
    )


def saga_test_schema_text() -> str:
    return json.dumps(saga_test_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def default_test_schema_path() -> Path:
    return Path(__file__).resolve().parent.parent.parent / SCHEMA_FILE


def stale_test_schema_message(path: Path) -> str | None:
    """None when `path` holds the current test-file schema, else why not."""
    return stale_file_message(path, saga_test_schema_text(), "saga test --schema")
