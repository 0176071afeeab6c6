"""The shapes of the gateway's answers, for the OpenAPI document (routes build plain JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from interpreter.contract import SagaReport

__all__ = [
    "CatalogueEntryOut",
    "DiagnosticOut",
    "Me",
    "ProblemOut",
    "ResumeIn",
    "RunGraphOut",
    "RunLinks",
    "RunOut",
    "RunResultOut",
    "RunStillRunning",
    "RunSummaryOut",
    "SagaDetailOut",
    "StartIn",
    "StatusOut",
]


class DiagnosticOut(BaseModel):
    file: str
    line: int
    column: int
    severity: str
    message: str


class CatalogueEntryOut(BaseModel):
    name: str
    description: str | None
    file: str
    valid: bool
    diagnostics: list[DiagnosticOut]
    input_schema: Any = Field(description="the saga's `input` JSON Schema, or null")


class SagaDetailOut(CatalogueEntryOut):
    definition: Any = Field(description="the file's content, as JSON")
    graph: str | None = Field(description="the step graph as Mermaid (null when invalid)")


class RunLinks(BaseModel):
    self: str
    result: str
    events: str
    cancel: str


class RunOut(BaseModel):
    id: str
    saga: str
    status: str
    links: RunLinks


class RunSummaryOut(BaseModel):
    id: str
    saga: str
    status: str
    started_at: str | None
    closed_at: str | None


class RunResultOut(BaseModel):
    status: str
    output: Any = None
    report: SagaReport | None


class RunStillRunning(BaseModel):
    status: str


class GraphStepOut(BaseModel):
    name: str
    after: list[str] = Field(description="the steps this one waits for")
    layer: int = Field(description="the longest chain of dependencies before this step")
    compensation: bool = Field(description="true when the step has a compensation")
    pivot: bool
    when: bool = Field(description="true when the step has a `when` condition")


class RunGraphOut(BaseModel):
    saga_id: str
    saga: str
    steps: list[GraphStepOut]


class StatusOut(BaseModel):
    status: str
    detail: str | None = None


class Me(BaseModel):
    name: str
    scope: str


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    saga: str = Field(description="the saga's name in the catalogue")
    input: Any = Field(default=None, description="the run's input")
    id: str | None = Field(default=None, description="the run's id (its idempotency key)")


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retry: bool = False
    skip: str | list[str] | None = None


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None
