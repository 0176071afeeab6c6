"""`saga codec-server`: decode payloads for the Temporal Web UI (interpreter.ops.codec_server)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from interpreter.exit_codes import ExitCode

__all__ = ["register"]

DESCRIPTION = """\
Serve Temporal's codec endpoints (POST /encode, POST /decode) with the payload encryption
keys, so the Temporal Web UI (Settings > Codec Server) shows sagas' inputs, outputs and
reports decrypted to whoever can reach this server. Browsers may call it only from
--ui-origin."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "codec-server",
        help="decode encrypted payloads for the Temporal Web UI",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    parser.add_argument("--port", type=int, default=8081, help="default: %(default)s")
    parser.add_argument(
        "--ui-origin",
        metavar="URL",
        default="http://localhost:8233",
        help="the Web UI's origin, the only one browsers may call from (default: %(default)s)",
    )
    parser.add_argument(
        "--encryption-key-file",
        metavar="FILE",
        help="the key file (default: env SAGA_ENCRYPTION_KEY_FILE)",
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import os

    from interpreter.ops.codec import KEY_FILE_ENV, EncryptionCodec, KeyFileError, load_key_ring
    from interpreter.ops.codec_server import CodecServer

    path = args.encryption_key_file or os.environ.get(KEY_FILE_ENV)
    if not path:
        print(f"Error: no keys: give --encryption-key-file or set {KEY_FILE_ENV}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        codec = EncryptionCodec(load_key_ring(path))
        server = CodecServer(
            codec, host=args.host, port=args.port, allow_origin=args.ui_origin.rstrip("/")
        )
    except KeyFileError as err:
        print(f"Error: {err.message}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        print(f"Error: cannot listen on {args.host}:{args.port}: {err.strerror}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"Codec server on {server.url} for {args.ui_origin}. Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()
    return ExitCode.OK
