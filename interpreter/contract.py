"""What the workflow, the activity, the worker and the CLI agree on.

Plain dataclasses and string enums only (no temporalio import), so both the
workflow sandbox and the client can use them, and Temporal's default JSON data
converter carries them.

Names are part of the wire contract with running sagas: changing one breaks them.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "ACTIVITY_NAME",
    "COMPACT_DEFINITION",
    "DEFAULT_TASK_QUEUE",
    "ERROR_TYPES",
    "QUERY_REPORT",
    "SEMANTICS",
    "SIGNAL_INVALID_DATA",
    "SIGNAL_NOT_WAITING",
    "SIGNAL_UNKNOWN_STEP",
    "UPDATE_RESUME",
    "UPDATE_SIGNAL",
    "WORKFLOW_NAME",
    "HttpCall",
    "HttpResult",
    "RecordedRunInput",
    "ReportDetails",
    "ResumeRequest",
    "SagaReport",
    "SagaRunInput",
    "SagaStatus",
    "SignalRequest",
    "StepReport",
    "StepStatus",
    "StepTransition",
    "compact_definition",
    "definition_data",
    "short_call_argument",
]

WORKFLOW_NAME = "Saga"
ACTIVITY_NAME = "saga.http"
QUERY_REPORT = "report"
UPDATE_RESUME = "resume"
UPDATE_SIGNAL = "signal"
DEFAULT_TASK_QUEUE = "sagas"

SEMANTICS = 5
"""The newest semantics version: the behaviour a run started by this version asks for.
Each version is a release that changed what the workflow does or records; the workflow
(`interpreter.workflow`) knows every version up to its own and refuses a newer one."""

SEARCH_ATTRIBUTE_NAME = "SagaName"
SEARCH_ATTRIBUTE_STATUS = "SagaStatus"


class SagaStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    PARKED = "PARKED"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"
    INCOMPLETE = "INCOMPLETE"
    """Committed past the pivot, a later step failed for good (nothing is undone)."""


class StepStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"
    WAITING = "WAITING"
    """A wait step waiting for its data (delivered by the `signal` update)."""
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"


# The ApplicationError type with which a saga that did not complete fails its workflow;
# the error's details[0] is the SagaReport as a dict in its compact form
# (`SagaReport.compact`; read it with `SagaReport.from_dict`).
ERROR_TYPES = {
    SagaStatus.COMPENSATED: "SagaCompensated",
    SagaStatus.COMPENSATION_FAILED: "SagaCompensationFailed",
    SagaStatus.INCOMPLETE: "SagaIncomplete",
}
INVALID_INPUT_ERROR = "SagaInvalidInput"
INVALID_DEFINITION_ERROR = "SagaInvalidDefinition"

# The ApplicationError type with which the `signal` update's validator refuses data
# (nothing is recorded): the step does not exist; it does not wait (not a wait step,
# ended, already given its data, or the saga is stopping); the data does not fit the
# step's `schema` (details[0] is {"errors": [{"message": ..., "pointer": ...}]}).
SIGNAL_UNKNOWN_STEP = "SagaSignalUnknownStep"
SIGNAL_NOT_WAITING = "SagaSignalNotWaiting"
SIGNAL_INVALID_DATA = "SagaSignalInvalidData"


@dataclass
class SagaRunInput:
    """The workflow's argument: an immutable snapshot of the definition, and the input."""

    definition: dict[str, Any] | str
    """The saga as `Saga.model_dump(mode="json", by_alias=True, exclude_none=True)`, or
    that JSON in its compact form (`compact_definition`), which clients send
    (`compact`); the workflow reads both (`definition_data`)."""
    input: Any = None
    definition_hash: str = ""
    """sha256 of the canonical definition JSON, also in the workflow memo."""
    search_attributes: bool = False
    """True when the namespace has SagaName and SagaStatus, so the workflow may upsert them."""
    semantics: int = SEMANTICS
    """The semantics version the run has, chosen by the client that starts it (3 and
    later). Runs started without it (by clients before version 3, and every run recorded
    before) read as 0 in the workflow (`RecordedRunInput`), which then takes the version
    from the patch markers in its history."""

    def compact(self) -> dict[str, Any]:
        """The argument as a client sends it: the definition in its compact form, and the
        fields that hold their default left out (`semantics` is always written: a run
        without it reads as 0). The definition's hash is left out too: it is in the
        workflow's memo, and the worker keys its cache of compiled sagas by the compact
        definition itself.

        A worker of a release before this form fails its workflow task on it (a string
        where it expects an object), so Temporal retries the task and the run waits,
        untouched, for an upgraded worker: upgrade workers before clients."""
        data: dict[str, Any] = {"definition": compact_definition(definition_data(self.definition))}
        if self.input is not None:
            data["input"] = self.input
        if self.search_attributes:
            data["search_attributes"] = True
        data["semantics"] = self.semantics
        return data


COMPACT_DEFINITION = "zlib+base64:"
"""The prefix of a definition in its compact form: canonical JSON, zlib, base64."""

MAX_DEFINITION_BYTES = 16 * 1024 * 1024
"""The largest definition JSON a compact form may unpack to (as large as a saga file)."""


def compact_definition(definition: dict[str, Any]) -> str:
    """`definition` as a run's input carries it: its canonical JSON (sorted keys, no
    spaces), compressed with zlib, in base64, after the `COMPACT_DEFINITION` prefix.
    A saga's definition repeats its keys and templates, so this is about a quarter of
    the JSON."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    packed = base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    return COMPACT_DEFINITION + packed


def definition_data(definition: dict[str, Any] | str) -> dict[str, Any]:
    """The definition as JSON data, from either form a run's input carries. Raises
    ValueError when a compact form cannot be read."""
    if isinstance(definition, dict):
        return definition
    if not definition.startswith(COMPACT_DEFINITION):
        raise ValueError(f"unknown definition encoding {definition[:16]!r}")
    try:
        packed = base64.b64decode(definition[len(COMPACT_DEFINITION) :], validate=True)
        unpacker = zlib.decompressobj()
        text = unpacker.decompress(packed, MAX_DEFINITION_BYTES)
        if unpacker.unconsumed_tail:
            raise ValueError(f"it unpacks to more than {MAX_DEFINITION_BYTES} bytes")
        data = json.loads(text)
    except (binascii.Error, zlib.error, ValueError) as error:
        raise ValueError(f"the compact definition cannot be read: {error}") from None
    if not isinstance(data, dict):
        raise ValueError("the compact definition is not a JSON object")
    return data


@dataclass
class RecordedRunInput(SagaRunInput):
    """`SagaRunInput` as the workflow reads it: `semantics` is 0 when the run's input
    does not carry it, so runs started before it existed keep their behaviour."""

    semantics: int = 0


@dataclass
class StepTransition:
    """A step entered `status` at `at` (ISO 8601 UTC, workflow time)."""

    status: str
    at: str


@dataclass
class StepReport:
    name: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    """Attempts of the action, as Temporal counted them."""
    compensation_attempts: int = 0
    last_error: str | None = None
    compensation_error: str | None = None
    started_at: str | None = None
    """ISO 8601 UTC, workflow time."""
    finished_at: str | None = None
    compensated_at: str | None = None
    compensation_skipped: bool = False
    """True when an operator skipped the failed compensation (`saga resume --skip`), or
    gave up on a step that failed after the pivot."""
    waiting_since: str | None = None
    """A wait step: when it began waiting (ISO 8601 UTC, workflow time)."""
    deadline: str | None = None
    """A wait step: when its wait times out (waiting_since + its `timeout`)."""
    signal_at: str | None = None
    """A wait step: when its data was delivered (it may arrive before the wait begins)."""
    reason: str | None = None
    """Why a wait step failed: 'timeout' (no data in time), 'rejected' (its `success`
    was false for the data), or None."""
    outcome_uncertain: bool = False
    """True when the action's request may have taken effect but no answer said whether it
    did (a timeout, a connection lost after sending) and resending it did not tell."""
    transitions: list[StepTransition] = field(default_factory=list)
    """Every status the step entered, in order, with its time (PENDING is not listed)."""


@dataclass
class SagaReport:
    saga_id: str
    saga_name: str
    status: SagaStatus = SagaStatus.RUNNING
    reason: str | None = None
    """Why the saga did not complete: 'failure', 'cancel', 'timeout' or 'invalid_input'."""
    failed_step: str | None = None
    error: str | None = None
    steps: list[StepReport] = field(default_factory=list)
    output: Any = None
    compensation_failures: list[str] = field(default_factory=list)
    """One line per compensation that failed for good: 'step: error'. A step whose action
    may have taken effect but whose outcome could not be learned, and whose compensation
    needs the action's output, is listed here too: 'step: outcome uncertain: ...'."""
    forward_failures: list[str] = field(default_factory=list)
    """One line per step that failed for good after the saga was committed by its pivot
    ('step: error'): it is not undone, a person must finish it (INCOMPLETE)."""
    notes: list[str] = field(default_factory=list)
    """What the run decided that a reader could not guess from the statuses: a cancel or
    timeout ignored because the pivot had succeeded, an uncertain outcome resolved."""
    started_at: str | None = None
    finished_at: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SagaReport:
        """A report from its JSON form, full (`to_dict`, the query's answer) or compact
        (`compact`, a failed saga's error); keys this version does not know are ignored."""
        values = _known(cls, data)
        clock = _Clock(values.get("started_at"))
        values["status"] = SagaStatus(values.get("status", SagaStatus.RUNNING))
        values["steps"] = [_step_from_dict(step, clock) for step in values.get("steps") or []]
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON form: the same keys as the workflow's query answer."""
        return json.loads(json.dumps(asdict(self), default=str))  # type: ignore[no-any-return]

    def compact(self) -> ReportDetails:
        """The report as a failed saga's error carries it: every field that holds its
        default left out, in the report and in each step, and each step's times and
        transitions under one key, `times`, as seconds after the saga's `started_at` (a
        number, to the microsecond; a transition is a `[status, seconds]` pair).
        `from_dict` reads it back whole, and reads the fuller forms of older runs too.

        A reader of an earlier version ignores `times` (a key it does not know): it reads
        every status, attempt and error, without the steps' times and transitions."""
        clock = _Clock(self.started_at)
        data = ReportDetails(_compact(self))
        steps = [_compact_step(step, clock) for step in self.steps]
        if steps:
            data["steps"] = steps
        else:
            data.pop("steps", None)
        return data


STEP_TIMES = (
    "started_at",
    "finished_at",
    "compensated_at",
    "waiting_since",
    "deadline",
    "signal_at",
)
"""A step's times (ISO 8601 text), which a compact report keeps under `times`."""


def _compact_step(step: StepReport, clock: _Clock) -> dict[str, Any]:
    item = _compact(step)
    times = {key: clock.short(item.pop(key)) for key in STEP_TIMES if key in item}
    item.pop("transitions", None)
    if step.transitions:
        times["transitions"] = [[t.status, clock.short(t.at)] for t in step.transitions]
    if times:
        item["times"] = times
    return item


class _Clock:
    """A report's times as seconds after its start (the compact form), and back."""

    def __init__(self, started_at: str | None) -> None:
        self.start = _moment(started_at)

    def short(self, at: Any) -> Any:
        """`at` as seconds after the start, when that reads back as the same text."""
        moment = _moment(at)
        if self.start is None or moment is None:
            return at
        try:
            seconds = ((moment - self.start) // timedelta(microseconds=1)) / 1e6
        except TypeError:  # one of the two has no time zone
            return at
        return seconds if self.long(seconds) == at else at

    def long(self, value: Any) -> Any:
        """A time as text: seconds after the start are converted, text is kept."""
        if self.start is None or isinstance(value, bool) or not isinstance(value, int | float):
            return value
        return (self.start + timedelta(microseconds=round(value * 1e6))).isoformat()


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class ReportDetails(dict[str, Any]):
    """A report in its compact JSON form (`SagaReport.compact`), as the failure's details
    carry it. `status` is also an attribute, as on `SagaReport`, for readers in the
    worker that look at the report before it is encoded."""

    @property
    def status(self) -> str:
        return str(self["status"])


def _compact(value: Any) -> dict[str, Any]:
    """A dataclass's fields as JSON values, without those equal to their default."""
    data: dict[str, Any] = {}
    for item in fields(value):
        current = getattr(value, item.name)
        if item.default is not MISSING and current == item.default:
            if type(current) is type(item.default) or item.default is None:
                continue
        if item.default_factory is not MISSING and current == item.default_factory():
            continue
        data[item.name] = _plain(current)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, StrEnum):
        return str(value)
    return value


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in known}


def _step_from_dict(data: dict[str, Any], clock: _Clock) -> StepReport:
    values = _known(StepReport, data)
    values["status"] = StepStatus(values.get("status", StepStatus.PENDING))
    times = data.get("times")
    if isinstance(times, dict):  # the compact form
        values.update({key: clock.long(times[key]) for key in STEP_TIMES if key in times})
        pairs = times.get("transitions") or []
        values["transitions"] = [StepTransition(str(s), clock.long(at)) for s, at in pairs]
    else:
        values["transitions"] = [
            StepTransition(**_known(StepTransition, t)) for t in values.get("transitions") or []
        ]
    return StepReport(**values)


@dataclass
class ResumeRequest:
    """`saga resume ID --retry` (retry: True) or `--skip STEP` (skip: the step names)."""

    retry: bool = False
    skip: list[str] = field(default_factory=list)


@dataclass
class SignalRequest:
    """`saga signal ID STEP --data JSON`: data for a wait step."""

    step: str
    data: Any = None


@dataclass
class HttpCall:
    """One rendered request, the activity's argument. Secrets stay as names."""

    saga_id: str
    step: str
    kind: str
    """'action', 'compensation' or 'notify' (a wait step's request)."""
    method: str
    service: str | None
    """Set when the target is a service, so the worker can apply SAGA_SERVICE_<NAME>_URL."""
    base_url: str
    """The service's url from the definition, or the absolute url."""
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    secret_headers: dict[str, str] = field(default_factory=dict)
    """Header name -> secret name, resolved by the worker."""
    auth: dict[str, Any] | None = None
    """{'bearer': SECRET} or {'basic': {'username': str, 'password': SECRET}}."""
    json_body: Any = None
    has_json: bool = False
    body: str | None = None
    content_type: str | None = None
    idempotency_key: str | None = None
    expect: list[int | str] = field(default_factory=lambda: ["2xx"])
    retry_on_status: list[int | str] = field(default_factory=list)
    timeout_seconds: float | None = None
    """The per-attempt timeout of the request itself."""
    success: Any = None
    """The `success` template (uncompiled) evaluated in the activity, or None."""
    output: Any = None
    """The `output` template (uncompiled) evaluated in the activity, or None."""
    has_output: bool = False
    context: dict[str, Any] = field(default_factory=dict)
    """The variables `success` and `output` read besides `response`."""

    def without_defaults(self, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The call as JSON data without the fields that hold their default (and without
        `leave_out`): the activity's argument from semantics 3 (`call_argument` in the
        workflow), and the base of the short form. A default is left out only for a value
        of its own type (`0 == False`)."""
        argument: dict[str, Any] = {}
        for item in fields(self):
            if item.name in leave_out:
                continue
            value = getattr(self, item.name)
            default = item.default
            if default is not MISSING and value == default and type(value) is type(default):
                continue
            if item.default_factory is not MISSING and value == item.default_factory():
                continue
            argument[item.name] = value
        return argument

    @classmethod
    def from_dict(cls, data: dict[str, Any], saga_id: str = "") -> HttpCall:
        """The call from the activity's argument as JSON, in any form a workflow writes:
        every field (semantics 1 and 2), without the fields that hold their default (3
        and 4), or the short form (5 and later: `short_call_argument`), which has no
        `saga_id` and takes it from here (the run's workflow id). Keys it does not know
        are ignored, as the SDK's converter ignores them.

        The SDK's converter reads a dataclass by its type hints, which it evaluates again
        for every payload: about 0.37 ms per argument for this one, some 25 times what
        reading it here costs (bench/bench_payloads.py). The values are the workflow's own
        JSON, so they need no coercion.
        Raises TypeError when a required field is missing."""
        values = {key: value for key, value in data.items() if key in _HTTP_CALL_FIELDS}
        if "saga_id" in data:
            return cls(**values)
        if not saga_id or "step" not in data or "kind" not in data:
            raise TypeError("a short argument needs the run's id, its step and its kind")
        values["saga_id"] = saga_id
        values["has_json"] = "json_body" in data
        values["has_output"] = "output" in data
        values.setdefault("retry_on_status", list(SHORT_RETRY_ON_STATUS))
        values.setdefault("idempotency_key", f"{saga_id}/{data['step']}/{data['kind']}")
        return cls(**values)


_HTTP_CALL_FIELDS = frozenset(item.name for item in fields(HttpCall))

SHORT_RETRY_ON_STATUS: tuple[int | str, ...] = (408, 425, 429, "5xx")
"""The `retry_on_status` that the short form of the activity's argument leaves out (the
language's default). A fixed part of the wire form: it never follows the defaults."""


def short_call_argument(call: HttpCall) -> dict[str, Any]:
    """The activity's argument in its short form (semantics 5): the compact form (no field
    that holds its default) without what the activity can work out for itself:

    - `saga_id`, which is the run's workflow id: its absence marks the short form, and a
      worker of an earlier release, which requires it, refuses the argument ("Failed
      decoding arguments") instead of reading it wrongly;
    - `idempotency_key` when it is the default `<saga id>/<step>/<kind>` (written, as
      null, when the request sends none);
    - `retry_on_status` when it is `SHORT_RETRY_ON_STATUS` (written when it differs, even
      empty);
    - `has_json` and `has_output`: `json_body` and `output` are written when, and only
      when, they are set, null included.

    `HttpCall.from_dict` reads it back whole."""
    argument = call.without_defaults(_SHORT_LEAVES_OUT)
    if call.idempotency_key != f"{call.saga_id}/{call.step}/{call.kind}":
        argument["idempotency_key"] = call.idempotency_key
    if tuple(call.retry_on_status) != SHORT_RETRY_ON_STATUS:
        argument["retry_on_status"] = call.retry_on_status
    if call.has_json:
        argument["json_body"] = call.json_body
    if call.has_output:
        argument["output"] = call.output
    return argument


_SHORT_LEAVES_OUT = frozenset(
    {
        "saga_id",
        "idempotency_key",
        "retry_on_status",
        "json_body",
        "has_json",
        "output",
        "has_output",
    }
)


@dataclass
class HttpResult:
    """What the activity returns: only the step's output enters the history."""

    status: int
    output: Any = None
    attempt: int = 1
    """The attempt that succeeded (Temporal's count, 1-based)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HttpResult:
        """The result from the activity's JSON (either form), without the SDK's converter
        and its type hints (see `HttpCall.from_dict`)."""
        return cls(data["status"], data.get("output"), data.get("attempt", 1))

    def compact(self) -> dict[str, Any]:
        """The result as the activity returns it: `output` and `attempt` left out when
        they hold their default (None, 1), which is what every workflow reads them back
        as."""
        data: dict[str, Any] = {"status": self.status}
        if self.output is not None:
            data["output"] = self.output
        if self.attempt != 1:
            data["attempt"] = self.attempt
        return data
