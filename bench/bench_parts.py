"""Figures about single parts of the runtime and of `saga validate`, each measured alone.

    python bench/bench_parts.py [--quick] [--only PART,...] [--out bench/results/parts.json]

Eight measurements, each written under its own key of the results file (`--only` runs
some of them):

- `activity_cpu`: CPU per call of the DSL's HTTP activity (`interpreter/worker/_activity.py`)
  and of the hand-written one (`bench/handwritten.py`), each run through
  `temporalio.testing.ActivityEnvironment` against a loopback `DemoService` in a thread
  of this process; CPU of the calling thread (`time.thread_time`), so the service's
  thread is not counted. Each contender runs with sniffio importable (as installed) and
  with sniffio unimportable, as it was before it became a dependency; the four
  contenders alternate within every repeat.

  How sniffio is made unimportable. httpcore's `current_async_library()` (called when
  its connection pool, locks and events first need the async library: four times per
  request here) runs `import sniffio` inside the function and falls back to "asyncio"
  on ImportError. Python does not cache a failed import: `sys.modules` gets no entry,
  so each attempt asks every finder of `sys.meta_path`, and the `PathFinder` asks the
  finder of every entry of `sys.path`. The emulation removes `sniffio` from
  `sys.modules` and replaces, in `sys.path_importer_cache`, the finder of the one
  directory that holds sniffio (site-packages) by a wrapper that, for `sniffio` only,
  looks up a name that exists nowhere (the same work: the directory's modification time
  and its cached listing) and answers "not here". Everything else is Python's own
  search, and Python's own ModuleNotFoundError at its end. anyio, which imported
  sniffio once at its own import, is given `sniffio = None`, as it had then (it then
  answers "asyncio" from the running loop). The results file records the failed
  `import sniffio` per call (counted by the wrapper) and the CPU of one emulated failed
  import next to one of a module that is genuinely not installed: they should be equal.

- `activity_wrapper`: the cost per call (µs of CPU) of the activity's wrapping of its
  request: today's (a timer callback for the heartbeat, the request in a task of its
  own, awaited through a bare future), the previous one (a heartbeat task and
  `asyncio.shield`, reproduced here), and a direct await of the request. 20 calls run
  concurrently, each a request that takes two event-loop turns; contenders alternate.

- `definition_bytes`: the compressed size of `bench/sagas/trip-5.yaml`'s definition as a
  run carries it (`interpreter.contract.compact_definition`), and with zlib preset
  dictionaries: the saga's own canonical JSON, the other example sagas' definitions,
  and the language's keys (the property names of the saga JSON Schema).

- `validate_imports`: the import time of a cold `saga validate sagas/trip-booking.yaml`
  (`python -X importtime`, fresh processes, bytecode cached), the modules' own times
  summed by package, medians over the runs.

- `composer_share`: the YAML composer's share of the time `dsl.load_and_check` spends per
  file, by cProfile over the validator benchmark's generated files, and the share of the
  composer's time spent building ruamel.yaml's event objects.

- `composer_ab`: the composer against the one before its faster event loop (read from
  the repository's history with git; skipped without it), in turns over the same
  generated files, after checking that both give the same data and positions; CPU
  seconds of this process, medians over the repeats.

- `composer_c_nodes`: the composer against ruamel.yaml's C composer (`CParser.get_single_node`)
  building its node tree alone, in turns over the same generated files: whether composing
  in C could be the base of a faster composer. CPU seconds, medians over the repeats.

- `validate_parallel`: a cold `saga validate` of 128, 256, 400 and 1000 generated files
  (`--parallel-files`) checked in one process and in as many forked processes as CPUs
  (`interpreter/cli/_parallel.py`; by default it forks from 400 files on, onto idle
  CPUs), in turns; wall seconds, the median of the rounds' ratios, the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import importlib
import importlib.machinery
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

# --- activity CPU, with and without sniffio ---------------------------------------------


class _HidingFinder:
    """The path finder of the directory that holds sniffio, blind to sniffio alone.

    For `sniffio` it looks up a name that exists nowhere (the same work: the
    directory's modification time and its cached listing) and answers None; for every
    other name it is the directory's own finder.
    """

    ABSENT = "sniffio_absent_" + uuid.uuid4().hex[:8]

    def __init__(self, real: Any) -> None:
        self.real = real
        self.searches = 0

    def find_spec(
        self, fullname: str, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "sniffio":
            spec: importlib.machinery.ModuleSpec | None = self.real.find_spec(fullname, target)
            return spec
        self.searches += 1
        if self.real.find_spec(self.ABSENT, target) is not None:
            raise RuntimeError(f"{self.ABSENT} exists: the emulation is broken")
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@contextmanager
def sniffio_unimportable() -> Iterator[_HidingFinder]:
    """`import sniffio` fails as if it were not installed, after the same search."""
    import anyio._core._eventloop as anyio_loop

    folder = str(Path(sys.modules["sniffio"].__file__ or "").parent.parent)
    importlib.machinery.PathFinder.find_spec("sniffio")  # the folder's finder is cached
    real = sys.path_importer_cache.get(folder)
    if real is None:
        raise SystemExit(f"Error: sniffio's folder {folder} is not an entry of sys.path")
    hiding = _HidingFinder(real)
    saved_module = sys.modules.pop("sniffio")
    saved_anyio = anyio_loop.sniffio
    anyio_loop.sniffio = None
    sys.path_importer_cache[folder] = hiding
    try:
        yield hiding
    finally:
        sys.path_importer_cache[folder] = real
        anyio_loop.sniffio = saved_anyio
        sys.modules["sniffio"] = saved_module


def failed_import_us(name: str, repeats: int = 2000) -> float:
    """CPU µs of one failed `import name` (the thread's CPU, median of 5 batches)."""
    batches = []
    for _ in range(5):
        began = time.thread_time()
        for _ in range(repeats):
            try:
                __import__(name)
            except ImportError:
                pass
        batches.append((time.thread_time() - began) / repeats * 1e6)
    return h.median(batches)


async def activity_cpu(calls: int, repeats: int) -> dict[str, Any]:
    import httpx
    from handwritten import Call, HandWrittenActivities
    from temporalio.testing import ActivityEnvironment

    from interpreter.contract import HttpCall
    from interpreter.dev.demo import DemoService
    from interpreter.worker._activity import HttpActivity
    from interpreter.worker._secrets import SecretSource

    def dsl_call(url: str, key: str) -> HttpCall:
        return HttpCall(
            saga_id="s",
            step="reserve_flight",
            kind="action",
            method="POST",
            service="api",
            base_url=url,
            path="/flights",
            json_body={"trip": key, "who": "ada"},
            has_json=True,
            idempotency_key=key,
            expect=[201],
            timeout_seconds=10.0,
            output={"id": "${ response.body.id }"},
            has_output=True,
        )

    def handwritten_call(url: str, key: str) -> Call:
        return Call("POST", url + "/flights", key, [201], {"trip": key, "who": "ada"})

    env = ActivityEnvironment()
    per_call: dict[str, list[float]] = {}
    searches: dict[str, float] = {}
    with DemoService("api") as service:
        async with httpx.AsyncClient(timeout=None, follow_redirects=False) as http:
            contenders: dict[str, tuple[Callable[..., Awaitable[Any]], Callable[..., Any]]] = {
                "dsl": (HttpActivity(http, SecretSource(None)).call, dsl_call),
                "handwritten": (HandWrittenActivities(http).call, handwritten_call),
            }

            async def batch(name: str, count: int) -> float:
                function, make = contenders[name]
                arguments = [make(service.url, uuid.uuid4().hex) for _ in range(count)]
                began = time.thread_time()
                for argument in arguments:
                    result = await env.run(function, argument)
                    assert result, f"{name}: no result"
                return (time.thread_time() - began) / count * 1000

            for name in contenders:  # warm up: connections, compiled templates
                await batch(name, 20)
            for _ in range(repeats):
                for sniffio in ("importable", "unimportable"):
                    for name in contenders:
                        key = f"{name}, sniffio {sniffio}"
                        if sniffio == "importable":
                            per_call.setdefault(key, []).append(await batch(name, calls))
                            continue
                        with sniffio_unimportable() as finder:
                            per_call.setdefault(key, []).append(await batch(name, calls))
                        searches[name] = finder.searches / calls
    with sniffio_unimportable():
        emulated = failed_import_us("sniffio")
    genuine = failed_import_us(_HidingFinder.ABSENT)
    medians = {key: round(h.median(values), 3) for key, values in per_call.items()}
    added, ratio = {}, {}
    for name in ("dsl", "handwritten"):
        pairs = list(
            zip(
                per_call[f"{name}, sniffio unimportable"],
                per_call[f"{name}, sniffio importable"],
                strict=True,
            )
        )
        added[name] = round(h.median([off - on for off, on in pairs]), 3)
        ratio[name] = round(h.median([off / on for off, on in pairs]), 2)
    return {
        "calls_per_repeat": calls,
        "repeats": repeats,
        "ms_cpu_per_call_median": medians,
        "ms_cpu_per_call_repeats": {k: [round(v, 3) for v in vs] for k, vs in per_call.items()},
        "ms_added_without_sniffio_median_of_repeats": added,
        "ratio_without_vs_with_sniffio_median_of_repeats": ratio,
        "failed_sniffio_imports_per_call": searches,
        "sys_path_entries": len(sys.path),
        "failed_import_us": {
            "emulated_sniffio": round(emulated, 2),
            "genuinely_absent_module": round(genuine, 2),
        },
    }


# --- the activity's wrapping ---------------------------------------------------------------

Response = tuple[int, str, dict[str, str], bytes]
OLD_HEARTBEAT_EVERY = 0.5


async def _request() -> Response:
    """A request that takes two event-loop turns."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return (200, "OK", {}, b"")


async def _old_heartbeat(attempt: int) -> None:
    # The previous activity's heartbeat: a task that sleeps, then beats.
    from temporalio import activity

    while True:
        await asyncio.sleep(OLD_HEARTBEAT_EVERY)
        activity.heartbeat({"attempt": attempt, "sent": True})


async def _old_despite_cancel(sending: asyncio.Task[Response]) -> Response:
    # The previous activity's wait for its request: asyncio.shield, again on a cancel.
    while True:
        try:
            return await asyncio.shield(sending)
        except asyncio.CancelledError:
            if sending.done():
                return sending.result()


async def wrapped_previous() -> Response:
    beating = asyncio.create_task(_old_heartbeat(1))
    try:
        return await _old_despite_cancel(asyncio.create_task(_request()))
    finally:
        beating.cancel()


async def wrapped_today() -> Response:
    from interpreter.worker._activity import _despite_cancel, _Heartbeat

    beating = _Heartbeat(1)
    try:
        return await _despite_cancel(_request())
    finally:
        beating.stop()


async def direct() -> Response:
    return await _request()


async def activity_wrapper(calls: int, repeats: int, concurrency: int = 20) -> dict[str, Any]:
    from temporalio.testing import ActivityEnvironment

    contenders: dict[str, Callable[[], Coroutine[Any, Any, Response]]] = {
        "today: timer heartbeat, bare future": wrapped_today,
        "previous: heartbeat task, asyncio.shield": wrapped_previous,
        "direct await": direct,
    }

    async def batch(make: Callable[[], Coroutine[Any, Any, Response]]) -> float:
        began = time.thread_time()
        for _ in range(calls // concurrency):
            await asyncio.gather(*(make() for _ in range(concurrency)))
        return (time.thread_time() - began) / calls * 1e6

    async def all_rounds() -> dict[str, list[float]]:
        us: dict[str, list[float]] = {}
        for make in contenders.values():  # warm up
            await batch(make)
        for _ in range(repeats):
            for name, make in contenders.items():
                us.setdefault(name, []).append(await batch(make))
        return us

    # Inside an activity's context, as in the worker (a heartbeat may fire there).
    us = await ActivityEnvironment().run(all_rounds)
    return {
        "concurrency": concurrency,
        "calls_per_repeat": calls,
        "repeats": repeats,
        "us_cpu_per_call_median": {k: round(h.median(v), 2) for k, v in us.items()},
        "us_cpu_per_call_repeats": {k: [round(x, 2) for x in v] for k, v in us.items()},
    }


# --- the definition's bytes, with preset dictionaries ------------------------------------------


def _canonical(definition: dict[str, Any]) -> bytes:
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _schema_keys() -> list[str]:
    schema = json.loads((h.ROOT / "schemas" / "saga.schema.json").read_text())
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    keys.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return sorted(keys)


def definition_bytes() -> dict[str, Any]:
    from interpreter.contract import COMPACT_DEFINITION, compact_definition

    saga = h.SAGAS_DIR / "trip-5.yaml"
    definition = h.load_definition(saga)
    packed = compact_definition(definition)
    text = _canonical(definition)
    plain = zlib.compress(text, 9)
    assert base64.b64decode(packed[len(COMPACT_DEFINITION) :]) == plain
    others = sorted((h.ROOT / "sagas").glob("*.yaml"))
    others = [p for p in others if not p.name.endswith(".test.yaml")]
    keys = _schema_keys()
    dictionaries = {
        "the saga's own canonical JSON": text,
        "the other example sagas' canonical JSON (" + ", ".join(p.name for p in others) + ")": (
            b"".join(_canonical(h.load_definition(p)) for p in others)
        ),
        f"the language's keys ({len(keys)} property names of the JSON Schema, as JSON keys)": (
            "".join(f'"{key}":' for key in keys).encode()
        ),
    }
    with_dictionary = {}
    for name, zdict in dictionaries.items():
        packer = zlib.compressobj(9, zdict=zdict)
        packed_with = packer.compress(text) + packer.flush()
        unpacker = zlib.decompressobj(zdict=zdict)
        assert unpacker.decompress(packed_with) == text
        with_dictionary[name] = {
            "dictionary_bytes": len(zdict),
            "compressed_bytes": len(packed_with),
            "base64_chars": len(base64.b64encode(packed_with)),
            "saved_bytes": len(plain) - len(packed_with),
        }
    return {
        "saga": "bench/sagas/trip-5.yaml",
        "canonical_json_bytes": len(text),
        "compact_definition_chars": len(packed),
        "plain": {
            "compressed_bytes": len(plain),
            "base64_chars": len(packed) - len(COMPACT_DEFINITION),
        },
        "with_preset_dictionary": with_dictionary,
    }


# --- saga validate: imports and the composer ----------------------------------------------------

GROUPS = (
    "google.protobuf",
    "importlib.metadata",
    "importlib_metadata",
    "interpreter.cli",
    "interpreter",
    "dsl._model",
    "dsl",
)
ALIASES = {"_ruamel_yaml": "ruamel"}  # ruamel.yaml's C parser


def _group(module: str) -> str:
    for group in GROUPS:
        if module == group or module.startswith(group + "."):
            return group
    top = module.split(".", 1)[0]
    if top in sys.stdlib_module_names:
        return "standard library: " + top
    return ALIASES.get(top, top)


def import_times(stderr: str) -> dict[str, float]:
    """Own import time (ms) by package, from `python -X importtime`'s report."""
    groups: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, _cumulative, module = line.removeprefix("import time:").split("|")
        name = _group(module.strip())
        groups[name] = groups.get(name, 0.0) + int(own) / 1000
    return groups


def validate_imports(runs: int) -> dict[str, Any]:
    saga = "sagas/trip-booking.yaml"
    code = (
        "import sys; sys.argv = ['saga', 'validate', " + repr(saga) + "]; "
        "from interpreter.cli import run; run()"
    )
    command = [sys.executable, "-X", "importtime", "-c", code]
    env = h.child_env(bytecode_cache=True)
    subprocess.run(command, capture_output=True, cwd=h.ROOT, env=env, check=True)  # cache
    per_run: list[dict[str, float]] = []
    for _ in range(runs):
        done = subprocess.run(command, capture_output=True, text=True, cwd=h.ROOT, env=env)
        if done.returncode != 0:
            raise SystemExit(f"Error: saga validate exited {done.returncode}: {done.stdout}")
        per_run.append(import_times(done.stderr))
    names = {name for groups in per_run for name in groups}
    medians = {name: h.median([groups.get(name, 0.0) for groups in per_run]) for name in names}
    totals = [sum(groups.values()) for groups in per_run]
    ranked = dict(sorted(medians.items(), key=lambda item: -item[1]))
    stdlib_totals = [
        sum(v for k, v in groups.items() if k.startswith("standard library: "))
        for groups in per_run
    ]
    return {
        "command": f'python -X importtime -c "{code}"',
        "runs": runs,
        "total_import_ms_median": round(h.median(totals), 1),
        "standard_library_ms_median": round(h.median(stdlib_totals), 1),
        "own_import_ms_by_package_median": {k: round(v, 1) for k, v in ranked.items() if v >= 0.5},
        "packages_under_0.5_ms": sorted(k for k, v in ranked.items() if v < 0.5),
    }


def composer_share(files: int) -> dict[str, Any]:
    from bench_validator_vs_checkjsonschema import generated_saga

    from dsl import load_and_check

    rng = random.Random(20240601)  # the validator benchmark's seed: its first files
    with tempfile.TemporaryDirectory(prefix="saga-bench-parts-") as folder:
        paths = []
        for index in range(files):
            path = Path(folder) / f"saga-{index:04d}.yaml"
            path.write_text(generated_saga(rng, f"generated-{index}", rng.randint(2, 30)))
            paths.append(path)
        load_and_check(paths[0])  # imports and model building are not per-file costs
        profile = cProfile.Profile()
        profile.enable()
        for path in paths:
            result = load_and_check(path)
            assert not result.errors, f"{path.name}: {result.errors}"
        profile.disable()
    stats = pstats.Stats(profile)
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    cumulative = {f"{Path(k[0]).name}:{k[2]}": v[3] for k, v in raw.items()}
    total = cumulative["_validate.py:load_and_check"]
    compose = cumulative["_composer.py:compose"]
    # ruamel.yaml builds a Python object for every event (ruamel/yaml/events.py).
    events = sum(v[2] for k, v in raw.items() if Path(k[0]).parts[-2:] == ("yaml", "events.py"))
    return {
        "files": files,
        "event_objects_s_under_cprofile": round(events, 3),
        "event_objects_share_of_compose": round(events / compose, 3),
        "load_and_check_s_under_cprofile": round(total, 3),
        "compose_s_under_cprofile": round(compose, 3),
        "compose_share_of_load_and_check": round(compose / total, 3),
    }


PREVIOUS_COMPOSER = "a4c2f26^"
"""The commit whose `dsl/_composer.py` is the composer before its faster event loop."""


def _previous_composer() -> ModuleType | None:
    """The previous composer, read from the repository's history (None without git)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{PREVIOUS_COMPOSER}:dsl/_composer.py"],
            capture_output=True,
            text=True,
            cwd=h.ROOT,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = ModuleType("previous_composer")
    module.__file__ = f"<{PREVIOUS_COMPOSER}:dsl/_composer.py>"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def composer_ab(files: int, repeats: int) -> dict[str, Any]:
    """Today's composer against the previous one, in turns, over the generated files."""
    from bench_validator_vs_checkjsonschema import generated_saga

    from dsl._composer import compose
    from dsl._loader import DEFAULT_LIMITS

    previous = _previous_composer()
    if previous is None:
        return {"skipped": f"git cannot show {PREVIOUS_COMPOSER}:dsl/_composer.py"}
    rng = random.Random(20240601)
    texts = [generated_saga(rng, f"generated-{i}", rng.randint(2, 30)) for i in range(files)]
    contenders = {"today": compose, "previous": previous.compose}
    for text in texts:  # the same documents and positions, or the comparison is void
        new, old = (c(text, "f.yaml", DEFAULT_LIMITS) for c in contenders.values())
        assert (new.data, new.keys, new.values, new.spans) == (
            old.data,
            old.keys,
            old.values,
            old.spans,
        ), "the composers disagree"
    seconds = _composers_in_turns(contenders, texts, repeats)
    ratios = [t / p for t, p in zip(seconds["today"], seconds["previous"], strict=True)]
    return {
        "files": files,
        "repeats": repeats,
        "previous": f"{PREVIOUS_COMPOSER}:dsl/_composer.py",
        "cpu_s_median": {k: round(h.median(v), 3) for k, v in seconds.items()},
        "cpu_s_repeats": {k: [round(x, 3) for x in v] for k, v in seconds.items()},
        "ratio_today_vs_previous": round(h.median(ratios), 3),
    }


def _composers_in_turns(
    contenders: dict[str, Callable[..., Any]], texts: list[str], repeats: int
) -> dict[str, list[float]]:
    """CPU seconds of each composer over every text, the contenders in turns per repeat."""
    from dsl._loader import DEFAULT_LIMITS

    seconds: dict[str, list[float]] = {}
    for _ in range(repeats):
        for name, composer in contenders.items():
            began = time.process_time()
            for text in texts:
                composer(text, "f.yaml", DEFAULT_LIMITS)
            seconds.setdefault(name, []).append(time.process_time() - began)
    return seconds


def composer_c_nodes(files: int, repeats: int) -> dict[str, Any]:
    """The composer against ruamel's C composer building its node tree alone.

    `CParser.get_single_node()` composes in C, but makes a Python node object (and a
    ruamel `Tag`) for every node and calls three Python hooks per node (`descend_resolver`,
    `resolve`, `ascend_resolver`; given no-op builtins here). If that alone costs about
    what the whole composer costs, a composer on top of it (the node tree turned into data
    with positions, duplicate keys, aliases and limits checked) cannot be faster.
    """
    from bench_validator_vs_checkjsonschema import generated_saga

    from dsl._composer import compose

    try:
        parser_class = importlib.import_module("_ruamel_yaml").CParser
    except ImportError:
        return {"skipped": "ruamel.yaml.clib is not installed"}

    class NodeParser(parser_class):  # type: ignore[misc, valid-type]
        resolve = staticmethod(slice)  # any three arguments, answered in C
        descend_resolver = staticmethod(slice)
        ascend_resolver = staticmethod(tuple)

    def nodes_only(text: str, path: str, limits: Any) -> Any:
        return NodeParser(text).get_single_node()

    rng = random.Random(20240601)
    texts = [generated_saga(rng, f"generated-{i}", rng.randint(2, 30)) for i in range(files)]
    contenders = {"composer": compose, "c_node_tree_alone": nodes_only}
    seconds = _composers_in_turns(contenders, texts, repeats)
    ratios = [c / t for c, t in zip(seconds["c_node_tree_alone"], seconds["composer"], strict=True)]
    return {
        "files": files,
        "repeats": repeats,
        "cpu_s_median": {k: round(h.median(v), 3) for k, v in seconds.items()},
        "cpu_s_repeats": {k: [round(x, 3) for x in v] for k, v in seconds.items()},
        "ratio_c_node_tree_vs_composer": round(h.median(ratios), 3),
    }


def validate_parallel(counts: list[int], repeats: int) -> dict[str, Any]:
    """A cold `saga validate` of N generated files in one process and in forked ones.

    Both run the command as installed, with its number of processes set first: 1, or as
    many as CPUs whatever the count and the load average, to show when forking pays.
    Wall seconds, the two in turns, medians; the ratio is the median of each round's
    forked / one-process ratio. The load average is recorded before each count."""
    from bench_validator_vs_checkjsonschema import generated_saga

    from interpreter.cli._parallel import PARALLEL_FROM

    code = (
        "import sys; from interpreter.cli import _parallel, run; jobs = int(sys.argv[1]); "
        "_parallel.parallel_jobs = lambda files: jobs; "
        "sys.argv = ['saga', *sys.argv[2:]]; run()"
    )
    env = h.child_env(bytecode_cache=True)
    rng = random.Random(20240601)
    texts = [generated_saga(rng, f"generated-{i}", rng.randint(2, 30)) for i in range(max(counts))]
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="saga-bench-parallel-") as folder:
        paths = []
        for index, text in enumerate(texts):
            path = Path(folder) / f"saga-{index:04d}.yaml"
            path.write_text(text)
            paths.append(str(path))
        for count in counts:
            # As many processes as CPUs, whatever the count and the load.
            threshold = {"one_process": 1, "forked": len(os.sched_getaffinity(0))}
            seconds: dict[str, list[float]] = {name: [] for name in threshold}
            for limit in threshold.values():  # bytecode cached, then timed in turns
                command = [sys.executable, "-c", code, str(limit), "validate", *paths[:count]]
                subprocess.run(command, capture_output=True, cwd=h.ROOT, env=env, check=True)
            for _ in range(repeats):
                for name, limit in threshold.items():
                    command = [sys.executable, "-c", code, str(limit), "validate", *paths[:count]]
                    began = time.perf_counter()
                    subprocess.run(command, capture_output=True, cwd=h.ROOT, env=env, check=True)
                    seconds[name].append(time.perf_counter() - began)
            pairs = zip(seconds["forked"], seconds["one_process"], strict=True)
            load = os.getloadavg()[0]
            rows[str(count)] = {
                "forked_processes": min(len(os.sched_getaffinity(0)), count),
                "forked_by_default_when_idle": count >= 2 * PARALLEL_FROM,
                "load_average_1min_after": round(load, 2),
                "wall_s_median": {k: round(h.median(v), 3) for k, v in seconds.items()},
                "wall_s_runs": {k: [round(x, 3) for x in v] for k, v in seconds.items()},
                "ratio_forked_vs_one_process": round(h.median([f / o for f, o in pairs]), 3),
            }
    return {"cpus": len(os.sched_getaffinity(0)), "repeats": repeats, "by_files": rows}


# --- main ----------------------------------------------------------------------------------

PARTS = (
    "activity_cpu",
    "activity_wrapper",
    "definition_bytes",
    "validate_imports",
    "composer_share",
    "composer_ab",
    "composer_c_nodes",
    "validate_parallel",
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Single parts of the runtime, measured alone.")
    parser.add_argument("--calls", type=int, default=1000, help="activity calls per repeat")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--wrapper-calls", type=int, default=20000)
    parser.add_argument("--import-runs", type=int, default=15)
    parser.add_argument("--files", type=int, default=300, help="files for the composer's share")
    parser.add_argument(
        "--parallel-files",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[128, 256, 400, 1000],
        help="file counts for validate_parallel",
    )
    parser.add_argument("--parallel-repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument(
        "--only", help=f"comma-separated parts to measure (default: all of {', '.join(PARTS)})"
    )
    parser.add_argument("--out", type=Path, default=h.RESULTS_DIR / "parts.json")
    args = parser.parse_args(argv)
    args.parts = args.only.split(",") if args.only else list(PARTS)
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part {unknown[0]!r}: choose from {', '.join(PARTS)}")
    if args.quick:
        args.calls, args.repeats, args.wrapper_calls = 20, 1, 200
        args.import_runs, args.files = 1, 5
        args.parallel_files, args.parallel_repeats = [3], 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    figures: dict[str, Any] = {}
    runs: dict[str, Callable[[], Any]] = {
        "activity_cpu": lambda: asyncio.run(activity_cpu(args.calls, args.repeats)),
        "activity_wrapper": lambda: asyncio.run(activity_wrapper(args.wrapper_calls, args.repeats)),
        "definition_bytes": definition_bytes,
        "validate_imports": lambda: validate_imports(args.import_runs),
        "composer_share": lambda: composer_share(args.files),
        "composer_ab": lambda: composer_ab(args.files, args.repeats),
        "composer_c_nodes": lambda: composer_c_nodes(args.files, args.repeats),
        "validate_parallel": lambda: validate_parallel(args.parallel_files, args.parallel_repeats),
    }
    shown = {
        "activity_cpu": lambda f: f["ms_cpu_per_call_median"],
        "activity_wrapper": lambda f: f["us_cpu_per_call_median"],
    }
    for part in args.parts:
        figures[part] = runs[part]()
        print(part, json.dumps(shown.get(part, lambda f: f)(figures[part])))
    h.write_results(args.out, h.command_line(), figures)


if __name__ == "__main__":
    main()
