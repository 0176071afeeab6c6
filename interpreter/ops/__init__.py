"""Operations: what lets a team watch, trace, secure and deploy the runtime.

Cross-cutting by nature, so in a package of its own: the worker and the client carry
only small hooks into it (an interceptor and two activity callbacks; a data converter
and client interceptors), and nothing here is imported by `saga validate`.

    metrics.py       Prometheus registry of a worker; the SDK's metrics bridged beside it
    tracing.py       OpenTelemetry from OTEL_*: a trace per saga, a span per HTTP attempt
    instrument.py    the worker interceptor feeding both, replay-safe
    codec.py         AES-256-GCM payload codec with key rotation (SAGA_ENCRYPTION_KEY_FILE)
    codec_server.py  the codec endpoints the Temporal Web UI calls (`saga codec-server`)
    failures.py      the failure converter: a saga's outcome without a stack trace
    logs.py          `--log-format json`: saga id, step and attempt on every line

Exceptions (both are the client's CommandError, so the CLI prints `Error: ...`)::

    KeyFileError      the key file is unreadable or malformed (exit 2)
    PayloadKeyError   an encrypted payload without its key, or altered (exit 1)
"""
