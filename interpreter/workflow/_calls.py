"""Rendering a step's request into the activity's argument, inside the workflow.

Everything a template may read is known in the workflow except `response`, so the
workflow renders the url, query, headers, body and idempotency key here, and ships the
`success` and `output` templates uncompiled with just the variables they read. Secrets
stay names: only the activity resolves them. What does not depend on the run's data
(settings, compiled templates, the variables read) is compiled once per definition
(`_compiled`); `render_call` only evaluates.

`semantics` is the run's semantics version (see `SagaWorkflow`): it picks the built-in
defaults and whether expressions are evaluated with maps in sorted order (2 and later)
or as runs recorded before that evaluated them (1). None means the newest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dsl import BasicAuth, BearerAuth, EffectiveRequest, Saga, Step
from interpreter.contract import HttpCall
from interpreter.workflow._compiled import (
    CompiledRequest,
    CompiledSaga,
    Kind,
    request_of,
    retry_policy,
)

__all__ = [
    "Kind",
    "build_call",
    "call_argument",
    "default_idempotency_key",
    "render_call",
    "request_of",
    "retry_policy",
]


def default_idempotency_key(saga_id: str, step: str, kind: Kind) -> str:
    return f"{saga_id}/{step}/{kind}"


def build_call(
    saga: Saga, step: Step, kind: Kind, context: Mapping[str, Any], *, semantics: int | None = None
) -> tuple[HttpCall, EffectiveRequest]:
    """The rendered call and its effective settings (those of the run's semantics version,
    see `dsl.effective_request`); raises ExpressionError. Compiles the request for this
    one call: the workflow renders from its `CompiledSaga` instead."""
    compiled = CompiledSaga(saga).request(step, kind, semantics)
    ordered = semantics is None or semantics >= 2
    return render_call(compiled, context, ordered=ordered), compiled.effective


def render_call(
    compiled: CompiledRequest, context: Mapping[str, Any], *, ordered: bool
) -> HttpCall:
    """The call a compiled request makes with these variables; raises ExpressionError."""
    request, effective = compiled.request, compiled.effective
    call = HttpCall(
        saga_id=context["saga"]["id"],
        step=compiled.step,
        kind=compiled.kind,
        method=request.method,
        service=request.service,
        base_url=_base_url(compiled, context, ordered),
        path=_text(compiled.path.render(context, ordered=ordered)),
        query={k: _text(v.render(context, ordered=ordered)) for k, v in compiled.query},
        expect=list(effective.expect),
        retry_on_status=list(effective.retry.on_status),
        timeout_seconds=effective.timeout.total_seconds(),
    )
    _add_headers(call, compiled, context, ordered)
    _add_body(call, compiled, context, ordered)
    call.success, call.output, call.has_output = (
        compiled.success,
        compiled.output,
        compiled.has_output,
    )
    call.context = _variables_read(compiled, context)
    call.idempotency_key = _idempotency_key(compiled, call, context, ordered)
    return call


def call_argument(call: HttpCall) -> dict[str, Any]:
    """The call as the activity's argument, without the fields that hold their default
    (the activity's `HttpCall` fills them in again): a shorter payload in the history.
    A default is left out only for a value of its own type (`0 == False`)."""
    return call.without_defaults()


def _base_url(compiled: CompiledRequest, context: Mapping[str, Any], ordered: bool) -> str:
    if compiled.base_url is not None:
        return compiled.base_url
    assert compiled.url is not None
    return _text(compiled.url.render(context, ordered=ordered))


def _add_headers(
    call: HttpCall, compiled: CompiledRequest, context: Mapping[str, Any], ordered: bool
) -> None:
    for header in compiled.headers:
        _drop_header(call, header.name)
        if header.secret is not None:
            call.secret_headers[header.name] = header.secret
        else:
            assert header.value is not None
            call.headers[header.name] = _text(header.value.render(context, ordered=ordered))
    auth = compiled.request.auth
    if isinstance(auth, BearerAuth):
        call.auth = {"bearer": auth.bearer.secret}
    elif isinstance(auth, BasicAuth):
        assert compiled.username is not None
        username = compiled.username.render(context, ordered=ordered)
        password = auth.basic.password.secret
        call.auth = {"basic": {"username": _text(username), "password": password}}


def _drop_header(call: HttpCall, name: str) -> None:
    """A request's header replaces the service's header of the same name, in any case."""
    for headers in (call.headers, call.secret_headers):
        for existing in [key for key in headers if key.lower() == name.lower()]:
            del headers[existing]


def _add_body(
    call: HttpCall, compiled: CompiledRequest, context: Mapping[str, Any], ordered: bool
) -> None:
    if compiled.json_body is not None:
        call.json_body = compiled.json_body.render(context, ordered=ordered)
        call.has_json = True
    elif compiled.body is not None:
        call.body = _text(compiled.body.render(context, ordered=ordered))
        call.content_type = compiled.request.content_type or "text/plain; charset=utf-8"


def _variables_read(compiled: CompiledRequest, context: Mapping[str, Any]) -> dict[str, Any]:
    """Only the variables the templates read travel to the activity (and the history)."""
    variables = {name: context[name] for name in compiled.roots if name in context}
    if "steps" in variables:
        # Looked up by name, not by walking every step: this runs for each request.
        every = variables["steps"]
        variables["steps"] = (
            dict(every) if compiled.dynamic else {n: every[n] for n in compiled.steps if n in every}
        )
    return variables


def _idempotency_key(
    compiled: CompiledRequest, call: HttpCall, context: Mapping[str, Any], ordered: bool
) -> str | None:
    if compiled.request.idempotency_key is False:
        return None
    if compiled.idempotency_key is None:
        return default_idempotency_key(call.saga_id, call.step, call.kind)  # type: ignore[arg-type]
    return _text(compiled.idempotency_key.render(context, ordered=ordered))


def _text(value: Any) -> str:
    """Header, query and url values are text; other JSON values are sent as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))
