"""A saga compiled once: its parsed definition and, per request, what never changes.

Every run of a definition needs the same parsed `Saga`, the same effective settings of
each request (built-in defaults, the saga's `defaults`, the request's own keys), the
same compiled templates and the same variables its `success` and `output` read. They
are built on first use and kept: per run in the `CompiledSaga`, and across runs of the
same definition in a small cache, so a worker parses a definition once, not once per
run. Everything here is a pure function of the definition and the semantics version,
so sharing it between runs cannot change a decision.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, TypeVar

from temporalio.common import RetryPolicy

from dsl import (
    BasicAuth,
    EffectiveRequest,
    EffectiveRetry,
    Request,
    Saga,
    Secret,
    Step,
    Template,
    compile_condition,
    compile_template,
    effective_request,
)

__all__ = [
    "CompiledRequest",
    "CompiledSaga",
    "Kind",
    "compiled_saga",
    "request_of",
    "retry_policy",
]

Kind = Literal["action", "compensation", "notify"]

CACHED_DEFINITIONS = 64
"""Definitions a worker keeps compiled; the least recently used is dropped first."""


def request_of(step: Step, kind: Kind) -> Request | None:
    """The step's action, its compensation, or its wait's notify (None when it has none)."""
    if kind == "action":
        return step.action
    if kind == "notify":
        return step.wait.notify if step.wait is not None else None
    return step.compensation if isinstance(step.compensation, Request) else None


@dataclass(frozen=True)
class Header:
    """One header of a request, in the order the request applies them."""

    name: str
    secret: str | None
    """The secret's name when the value is a secret (resolved by the worker)."""
    value: Template | None


@dataclass(frozen=True)
class CompiledRequest:
    """One request of one step, ready to render: only the templates remain to evaluate."""

    step: str
    kind: Kind
    request: Request
    effective: EffectiveRequest
    base_url: str | None
    """The service's url; None when the url is a template (`url`)."""
    url: Template | None
    path: Template
    query: tuple[tuple[str, Template], ...]
    headers: tuple[Header, ...]
    username: Template | None
    """Basic auth's username."""
    json_body: Template | None
    body: Template | None
    idempotency_key: Template | None
    success: Any
    output: Any
    has_output: bool
    roots: tuple[str, ...]
    """The variables `success` and `output` read besides `response`, sorted."""
    steps: tuple[str, ...]
    """The steps they name, sorted."""
    dynamic: bool
    """True when they read steps by a computed name: every step travels."""


@dataclass
class CompiledSaga:
    """A definition parsed, with its requests compiled on first use (see the module)."""

    saga: Saga
    _requests: dict[tuple[str, str, int | None], CompiledRequest] = field(default_factory=dict)

    def request(self, step: Step, kind: Kind, semantics: int | None) -> CompiledRequest:
        """Raises ExpressionError when a template does not compile (nothing is kept)."""
        key = (step.name, kind, semantics)
        compiled = self._requests.get(key)
        if compiled is None:
            compiled = self._requests[key] = _compile(self.saga, step, kind, semantics)
        return compiled


_LOCK = threading.Lock()
_D = TypeVar("_D", bound=dict[str, Any] | str)
_CACHE: OrderedDict[str, tuple[dict[str, Any] | str, CompiledSaga]] = OrderedDict()


def compiled_saga(definition: _D, digest: str, parse: Callable[[_D], Saga]) -> CompiledSaga:
    """The compiled saga of `definition` (JSON data, or its compact form);
    `parse(definition)` gives its `Saga` (and raises when it is not one). Kept across
    runs by `digest` (the definition's hash as the client sent it, or the compact form
    itself): a cached entry is used only for a definition equal to the one it was built
    from, so a wrong digest costs a parse, never a wrong saga."""
    if not digest:
        return CompiledSaga(parse(definition))
    with _LOCK:  # the worker runs the activations of different runs in several threads
        hit = _CACHE.get(digest)
        if hit is not None and hit[0] == definition:
            _CACHE.move_to_end(digest)
            return hit[1]
    compiled = CompiledSaga(parse(definition))
    with _LOCK:
        _CACHE[digest] = (definition, compiled)
        while len(_CACHE) > CACHED_DEFINITIONS:
            _CACHE.popitem(last=False)
    return compiled


def _compile(saga: Saga, step: Step, kind: Kind, semantics: int | None) -> CompiledRequest:
    request = request_of(step, kind)
    assert request is not None, f"step {step.name!r} has no {kind}"
    # A notify is a forward request: it has an action's defaults.
    settings_kind: Literal["action", "compensation"] = (
        "compensation" if kind == "compensation" else "action"
    )
    effective = effective_request(saga, request, settings_kind, semantics=semantics)
    service = (saga.services or {}).get(request.service or "") if request.service else None
    templates, success, output, has_output = _response_templates(request, step, kind)
    roots, steps, dynamic = _references(templates)
    return CompiledRequest(
        step=step.name,
        kind=kind,
        request=request,
        effective=effective,
        base_url=service.url if service is not None else None,
        url=compile_template(request.url) if service is None else None,
        path=compile_template(request.path or ""),
        query=tuple((k, compile_template(v)) for k, v in (request.query or {}).items()),
        headers=_headers(saga, request),
        username=(
            compile_template(request.auth.basic.username)
            if isinstance(request.auth, BasicAuth)
            else None
        ),
        json_body=compile_template(request.json_body) if request.json_body is not None else None,
        body=compile_template(request.body) if request.body is not None else None,
        idempotency_key=(
            compile_template(request.idempotency_key)
            if request.idempotency_key not in (None, False)
            else None
        ),
        success=success,
        output=output,
        has_output=has_output,
        roots=roots,
        steps=steps,
        dynamic=dynamic,
    )


def _headers(saga: Saga, request: Request) -> tuple[Header, ...]:
    service = (saga.services or {}).get(request.service or "")
    layers = [service.headers if service else None, request.headers]
    headers: list[Header] = []
    for layer in layers:
        for name, value in (layer or {}).items():
            if isinstance(value, Secret):
                headers.append(Header(name, value.secret, None))
            else:
                headers.append(Header(name, None, compile_template(value)))
    return tuple(headers)


def _response_templates(
    request: Request, step: Step, kind: Kind
) -> tuple[list[Template], Any, Any, bool]:
    templates: list[Template] = []
    success: Any = None
    output: Any = None
    if request.success is not None and request.success is not True:
        templates.append(compile_condition(request.success))
        success = request.success
    if kind == "action" and step.output is not None:
        templates.append(compile_template(step.output))
        output = step.output
    return templates, success, output, output is not None


def _references(templates: list[Template]) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    roots: set[str] = set()
    steps: set[str] = set()
    dynamic = False
    for template in templates:
        for expression in template.expressions():
            roots |= expression.refs.roots
            steps |= expression.refs.steps
            dynamic |= expression.refs.dynamic_steps
    return tuple(sorted(roots)), tuple(sorted(steps)), dynamic


def retry_policy(retry: EffectiveRetry, *, forever: bool = False) -> RetryPolicy:
    """Temporal's retry policy for a request's effective retry settings.

    Which statuses are retried is decided in the activity (it raises non-retryable
    errors for the others), so the policy carries only the counting and the waits.
    """
    initial = max(retry.initial_interval, timedelta(milliseconds=1))
    return RetryPolicy(
        initial_interval=initial,
        backoff_coefficient=retry.backoff,
        maximum_interval=max(retry.max_interval, initial),
        # Past the pivot a step may only go forward, so it retries until it succeeds.
        maximum_attempts=0 if forever else retry.max_attempts,
    )
