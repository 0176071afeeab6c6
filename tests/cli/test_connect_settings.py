"""Connection settings as Temporal's tools read them, flags over them, and exit code 5."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.client import Client

from interpreter.cli import main
from interpreter.client._connection import (
    CannotReachTemporal,
    ConfigurationError,
    connect,
    has_saga_search_attributes,
    load_settings,
)
from interpreter.dev.devserver import DevServer, free_port

from .conftest import LoopThread, Trip

CONFIG = """
[profile.default]
address = "config-host:7233"
namespace = "from-config"

[profile.cloud]
address = "my-ns.a1b2c.tmprl.cloud:7233"
namespace = "my-ns.a1b2c"
api_key = "secret-key"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(path))
    return path


def test_nothing_configured_means_the_default_address_unconfigured() -> None:
    settings = load_settings()

    assert (settings.address, settings.namespace) == ("localhost:7233", "default")
    assert settings.configured is False


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "payments")

    settings = load_settings()

    assert (settings.address, settings.namespace) == ("temporal.internal:7233", "payments")
    assert settings.configured is True


def test_flags_win_over_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "payments")

    settings = load_settings(address="other:7233", namespace="orders")

    assert (settings.address, settings.namespace) == ("other:7233", "orders")


def test_the_config_file_default_profile_is_read(config_file: Path) -> None:
    settings = load_settings()

    assert (settings.address, settings.namespace) == ("config-host:7233", "from-config")
    assert settings.configured is True


def test_a_profile_with_an_api_key_turns_tls_on(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_flag = load_settings(profile="cloud")
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    by_env = load_settings()

    for settings in (by_flag, by_env):
        assert settings.address == "my-ns.a1b2c.tmprl.cloud:7233"
        assert (settings.api_key, settings.tls) == ("secret-key", True)


def test_api_key_flag_turns_tls_on_unless_told_not_to() -> None:
    assert load_settings(address="h:1", api_key="k").tls is True
    assert load_settings(address="h:1", api_key="k", tls=False).tls is False


def test_an_unknown_profile_is_a_usage_error(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(profile="nope")
    assert caught.value.exit_code == 2

    assert main(["list", "--profile", "nope"]) == 2
    assert capsys.readouterr().err.startswith("Error: cannot load Temporal client configuration")


def test_the_default_address_can_be_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGA_DEFAULT_ADDRESS", "127.0.0.1:17233")

    settings = load_settings()

    assert (settings.address, settings.configured) == ("127.0.0.1:17233", False)


async def test_connect_to_a_closed_port_raises_cannot_reach() -> None:
    address = f"127.0.0.1:{free_port()}"

    with pytest.raises(CannotReachTemporal) as caught:
        await connect(load_settings(address=address))

    assert caught.value.exit_code == 5
    assert str(caught.value) == f"cannot reach Temporal at {address}: connection refused"


@pytest.mark.parametrize("command", [["status", "some-id"], ["list"], ["cancel", "x"]])
def test_commands_exit_5_when_temporal_is_unreachable(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"127.0.0.1:{free_port()}"

    code = main([*command, "--address", address])

    err = capsys.readouterr().err
    assert code == 5
    assert err == f"Error: cannot reach Temporal at {address}: connection refused\n"


def test_the_installed_script_exits_5_without_a_traceback(
    trip: Trip, saga_process: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    address = f"127.0.0.1:{free_port()}"

    done = saga_process("run", str(trip.path), "--input", trip.input, "--address", address)

    assert done.returncode == 5
    # The test saga's compensations give up on purpose: their warning comes first.
    last = done.stderr.splitlines()[-1]
    assert last == f"Error: cannot reach Temporal at {address}: connection refused"
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_search_attributes_are_found_on_the_dev_server(
    dev_server: DevServer, loop_thread: LoopThread
) -> None:
    async def check(namespace: str) -> bool:
        client = await Client.connect(dev_server.address, namespace=namespace)
        return await has_saga_search_attributes(client)

    assert loop_thread.run(check("default")) is True
    assert loop_thread.run(check("no-such-namespace")) is False


def test_the_installed_script_exits_with_the_command_code_every_time(
    dev_server: DevServer, saga_process: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    # The Temporal client's native threads used to abort the interpreter's teardown now
    # and then (SIGABRT instead of the exit code): a few runs make that visible.
    codes = [saga_process("list", "--address", dev_server.address).returncode for _ in range(5)]

    assert codes == [0] * 5
