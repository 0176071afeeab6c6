"""What reading and writing the HTTP activity's payloads costs, measured alone.

    python bench/bench_payloads.py [--quick] [--out bench/results/payloads.json]

Two measurements, on the five calls of `bench/sagas/trip-5.yaml` as its workflow
renders them (`interpreter.workflow._calls.build_call`, the saga's own services, and an
id as the overhead benchmark gives its runs):

- `read_us`: µs of CPU to read one activity argument and one result, by the SDK's JSON
  converter with the type as its hint (what a worker did before: the converter
  evaluates the dataclass's type hints again for every payload) and by
  `HttpCall.from_dict` / `HttpResult.from_dict` (what it does now), for the compact form
  (semantics 3 and 4) and the short form (5) of the argument; and the hand-written
  baseline's argument (`bench/handwritten.py`'s `Call`, five fields) by the SDK's
  converter. The contenders alternate within every repeat; medians of the repeats.
- `argument_bytes`: the JSON bytes of the five arguments in each form, as the payloads
  carry them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

SAGA_ID = "s-0123456789abcdef"
"""An id as the overhead benchmark gives its runs (which are also their `trip_id`)."""


def trip_calls() -> list[Any]:
    from dsl import Saga
    from interpreter.workflow._calls import build_call

    saga = Saga.model_validate(h.load_definition(h.SAGAS_DIR / "trip-5.yaml"))
    context: dict[str, Any] = {
        "input": {"trip_id": SAGA_ID, "traveller": "ada", "amount": 120},
        "saga": {"id": SAGA_ID, "name": saga.name},
        "steps": {
            step.name: {"status": "SUCCEEDED", "output": {"id": f"{step.name}-1"}}
            for step in saga.steps
        },
    }
    return [build_call(saga, step, "action", context, semantics=5)[0] for step in saga.steps]


def _encoded(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _per_call_us(read: Callable[[Any], Any], payloads: list[Any], rounds: int) -> float:
    began = time.thread_time()
    for _ in range(rounds):
        for payload in payloads:
            read(payload)
    return (time.thread_time() - began) / (rounds * len(payloads)) * 1e6


def read_us(rounds: int, repeats: int) -> dict[str, Any]:
    from handwritten import Call
    from temporalio.converter import DataConverter

    from interpreter.contract import HttpCall, HttpResult, short_call_argument
    from interpreter.workflow._calls import call_argument

    converter = DataConverter.default.payload_converter
    calls = trip_calls()
    compact = [converter.to_payloads([call_argument(call)]) for call in calls]
    short = [converter.to_payloads([short_call_argument(call)]) for call in calls]
    results = [
        converter.to_payloads([{"status": 201, "output": {"id": f"{call.step}-1"}}])
        for call in calls
    ]
    baseline = [
        converter.to_payloads(
            [Call(c.method, c.base_url + c.path, c.idempotency_key or "", [201], c.json_body)]
        )
        for c in calls
    ]

    def by_sdk(hint: type) -> Callable[[Any], Any]:
        return lambda payloads: converter.from_payloads(payloads, [hint])

    def by_hand(read: Callable[..., Any], *extra: Any) -> Callable[[Any], Any]:
        return lambda payloads: read(converter.from_payloads(payloads, [dict])[0], *extra)

    contenders: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "argument, compact form, SDK converter": (by_sdk(HttpCall), compact),
        "argument, compact form, HttpCall.from_dict": (by_hand(HttpCall.from_dict), compact),
        "argument, short form, HttpCall.from_dict": (
            by_hand(HttpCall.from_dict, SAGA_ID),
            short,
        ),
        "result, SDK converter": (by_sdk(HttpResult), results),
        "result, HttpResult.from_dict": (by_hand(HttpResult.from_dict), results),
        "hand-written argument, SDK converter": (by_sdk(Call), baseline),
    }
    # Both readings give the same call.
    for mine, theirs in zip(compact, short, strict=True):
        assert by_hand(HttpCall.from_dict)(mine) == by_sdk(HttpCall)(mine)[0]
        assert by_hand(HttpCall.from_dict, SAGA_ID)(theirs) == by_sdk(HttpCall)(mine)[0]
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, (read, payloads) in contenders.items():
            runs[name].append(_per_call_us(read, payloads, rounds))
    return {
        "rounds_per_repeat": rounds,
        "repeats": repeats,
        "us_cpu_per_payload_median": {
            name: round(h.median(values), 2) for name, values in runs.items()
        },
    }


def argument_bytes() -> dict[str, Any]:
    from interpreter.contract import short_call_argument
    from interpreter.workflow._calls import call_argument

    calls = trip_calls()
    compact = sum(len(_encoded(call_argument(call))) for call in calls)
    short = sum(len(_encoded(short_call_argument(call))) for call in calls)
    return {
        "calls": len(calls),
        "saga_id_chars": len(SAGA_ID),
        "compact_form_bytes": compact,
        "short_form_bytes": short,
        "saved_bytes": compact - short,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The activity's payloads, read and written.")
    parser.add_argument("--rounds", type=int, default=400, help="reads per payload per repeat")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--out", type=Path, default=h.RESULTS_DIR / "payloads.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.repeats = 5, 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    figures: dict[str, Any] = {
        "read_us": read_us(args.rounds, args.repeats),
        "argument_bytes": argument_bytes(),
    }
    print(json.dumps(figures, indent=1))
    h.write_results(args.out, h.command_line(), figures)


if __name__ == "__main__":
    main()
