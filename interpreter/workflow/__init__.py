"""The sandboxed corner: the generic saga workflow and everything it imports.

Temporal replays a workflow's code against its recorded history, so every module here
must decide the same way in every process: no clock, randomness, I/O, hash seed or map
order may reach a decision. The workflow imports only these modules, the language
(`dsl`) and the wire types (`interpreter.contract`); `PASSTHROUGH_MODULES` lists all of
them: Temporal's sandbox shares them with the worker rather than importing them again
for every run, so what they may import is checked by a test instead
(tests/interpreter/test_workflow_imports.py).

    _saga.py      SagaWorkflow: its state, handlers (query, updates) and a run's outline
    _state.py     what a run keeps; running an activity, template variables, the report
    _forward.py   forward progress: ready steps start, interrupts, wait steps, the output
    _settle.py    compensation, parking, retries past the pivot, the end of a run
    _compiled.py  a definition parsed once, its requests compiled once (kept across runs)
    _calls.py     a step's request rendered into the activity's argument; retry policy
    _plan.py      which steps are ready, the order of undos
    _outcomes.py  what an activity's failure means (attempts, sent or not, message)
    _wait.py      wait steps: which data the `signal` update takes, what it makes of a step
"""

from __future__ import annotations

from interpreter.workflow._saga import HEARTBEAT_TIMEOUT, TIMEOUT_MARGIN, SagaWorkflow

__all__ = ["HEARTBEAT_TIMEOUT", "PASSTHROUGH_MODULES", "TIMEOUT_MARGIN", "SagaWorkflow"]

PASSTHROUGH_MODULES = (
    "dsl",
    "interpreter.contract",
    # This package itself, the workflow's module included: the sandbox would otherwise
    # run it again for every run (the class body, and the SDK's inspection of every
    # member of the class and its mixins: about a tenth of the worker's CPU per saga).
    # So no module here is checked by the sandbox at run time; the imports they may
    # use are checked instead by tests/interpreter/test_workflow_imports.py.
    "interpreter.workflow",
    # What those import, shared with the worker instead of re-imported for every run;
    # including what they load lazily from inside a run: cel_expr_python (a C++
    # extension, loaded on the first expression) and jsonschema's helpers (rpds is Rust).
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "typing_inspection",
    "cel_expr_python",
    "jsonschema",
    "jsonschema_specifications",
    "referencing",
    "rpds",
    "attrs",
    "attr",
)
"""Modules the sandbox shares with the worker: all deterministic, none with side effects."""
