"""Each benchmark runs end to end at its tiny `--quick` size and writes its figures.

Only that: timings on a shared CI machine prove nothing, so none is asserted. The
figures themselves come from full runs (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_quick(script: str, out: Path, *options: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--out", str(out), *options],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=BENCH.parent,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures: dict[str, Any] = json.loads(out.read_text())
    assert figures["command"].startswith(f"python bench/{script} --quick")
    assert figures["machine"]["nproc"] >= 1
    return figures


@pytest.mark.timeout(300)
def test_overhead_benchmark_writes_ratios_and_history_counts(tmp_path: Path) -> None:
    figures = run_quick("bench_overhead.py", tmp_path / "overhead.json")
    ratios = figures["ratios_vs_handwritten"]["dsl"]
    assert ratios["throughput_sagas_per_s"] > 0
    assert figures["medians"]["dsl"]["events_compensation"] > 0
    assert set(figures["targets"]) == {
        "worker_cpu_at_most_1.0x",
        "history_bytes_at_most_1.3x",
        "events_at_most_handwritten_plus_1",
        "throughput_at_least_1.0x",
        "compensation_throughput_at_least_0.95x",
    }
    breakdown = figures["rounds"][0]["dsl"]["compensation"]["history_breakdown"]
    assert breakdown["event_bytes_by_type"]["workflow_execution_failed"] > 0


@pytest.mark.timeout(300)
def test_scale_benchmark_writes_limits_and_peak_memory(tmp_path: Path) -> None:
    figures = run_quick("bench_scale.py", tmp_path / "scale.json")
    assert figures["sequence"]["completed"]["outcomes"] == ["COMPLETED"]
    assert figures["sequence"]["compensated"]["outcome"].startswith("failed: SagaCompensated")
    assert figures["concurrent"]["dsl"]["worker_peak_rss_mib"] > 0
    assert figures["limits"]["completed"]["steps_to_events_error"] > 0


@pytest.mark.timeout(300)
def test_validator_benchmark_writes_ratios_and_cold_start(tmp_path: Path) -> None:
    figures = run_quick("bench_validator_vs_checkjsonschema.py", tmp_path / "validator.json")
    assert figures["corpus"]["ratio_saga_vs_check_jsonschema"] > 0
    assert figures["corpus"]["ratio_median_of_rounds"] > 0
    assert figures["cold_start"]["saga_validate_s"] > 0
    assert "cold_start_under_0.3s" in figures["targets"]


@pytest.mark.timeout(300)
def test_parts_benchmark_writes_each_part(tmp_path: Path) -> None:
    figures = run_quick("bench_parts.py", tmp_path / "parts.json")
    activity = figures["activity_cpu"]
    assert set(activity["ms_cpu_per_call_median"]) == {
        "dsl, sniffio importable",
        "dsl, sniffio unimportable",
        "handwritten, sniffio importable",
        "handwritten, sniffio unimportable",
    }
    # The emulation must make httpcore fail `import sniffio` on every request.
    assert activity["failed_sniffio_imports_per_call"]["dsl"] >= 1
    assert activity["failed_sniffio_imports_per_call"]["handwritten"] >= 1
    assert len(figures["activity_wrapper"]["us_cpu_per_call_median"]) == 3
    definition = figures["definition_bytes"]
    assert definition["compact_definition_chars"] > definition["plain"]["base64_chars"] > 0
    assert len(definition["with_preset_dictionary"]) == 3
    imports = figures["validate_imports"]["own_import_ms_by_package_median"]
    assert "pydantic" in imports and "dsl" in imports
    assert 0 < figures["composer_share"]["compose_share_of_load_and_check"] < 1
    ab = figures["composer_ab"]
    assert "skipped" in ab or ab["ratio_today_vs_previous"] > 0
    nodes = figures["composer_c_nodes"]
    assert "skipped" in nodes or nodes["ratio_c_node_tree_vs_composer"] > 0
    assert figures["validate_parallel"]["by_files"]["3"]["ratio_forked_vs_one_process"] > 0


@pytest.mark.timeout(300)
def test_parts_benchmark_measures_only_the_parts_asked_for(tmp_path: Path) -> None:
    figures = run_quick("bench_parts.py", tmp_path / "parts.json", "--only", "composer_c_nodes")
    assert set(figures) - {"command", "machine"} == {"composer_c_nodes"}


@pytest.mark.timeout(300)
def test_payloads_benchmark_writes_read_costs_and_argument_sizes(tmp_path: Path) -> None:
    figures = run_quick("bench_payloads.py", tmp_path / "payloads.json")
    assert len(figures["read_us"]["us_cpu_per_payload_median"]) == 6
    sizes = figures["argument_bytes"]
    assert sizes["calls"] == 5 and sizes["short_form_bytes"] < sizes["compact_form_bytes"]
