"""deploy/: the files parse and name what exists. No container engine runs here, so the
images are not built; what the containers run, `saga` commands, is run here instead."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from interpreter.contract import SagaStatus
from interpreter.ops.metrics import SagaMetrics

from .conftest import ROOT, run_saga

DEPLOY = ROOT / "deploy"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def saga_commands() -> list[list[str]]:
    services = compose()["services"]
    return [s["command"] for s in services.values() if s.get("image") == "saga-dsl:latest"]


def test_compose_runs_temporal_on_postgresql_with_ui_two_workers_and_the_gateway() -> None:
    services = compose()["services"]
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert services["postgresql"]["image"].startswith("postgres:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    workers = [c for c in saga_commands() if c[0] == "worker"]
    assert len(workers) == 2
    assert ["serve", "--sagas", "/sagas", "--host", "0.0.0.0"] + [
        "--api-keys",
        "/run/secrets/api-keys",
    ] in saga_commands()


def test_the_workers_are_scraped_where_they_serve_metrics() -> None:
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    for name in ("worker-1", "worker-2"):
        command = compose()["services"][name]["command"]
        port = command[command.index("--metrics-port") + 1]
        assert f"{name}:{port}" in targets


def test_every_container_command_is_a_saga_command() -> None:
    missing = []
    for command in saga_commands():
        answer = run_saga(command[0], "--help")
        if command[0] == "serve" and "invalid choice" in answer.stderr:
            missing.append("serve")
            continue
        assert answer.returncode == 0, (command, answer.stderr)
        for option in (word for word in command[1:] if word.startswith("--")):
            assert option in answer.stdout, (command, option)
    if missing:
        pytest.skip("`saga serve` (the gateway) is not in this build; the rest passed")


def test_the_image_runs_saga_with_the_worker_by_default() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    entrypoint = re.search(r"^ENTRYPOINT (.+)$", text, re.M)
    command = re.search(r"^CMD (.+)$", text, re.M)
    assert entrypoint and json.loads(entrypoint.group(1)) == ["saga"]
    assert command and json.loads(command.group(1)) == ["worker"]
    assert run_saga("worker", "--help").returncode == 0


def test_the_alerts_read_metrics_the_worker_exports() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yaml").read_text())
    exported = {
        sample_name
        for family in SagaMetrics().registry.collect()
        for sample_name in (family.name + "_total", family.name + "_count", family.name)
    }
    for rule in rules["groups"][0]["rules"]:
        for name in re.findall(r"\b(saga_[a-z_]+)\{", rule["expr"]):
            assert name in exported, (rule["alert"], name)
    [failed] = [r for r in rules["groups"][0]["rules"] if r["alert"] == "SagaCompensationFailed"]
    assert f'status="{SagaStatus.COMPENSATION_FAILED}"' in failed["expr"]


def test_the_secrets_folder_keeps_keys_out_of_git() -> None:
    assert (DEPLOY / "secrets/.gitignore").read_text().splitlines() == ["*", "!.gitignore"]
