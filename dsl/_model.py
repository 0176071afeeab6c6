"""The saga file format as pydantic models: the single source of truth.

Every key a saga file may hold is a field here, with a description that becomes the
JSON Schema's hover text. Models forbid unknown keys. Templates (`${ expr }`) are kept
as the user wrote them; `dsl._expressions` compiles them and `dsl._checks` validates them.

`effective_request()` is the one place where built-in defaults, the saga's `defaults`
and a request's own keys are merged; the runtime uses its result and never re-merges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

__all__ = [
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
]

_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
DURATION_PATTERN = r"^(?=\d)(?:\d+h)?(?:\d+m(?!s))?(?:\d+s)?(?:\d+ms)?$"


MAX_DURATION = timedelta(days=3650)


def parse_duration(value: object) -> timedelta:
    """Parse `250ms`, `10s`, `5m`, `1h`, `1h30m` into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a duration is a string such as '10s' or '1h30m', not {value!r}")
    match = _DURATION_RE.fullmatch(value)
    if not value or match is None:
        raise ValueError(f"invalid duration {value!r}: use a form such as '250ms', '10s', '1h30m'")
    hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
    try:
        duration = timedelta(hours=hours, minutes=minutes, seconds=seconds, milliseconds=millis)
    except OverflowError:
        duration = MAX_DURATION * 2
    if duration > MAX_DURATION:
        raise ValueError(f"duration {value!r} is too long: the most is 10 years")
    return duration


def format_duration(value: timedelta) -> str:
    """The inverse of `parse_duration`: the shortest string that parses back to value."""
    total_ms = round(value.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    parts = []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, total_ms = divmod(total_ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as '250ms', '10s', '5m', '1h' or '1h30m'.",
        }
    ),
]


def parse_timeout(value: object) -> timedelta:
    """A duration that can be waited for: `0s` would expire before anything is sent."""
    duration = parse_duration(value)
    if duration < timedelta(milliseconds=1):
        raise ValueError(f"a timeout must be at least 1ms, not {value!r}")
    return duration


TIMEOUT_PATTERN = r"^(?=\d)(?=.*[1-9])(?:\d+h)?(?:\d+m(?!s))?(?:\d+s)?(?:\d+ms)?$"

Timeout = Annotated[
    timedelta,
    BeforeValidator(parse_timeout),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TIMEOUT_PATTERN,
            "description": "A duration of at least 1ms, such as '250ms', '10s' or '1h30m'.",
        }
    ),
]

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

StatusSpec = Annotated[
    Annotated[int, Field(ge=100, le=599)] | Annotated[str, Field(pattern=r"^[1-5]xx$")],
    Field(description="An HTTP status (e.g. 201) or a class of statuses (e.g. '2xx')."),
]


def status_matches(status: int, specs: list[int | str]) -> bool:
    """True when `status` is one of `specs` (numbers or classes such as '2xx')."""
    for spec in specs:
        if isinstance(spec, int) and spec == status:
            return True
        if isinstance(spec, str) and spec[0] == str(status)[0] and len(str(status)) == 3:
            return True
    return False


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Secret(_Model):
    """A value read by the worker at request time, never written to the history."""

    secret: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="The secret's name: the worker reads SAGA_SECRET_<NAME> "
        "(or the file NAME in its secrets directory).",
    )


HeaderValue = Annotated[
    str | Secret,
    Field(description="A header value: a template string, or {secret: NAME}."),
]


class BearerAuth(_Model):
    """`Authorization: Bearer <secret>`."""

    bearer: Secret = Field(description="The token, always a secret.")


class BasicCredentials(_Model):
    username: str = Field(description="The user name (a template).")
    password: Secret = Field(description="The password, always a secret.")


class BasicAuth(_Model):
    """`Authorization: Basic <username:password>`."""

    basic: BasicCredentials = Field(description="User name and password.")


Auth = BearerAuth | BasicAuth


class Retry(_Model):
    """Retry settings of one request; every key left out comes from the defaults."""

    max_attempts: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,  # Temporal's limit (int32); beyond it every workflow task would fail
        description="Attempts in all, the first included; 0 = unlimited.",
    )
    initial_interval: Duration | None = Field(
        default=None, description="Wait before the first retry."
    )
    backoff: float | None = Field(
        default=None, ge=1.0, description="Each wait is the previous one times this."
    )
    max_interval: Duration | None = Field(default=None, description="The longest wait.")
    on_status: list[StatusSpec] | None = Field(
        default=None,
        description="HTTP statuses that are retried (default: 408, 425, 429 and 5xx). "
        "Connection errors and timeouts are always retried.",
    )


class Request(_Model):
    """One HTTP call: a step's action or its compensation."""

    service: str | None = Field(
        default=None, description="A service declared under `services`; goes with `path`."
    )
    path: str | None = Field(
        default=None, description="Path appended to the service's url (a template)."
    )
    url: str | None = Field(
        default=None, description="An absolute url (a template); instead of service + path."
    )
    method: Method = Field(description="The HTTP method.")
    query: dict[str, str] | None = Field(
        default=None, description="Query parameters; values are templates."
    )
    headers: dict[str, HeaderValue] | None = Field(
        default=None, description="Request headers; values are templates or {secret: NAME}."
    )
    json_body: Any = Field(
        default=None,
        alias="json",
        description="A JSON body built from a template (any JSON value; strings may hold ${ }).",
    )
    body: str | None = Field(default=None, description="A raw string body (a template).")
    content_type: str | None = Field(
        default=None, description="Content-Type of a raw `body` (default text/plain)."
    )
    auth: Auth | None = Field(default=None, description="Bearer or basic authentication.")
    expect: list[StatusSpec] | None = Field(
        default=None, min_length=1, description="Statuses that count as success; default 2xx."
    )
    success: str | bool | None = Field(
        default=None,
        description="A boolean expression over `response`; false is a non-retryable failure.",
    )
    timeout: Timeout | None = Field(default=None, description="Timeout of each attempt.")
    retry: Retry | None = Field(default=None, description="Retry settings of this request.")
    idempotency_key: str | Literal[False] | None = Field(
        default=None,
        description="The Idempotency-Key header (a template), the same on every retry; "
        "default '${ saga.id }/<step>/<action|compensation>'; false sends none.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> Request:
        if self.url is not None and (self.service is not None or self.path is not None):
            raise ValueError("give either `url` or `service` + `path`, not both")
        if self.url is None and self.service is None:
            raise ValueError("a request needs a target: `url`, or `service` + `path`")
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either `json` or `body`, not both")
        return self


class Service(_Model):
    """A named HTTP service; its url may be overridden on the worker."""

    url: str = Field(
        description="Base url; the worker's SAGA_SERVICE_<NAME>_URL overrides it.",
        pattern=r"^https?://",
    )
    headers: dict[str, HeaderValue] | None = Field(
        default=None, description="Headers sent on every request to this service."
    )


class CompensationDefaults(_Model):
    """Defaults that apply to compensations only."""

    timeout: Timeout | None = Field(default=None, description="Timeout of each attempt.")
    retry: Retry | None = Field(default=None, description="Retry settings of compensations.")


class Defaults(_Model):
    """Settings that apply to every request unless the request overrides them."""

    timeout: Timeout | None = Field(default=None, description="Timeout of each attempt.")
    retry: Retry | None = Field(default=None, description="Retry settings of every request.")
    compensation: CompensationDefaults | None = Field(
        default=None, description="Overrides that apply to compensations."
    )


def _not_a_bool(value: object) -> object:
    # `true == 1` in Python; JSON Schema's `const: 1` rightly refuses `true`.
    if isinstance(value, bool):
        raise ValueError(f"the version is a number, not {value!r}")
    return value


STEP_NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
SAGA_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"


class Wait(_Model):
    """A wait step's wait: the step is WAITING until data is delivered for it."""

    timeout: Duration = Field(
        description="How long to wait for the data; then the step fails with reason 'timeout'."
    )
    schema_: dict[str, Any] | None = Field(
        default=None,
        alias="schema",
        description="A JSON Schema (2020-12) the data must satisfy; other data is refused "
        "to its sender.",
    )
    success: str | bool | None = Field(
        default=None,
        description="A boolean expression over `signal` (the data); false fails the step, "
        "which is not retried.",
    )
    notify: Request | None = Field(
        default=None,
        description="A request sent once when the wait begins (to ask for the data); "
        "it cannot read `signal`.",
    )


class Step(_Model):
    """One step: an action (or a wait for data) and what undoes it."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["action"]}, {"required": ["wait"]}]}
    )

    name: str = Field(pattern=STEP_NAME_PATTERN, description="Unique step name (a CEL identifier).")
    description: str | None = Field(default=None, description="What the step does.")
    action: Request | None = Field(
        default=None,
        description="The HTTP call that does the step's work; a step has `action` or `wait`.",
    )
    wait: Wait | None = Field(
        default=None,
        description="Wait for data delivered from outside (an approval, a callback) "
        "instead of calling a service; a step has `action` or `wait`.",
    )
    compensation: Request | Literal["none"] | None = Field(
        default=None,
        description="The HTTP call that undoes the action, or 'none' to say no undo is needed.",
    )
    output: Any = Field(
        default=None,
        description="What later steps may read as steps.<name>.output (templates over "
        "`response`, or over `signal` in a wait step); default: the response body (the "
        "data in a wait step).",
    )
    after: list[str] | None = Field(
        default=None,
        description="Steps this one waits for; default: the previous step; [] = start at once.",
    )
    when: str | bool | None = Field(
        default=None, description="A condition; false skips the step (status SKIPPED)."
    )
    pivot: bool = Field(
        default=False, description="The point of no return: once it succeeds, nothing is undone."
    )
    compensate_on: Literal["success", "attempt"] = Field(
        default="success",
        description="'success': undo only a step that succeeded; 'attempt': also undo a step "
        "whose action was sent (or whose wait began) but failed or was cancelled.",
    )

    @model_validator(mode="after")
    def _action_or_wait(self) -> Step:
        if self.action is not None and self.wait is not None:
            raise ValueError("give either `action` or `wait`, not both")
        if self.action is None and self.wait is None:
            raise ValueError("a step needs `action` (an HTTP call) or `wait` (data from outside)")
        return self


class Saga(_Model):
    """A saga definition: one business transaction over several HTTP services."""

    schema_ref: str | None = Field(
        default=None, alias="$schema", description="The JSON Schema of this file (ignored)."
    )
    version: Annotated[Literal[1], BeforeValidator(_not_a_bool)] = Field(
        description="The DSL version; always 1."
    )
    name: str = Field(pattern=SAGA_NAME_PATTERN, description="The saga's name.")
    description: str | None = Field(default=None, description="What the saga does.")
    input: dict[str, Any] | None = Field(
        default=None, description="A JSON Schema (2020-12) the run's input must satisfy."
    )
    services: dict[str, Service] | None = Field(
        default=None, description="Named HTTP services that steps call."
    )
    defaults: Defaults | None = Field(
        default=None, description="Settings for every request unless overridden."
    )
    timeout: Timeout | None = Field(
        default=None, description="Deadline for the whole saga; on expiry it is compensated."
    )
    on_compensation_failure: Literal["fail", "park"] = Field(
        default="fail",
        description="'fail': end COMPENSATION_FAILED; 'park': wait for an operator's "
        "`saga resume`.",
    )
    steps: list[Step] = Field(min_length=1, description="The steps, in list order.")
    output: Any = Field(default=None, description="The run's result on success (templates).")

    def step(self, name: str) -> Step:
        """The step of that name (the first, should two share it); KeyError if none."""
        return self.steps[self._step_index[name]]

    @cached_property
    def _step_index(self) -> dict[str, int]:
        # Built on first use and kept: looking steps up by name must not cost the
        # length of the saga each time (the workflow does it for every step).
        index: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            index.setdefault(step.name, i)
        return index

    def dependencies(self) -> dict[str, list[str]]:
        """Each step's `after`, with the default (the previous step) filled in."""
        deps: dict[str, list[str]] = {}
        previous: str | None = None
        for step in self.steps:
            if step.after is not None:
                deps[step.name] = list(step.after)
            else:
                deps[step.name] = [previous] if previous else []
            previous = step.name
        return deps


# --- effective settings -------------------------------------------------------------

DEFAULT_RETRY_STATUSES: tuple[int | str, ...] = (408, 425, 429, "5xx")
DEFAULT_EXPECT: tuple[int | str, ...] = ("2xx",)


@dataclass(frozen=True)
class EffectiveRetry:
    max_attempts: int
    """Attempts in all; 0 = unlimited."""
    initial_interval: timedelta
    backoff: float
    max_interval: timedelta
    on_status: tuple[int | str, ...]
    """Statuses that are retried."""


@dataclass(frozen=True)
class EffectiveRequest:
    """A request with every default applied: what the runtime executes."""

    request: Request
    kind: Literal["action", "compensation"]
    timeout: timedelta
    retry: EffectiveRetry
    expect: tuple[int | str, ...]


@dataclass(frozen=True)
class BuiltinDefaults:
    """What a request gets when neither it nor the saga's `defaults` say otherwise."""

    timeout: timedelta
    action_retry: Retry
    compensation_retry: Retry
    """Laid over `action_retry` for compensations."""


BUILTIN_DEFAULTS: dict[int, BuiltinDefaults] = {
    1: BuiltinDefaults(
        timeout=timedelta(seconds=30),
        action_retry=Retry(
            max_attempts=5,
            initial_interval=timedelta(seconds=1),
            backoff=2.0,
            max_interval=timedelta(seconds=30),
            on_status=list(DEFAULT_RETRY_STATUSES),
        ),
        compensation_retry=Retry(max_attempts=0, max_interval=timedelta(minutes=1)),
    ),
}
"""The built-in defaults by the semantics version of the run that uses them (see the
workflow's SEMANTICS_PATCHES): a version without an entry uses the newest entry before
it. A running saga keeps the defaults it started with across upgrades, so an entry is
never changed: a release that changes a default adds an entry for its new version."""


def builtin_defaults(semantics: int | None = None) -> BuiltinDefaults:
    """The built-in defaults for runs of a semantics version; None: the newest."""
    versions = [v for v in BUILTIN_DEFAULTS if semantics is None or v <= semantics]
    return BUILTIN_DEFAULTS[max(versions, default=min(BUILTIN_DEFAULTS))]


def _merge_retry(*layers: Retry | None) -> EffectiveRetry:
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer is not None:
            for key in Retry.model_fields:
                if getattr(layer, key) is not None:
                    merged[key] = getattr(layer, key)
    return EffectiveRetry(
        max_attempts=merged["max_attempts"],
        initial_interval=merged["initial_interval"],
        backoff=merged["backoff"],
        max_interval=merged["max_interval"],
        on_status=tuple(merged["on_status"]),
    )


def effective_request(
    saga: Saga,
    request: Request,
    kind: Literal["action", "compensation"],
    *,
    semantics: int | None = None,
) -> EffectiveRequest:
    """Merge built-in defaults (those of the run's semantics version; None: the newest),
    the saga's `defaults` and the request's own keys.

    `defaults.retry` is the actions' alone: a compensation takes the built-in unlimited
    retry, then `defaults.compensation.retry`, then its own, so a finite retry meant for
    actions never makes an undo give up. Runs of semantics 1 keep the first release's
    rule (`defaults.retry` under `defaults.compensation.retry`).
    """
    builtin = builtin_defaults(semantics)
    defaults = saga.defaults or Defaults()
    comp = defaults.compensation or CompensationDefaults()
    retry_layers: list[Retry | None] = [builtin.action_retry]
    timeouts = [builtin.timeout, defaults.timeout]
    if kind == "compensation":
        retry_layers.append(builtin.compensation_retry)
        if semantics is not None and semantics < 2:
            retry_layers.append(defaults.retry)
        retry_layers.append(comp.retry)
        timeouts.append(comp.timeout)
    else:
        retry_layers.append(defaults.retry)
    retry_layers.append(request.retry)
    timeouts.append(request.timeout)
    return EffectiveRequest(
        request=request,
        kind=kind,
        timeout=[t for t in timeouts if t is not None][-1],
        retry=_merge_retry(*retry_layers),
        expect=tuple(request.expect) if request.expect else DEFAULT_EXPECT,
    )
