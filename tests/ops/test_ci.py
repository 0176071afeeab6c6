"""The pre-commit hook and the GitHub Action run `saga validate` as documented."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import BIN, ROOT

BAD = "version: 1\nname: Bad\nsteps: []\n"


def saga_repo(tmp_path: Path) -> Path:
    """A git repository with one valid and one invalid saga (and an input file)."""
    repo = tmp_path / "repo"
    (repo / "sagas").mkdir(parents=True)
    shutil.copy(ROOT / "sagas/trip-booking.yaml", repo / "sagas/trip-booking.yaml")
    shutil.copy(ROOT / "sagas/trip-booking.input.json", repo / "sagas/trip-booking.input.json")
    (repo / "sagas/bad.yaml").write_text(BAD)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "sagas"], check=True)
    return repo


def test_the_hook_manifest_declares_saga_validate() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "saga-validate"
    assert hook["entry"] == "saga validate" and hook["language"] == "python"


@pytest.mark.timeout(900)
def test_pre_commit_try_repo_reports_the_invalid_saga_only(tmp_path: Path) -> None:
    """Installs this repository's committed HEAD into a fresh virtualenv (pip reaches the
    package index for the dependencies; nothing else is downloaded)."""
    repo = saga_repo(tmp_path)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    result = subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(ROOT), "saga-validate", "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=880,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sagas/bad.yaml:2:7: error: invalid saga name 'Bad'" in result.stdout
    assert "trip-booking" not in result.stdout.split("Failed", 1)[1]  # valid, and the
    assert "Traceback" not in result.stdout  # input file is never passed as a saga


def action_script() -> tuple[str, dict[str, str]]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    [validate] = [s for s in action["runs"]["steps"] if s.get("name") == "saga validate"]
    defaults = {name: spec["default"] for name, spec in action["inputs"].items()}
    env = {
        key: value.replace("${{ inputs.paths }}", defaults["paths"]).replace(
            "${{ inputs.strict }}", defaults["strict"]
        )
        for key, value in validate["env"].items()
    }
    return validate["run"], env


def run_action(repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script, defaults = action_script()
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path, **defaults, **env},
        timeout=120,
    )


def test_the_action_annotates_each_problem_in_github_format(tmp_path: Path) -> None:
    result = run_action(saga_repo(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("::error file=sagas/bad.yaml,line=2,col=7::")


def test_the_action_passes_on_valid_sagas(tmp_path: Path) -> None:
    repo = saga_repo(tmp_path)
    (repo / "sagas/bad.yaml").unlink()
    result = run_action(repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_action_takes_several_paths_and_strict(tmp_path: Path) -> None:
    repo = saga_repo(tmp_path)
    result = run_action(
        repo, SAGA_PATHS="sagas/trip-booking.yaml sagas/bad.yaml", SAGA_STRICT="true"
    )
    assert result.returncode == 1 and "sagas/bad.yaml" in result.stdout
