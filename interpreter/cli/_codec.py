"""`saga codec-server`: decode payloads for the Temporal Web UI (interpreter.ops.codec_server)."""

from __future__ import annotations

import os

import click

from interpreter.exit_codes import ExitCode

__all__ = ["COMMANDS"]

DESCRIPTION = """\
Serve Temporal's codec endpoints (POST /encode, POST /decode) with the payload encryption
keys, so the Temporal Web UI (Settings > Codec Server) shows sagas' inputs, outputs and
reports decrypted to whoever can reach this server. Browsers may call it only from
--ui-origin."""


@click.command(
    "codec-server",
    short_help="decode encrypted payloads for the Temporal Web UI",
    help=DESCRIPTION,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--host", default="127.0.0.1", show_default=True, help="the address to bind")
@click.option("--port", type=click.IntRange(0, 65535), default=8081, show_default=True)
@click.option(
    "--ui-origin", metavar="URL", default="http://localhost:8233", show_default=True,
    help="the Web UI's origin, the only one browsers may call from",
)  # fmt: skip
@click.option(
    "--encryption-key-file", metavar="FILE",
    help="the key file (default: env SAGA_ENCRYPTION_KEY_FILE)",
)  # fmt: skip
def codec_server_command(
    host: str, port: int, ui_origin: str, encryption_key_file: str | None
) -> int:
    from interpreter.ops.codec import KEY_FILE_ENV, EncryptionCodec, KeyFileError, load_key_ring
    from interpreter.ops.codec_server import CodecServer

    path = encryption_key_file or os.environ.get(KEY_FILE_ENV)
    if not path:
        click.echo(f"Error: no keys: give --encryption-key-file or set {KEY_FILE_ENV}", err=True)
        return ExitCode.USAGE
    try:
        codec = EncryptionCodec(load_key_ring(path))
        server = CodecServer(codec, host=host, port=port, allow_origin=ui_origin.rstrip("/"))
    except KeyFileError as err:
        click.echo(f"Error: {err.message}", err=True)
        return err.exit_code
    except OSError as err:
        click.echo(f"Error: cannot listen on {host}:{port}: {err.strerror}", err=True)
        return ExitCode.USAGE
    click.echo(f"Codec server on {server.url} for {ui_origin}. Ctrl-C to stop.")
    server.serve_forever()  # until Ctrl-C or SIGTERM (uvicorn stops gracefully on either)
    server.stop()
    return ExitCode.OK


COMMANDS = [codec_server_command]
