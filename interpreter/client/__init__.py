"""The client side: connect to Temporal, start sagas and follow them.

What the command line (and any Python program) uses to talk to a Temporal cluster:

    _connection.py  settings the way Temporal's own tools read them; connect; errors
    _prepare.py     a saga file and an input, validated and frozen into a run's argument
    _runs.py        start, follow, report, result, cancel, resume, list
    _catalogue.py   the saga files under some folders, by name, re-read when they change
    _api.py         SagaClient: all of the above as one object (used by `saga serve`)

Exceptions::

    CommandError             a request failed in a way the user can act on; has exit_code
    ├── CannotReachTemporal  no Temporal server answered (exit code 5)
    ├── ConfigurationError   the connection settings cannot be loaded (exit code 2)
    ├── SagaNotFound         no saga of that name in the catalogue
    ├── RunNotFound          no saga run with that id
    ├── StepNotFound         the run's saga has no step of that name (signal)
    ├── RunConflict          the run's state, or an id already used, refuses the request
    └── RequestRefused       the saga refused the request
        └── DataRefused      a wait step's `schema` refused the data sent to it
"""

from __future__ import annotations

from interpreter.client._api import (
    DataRefused,
    RequestRefused,
    RunConflict,
    RunNotFound,
    RunResult,
    SagaClient,
    SagaNotFound,
    StartedRun,
    StepNotFound,
)
from interpreter.client._catalogue import Catalogue, CatalogueEntry
from interpreter.client._connection import (
    CannotReachTemporal,
    CommandError,
    ConfigurationError,
    ConnectionSettings,
    connect,
    default_address,
    has_saga_search_attributes,
    is_listening,
    load_settings,
)
from interpreter.client._prepare import Prepared, RunInput, parse_input, prepare
from interpreter.client._runs import (
    Outcome,
    RunSummary,
    cancel_saga,
    follow,
    list_runs,
    query_report,
    resume_saga,
    saga_outcome,
    saga_report,
    start_saga,
    worker_is_polling,
)

__all__ = [
    "CannotReachTemporal",
    "Catalogue",
    "CatalogueEntry",
    "CommandError",
    "ConfigurationError",
    "ConnectionSettings",
    "DataRefused",
    "Outcome",
    "Prepared",
    "RequestRefused",
    "RunConflict",
    "RunInput",
    "RunNotFound",
    "RunResult",
    "RunSummary",
    "SagaClient",
    "SagaNotFound",
    "StartedRun",
    "StepNotFound",
    "cancel_saga",
    "connect",
    "default_address",
    "follow",
    "has_saga_search_attributes",
    "is_listening",
    "list_runs",
    "load_settings",
    "parse_input",
    "prepare",
    "query_report",
    "resume_saga",
    "saga_outcome",
    "saga_report",
    "start_saga",
    "worker_is_polling",
]
