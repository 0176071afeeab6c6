"""Rendering a step's request into the activity's argument, inside the workflow.

It also says how Temporal retries the call (`retry_policy`). Everything a template may
read is known in the workflow except `response`, so the
workflow renders the url, query, headers, body and idempotency key here, and ships the
`success` and `output` templates uncompiled with just the variables they read. Secrets
stay names: only the activity resolves them.

`semantics` is the run's semantics version (see `SagaWorkflow`): it picks the built-in
defaults and whether expressions are evaluated with maps in sorted order (2 and later)
or as runs recorded before that evaluated them (1). None means the newest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Literal

from temporalio.common import RetryPolicy

from dsl import (
    BasicAuth,
    BearerAuth,
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
from interpreter.contract import HttpCall

__all__ = ["Kind", "build_call", "default_idempotency_key", "request_of", "retry_policy"]

Kind = Literal["action", "compensation", "notify"]


def request_of(step: Step, kind: Kind) -> Request | None:
    """The step's action, its compensation, or its wait's notify (None when it has none)."""
    if kind == "action":
        return step.action
    if kind == "notify":
        return step.wait.notify if step.wait is not None else None
    return step.compensation if isinstance(step.compensation, Request) else None


def default_idempotency_key(saga_id: str, step: str, kind: Kind) -> str:
    return f"{saga_id}/{step}/{kind}"


def build_call(
    saga: Saga, step: Step, kind: Kind, context: Mapping[str, Any], *, semantics: int | None = None
) -> tuple[HttpCall, EffectiveRequest]:
    """The rendered call and its effective settings (those of the run's semantics version,
    see `dsl.effective_request`); raises ExpressionError."""
    request = request_of(step, kind)
    assert request is not None, f"step {step.name!r} has no {kind}"
    # A notify is a forward request: it has an action's defaults.
    settings_kind: Literal["action", "compensation"] = (
        "compensation" if kind == "compensation" else "action"
    )
    effective = effective_request(saga, request, settings_kind, semantics=semantics)
    ordered = semantics is None or semantics >= 2
    call = HttpCall(
        saga_id=context["saga"]["id"],
        step=step.name,
        kind=kind,
        method=request.method,
        service=request.service,
        base_url=_base_url(saga, request, context, ordered),
        path=_text(compile_template(request.path or "").render(context, ordered=ordered)),
        query=_strings(request.query or {}, context, ordered),
        expect=list(effective.expect),
        retry_on_status=list(effective.retry.on_status),
        timeout_seconds=effective.timeout.total_seconds(),
    )
    _add_headers(call, saga, request, context, ordered)
    _add_body(call, request, context, ordered)
    _add_response_templates(call, request, step if kind == "action" else None, context)
    call.idempotency_key = _idempotency_key(request, call, context, ordered)
    return call, effective


def _base_url(saga: Saga, request: Request, context: Mapping[str, Any], ordered: bool) -> str:
    if request.service is not None:
        services = saga.services or {}
        return services[request.service].url
    return _text(compile_template(request.url).render(context, ordered=ordered))


def _add_headers(
    call: HttpCall, saga: Saga, request: Request, context: Mapping[str, Any], ordered: bool
) -> None:
    service = (saga.services or {}).get(request.service or "")
    layers = [service.headers if service else None, request.headers]
    for layer in layers:
        for name, value in (layer or {}).items():
            _drop_header(call, name)
            if isinstance(value, Secret):
                call.secret_headers[name] = value.secret
            else:
                call.headers[name] = _text(compile_template(value).render(context, ordered=ordered))
    if isinstance(request.auth, BearerAuth):
        call.auth = {"bearer": request.auth.bearer.secret}
    elif isinstance(request.auth, BasicAuth):
        username = compile_template(request.auth.basic.username).render(context, ordered=ordered)
        password = request.auth.basic.password.secret
        call.auth = {"basic": {"username": _text(username), "password": password}}


def _drop_header(call: HttpCall, name: str) -> None:
    """A request's header replaces the service's header of the same name, in any case."""
    for headers in (call.headers, call.secret_headers):
        for existing in [key for key in headers if key.lower() == name.lower()]:
            del headers[existing]


def _add_body(call: HttpCall, request: Request, context: Mapping[str, Any], ordered: bool) -> None:
    if request.json_body is not None:
        call.json_body = compile_template(request.json_body).render(context, ordered=ordered)
        call.has_json = True
    elif request.body is not None:
        call.body = _text(compile_template(request.body).render(context, ordered=ordered))
        call.content_type = request.content_type or "text/plain; charset=utf-8"


def _add_response_templates(
    call: HttpCall, request: Request, step: Step | None, context: Mapping[str, Any]
) -> None:
    templates: list[Template] = []
    if request.success is not None and request.success is not True:
        templates.append(compile_condition(request.success))
        call.success = request.success
    if step is not None and step.output is not None:
        templates.append(compile_template(step.output))
        call.output = step.output
        call.has_output = True
    call.context = _variables_read(templates, context)


def _variables_read(templates: Iterable[Template], context: Mapping[str, Any]) -> dict[str, Any]:
    """Only the variables the templates read travel to the activity (and the history)."""
    roots: set[str] = set()
    steps: set[str] = set()
    dynamic = False
    for template in templates:
        for expression in template.expressions():
            roots |= expression.refs.roots
            steps |= expression.refs.steps
            dynamic |= expression.refs.dynamic_steps
    variables = {name: context[name] for name in sorted(roots) if name in context}
    if "steps" in variables:
        # Looked up by name, not by walking every step: this runs for each request.
        every = variables["steps"]
        variables["steps"] = (
            dict(every) if dynamic else {n: every[n] for n in sorted(steps) if n in every}
        )
    return variables


def _idempotency_key(
    request: Request, call: HttpCall, context: Mapping[str, Any], ordered: bool
) -> str | None:
    if request.idempotency_key is False:
        return None
    if request.idempotency_key is None:
        return default_idempotency_key(call.saga_id, call.step, call.kind)  # type: ignore[arg-type]
    return _text(compile_template(request.idempotency_key).render(context, ordered=ordered))


def _strings(
    values: Mapping[str, str], context: Mapping[str, Any], ordered: bool
) -> dict[str, str]:
    return {
        key: _text(compile_template(value).render(context, ordered=ordered))
        for key, value in values.items()
    }


def _text(value: Any) -> str:
    """Header, query and url values are text; other JSON values are sent as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


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
