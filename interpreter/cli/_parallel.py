"""`saga validate` over many files: the files checked in several processes at once.

Checking a file is pure CPU, and each file is checked on its own, so with many files
and more than one CPU the files are shared out between forked processes. The parent
checks the first file itself before it forks, so every process starts with the
language's modules imported and its models built. The processes send back each file's
diagnostics; the parent keeps them in the files' order, so the output is exactly that of
checking the files one after another.

Only on Linux, only from a process that runs a single thread (forking a process with
other threads running can leave a lock held forever in the child), and only onto CPUs
that the load average says are idle.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsl import Diagnostic

__all__ = [
    "PARALLEL_FROM",
    "Checked",
    "check_files",
    "parallel_jobs",
    "pause_collection",
    "started_up",
]

PARALLEL_FROM = 200
"""Files per process. Fewer do not pay for a process: each process has its own caches of
compiled expressions (files of one project share many), so each pays again for what a
single process would compile once (docs/PERFORMANCE.md, section 3, has the figures)."""

Checked = tuple[str, list["Diagnostic"]]
"""A file as named in its diagnostics, and its diagnostics."""


def parallel_jobs(files: int, load: float | None = None) -> int:
    """How many processes should check `files` files: 1 (this one) unless forking pays.

    It pays only on idle CPUs: with the others busy, forked processes were measured
    slower than one process. So no more processes than CPUs left idle by the load
    average of the last minute (`load`, read from the system when not given), plus
    this one.
    """
    if files < 2 * PARALLEL_FROM or sys.platform != "linux" or not _single_threaded():
        return 1
    cpus = len(os.sched_getaffinity(0))
    idle = cpus - (os.getloadavg()[0] if load is None else load)
    return max(1, min(cpus, files // PARALLEL_FROM, 1 + int(idle)))


def _single_threaded() -> bool:
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def check_files(files: list[Path], jobs: int) -> list[Checked]:
    """Each file's diagnostics, in the order of `files`, checked by `jobs` processes."""
    if not files:
        return []
    first = _check(files[0])  # imports, models and the CEL runtime, before any fork
    started_up()
    rest = files[1:]
    if jobs <= 1 or not rest:
        return [first, *(_check(path) for path in rest)]
    import multiprocessing

    chunk = max(1, len(rest) // (jobs * 8))
    with multiprocessing.get_context("fork").Pool(jobs, initializer=_child) as pool:
        return [first, *pool.map(_check, rest, chunksize=chunk)]


_collection_paused = False


def pause_collection() -> None:
    """No cyclic garbage collection until the first file is checked.

    Starting up makes tens of thousands of objects that live as long as the process
    (modules, pydantic's models and validators, the CEL runtime), and the collector
    would walk them again and again while they are made. The collector is back once
    the first file is checked.
    """
    global _collection_paused
    if gc.isenabled():
        gc.disable()
        _collection_paused = True


def started_up() -> None:
    """The first file is checked: the collector is back if `pause_collection` paused it.

    What starting up made lives on, so it is frozen first: later collections need not
    walk it again, and forked processes leave its pages shared. (Only in a process that
    paused the collector, a `saga` command: a program that calls the command line in
    its own process keeps its collector as it was.)"""
    global _collection_paused
    if _collection_paused:
        gc.freeze()
        gc.enable()
        _collection_paused = False


def _check(path: Path) -> Checked:
    from dsl import load_and_check

    result = load_and_check(path)
    return result.path, result.diagnostics


def _child() -> None:
    import signal

    # Ctrl-C reaches every process of the terminal's group: the parent alone answers it
    # (it stops the children and prints "Interrupted."), so a child prints no traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
