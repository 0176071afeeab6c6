"""`saga validate` over many files checks them in several processes when that pays: the
output, the summary and the exit code are exactly those of checking them one by one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from interpreter.cli import _parallel, main
from interpreter.cli._parallel import PARALLEL_FROM, check_files, parallel_jobs

SAGA_BIN = str(Path(sys.executable).parent / "saga")
VALID = (
    "version: 1\nname: v{i}\nsteps:\n  - name: a\n    action: {{url: 'http://y', method: GET}}\n"
)
WARNS = "version: 1\nname: w\nsteps:\n  - name: a\n    action: {url: 'http://x', method: POST}\n"
BROKEN = "version: 1\nname: b\nsteps:\n  - name: a\n    action: {url: 'http://x', methd: GET}\n"
SYNTAX = "version: 1\nname: [unclosed\n"
TWO_CPUS = sys.platform == "linux" and len(os.sched_getaffinity(0)) >= 2


def _corpus(folder: Path, count: int) -> list[Path]:
    texts = [VALID, WARNS, BROKEN, SYNTAX]
    paths = []
    for i in range(count):
        path = folder / f"s{i:04d}.yaml"
        path.write_text(VALID.format(i=i) if i % 4 == 0 else texts[i % 4])
        paths.append(path)
    return paths


def test_few_files_are_checked_in_this_process() -> None:
    assert parallel_jobs(1) == 1
    assert parallel_jobs(2 * PARALLEL_FROM - 1) == 1


@pytest.mark.skipif(not TWO_CPUS, reason="needs Linux and two CPUs")
def test_many_files_are_shared_out_onto_idle_cpus_by_a_single_threaded_process() -> None:
    cpus = len(os.sched_getaffinity(0))
    code = (
        "from interpreter.cli._parallel import parallel_jobs as j; "
        f"print(j(100000, 0.0), j(100000, {cpus - 1}.5), j(100000, {cpus}.0), j(100, 0.0))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == [str(cpus), "1", "1", "1"]
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert parallel_jobs(100000, 0.0) == 1  # forking beside another thread is unsafe
    finally:
        stop.set()
        thread.join()


@pytest.mark.skipif(not TWO_CPUS, reason="needs Linux and two CPUs")
def test_processes_give_every_file_its_diagnostics_in_order(tmp_path: Path) -> None:
    # In a child process of its own: this test process may run other threads.
    files = _corpus(tmp_path, 40)
    code = (
        "import sys, json; from pathlib import Path;"
        "from interpreter.cli._parallel import check_files;"
        "files = [Path(p) for p in sys.argv[2:]];"
        "print(json.dumps([[p, [str(d) for d in ds]] for p, ds in"
        " check_files(files, int(sys.argv[1]))]))"
    )
    args = [sys.executable, "-c", code, "2", *map(str, files)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    serial = [[path, [str(d) for d in found]] for path, found in check_files(files, 1)]
    assert json.loads(done.stdout) == serial
    assert [path for path, _ in serial] == [str(f) for f in files]
    assert sum(bool(found) for _, found in serial) == 30  # warnings, errors, syntax errors


@pytest.mark.skipif(not TWO_CPUS, reason="needs Linux and two CPUs")
@pytest.mark.parametrize(
    "options", [[], ["-v"], ["--format", "json"], ["--format=github", "--strict"]]
)
def test_the_command_prints_what_one_process_prints(
    options: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _corpus(tmp_path, 2 * PARALLEL_FROM)
    folder = str(tmp_path)
    done = subprocess.run([SAGA_BIN, "validate", *options, folder], capture_output=True, text=True)
    # The command forks when the load average leaves a CPU idle: both ways print the same.
    monkeypatch.setattr(_parallel, "parallel_jobs", lambda files: 1)
    code = main(["validate", *options, folder])
    out, err = capsys.readouterr()
    assert (done.returncode, done.stdout, done.stderr) == (code, out, err)
    assert code == 1 and out.count("\n") >= 3 * PARALLEL_FROM // 2


_COLLECTION = """
import gc, sys
from pathlib import Path
from interpreter.cli._parallel import check_files, pause_collection
if sys.argv[1] == "user-disabled":
    gc.disable()
pause_collection()
during = gc.isenabled()
found = check_files([Path(sys.argv[2])], 1)
print(during, gc.isenabled(), len(found), gc.get_freeze_count() > 10000)
"""


def test_collection_pauses_until_the_first_file_is_checked(tmp_path: Path) -> None:
    path = str(_corpus(tmp_path, 1)[0])
    # A paused collector comes back, with start-up's objects frozen; one the user turned
    # off stays off, and nothing is frozen.
    cases = [("as-is", "False True 1 True"), ("user-disabled", "False False 1 False")]
    for case, expected in cases:
        args = [sys.executable, "-c", _COLLECTION, case, path]
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        assert done.stdout.split() == expected.split(), case
