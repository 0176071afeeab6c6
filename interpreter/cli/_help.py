"""The help texts of the runtime subcommands: (summary, description, epilog with examples).

Kept apart from the argument definitions so both stay readable.
"""

from __future__ import annotations

__all__ = ["TEXTS"]

_EXIT_CODES = """\
exit codes:
  0  COMPLETED        1  invalid file or input, or request refused
  2  usage error      3  COMPENSATED      4  COMPENSATION_FAILED or INCOMPLETE
  5  cannot reach Temporal"""

TEXTS: dict[str, tuple[str, str, str]] = {
    "run": (
        "validate a saga file, start it, follow its progress, print the report",
        "Validate FILE and the input, start the saga, show each step's progress as it "
        "happens (on stderr) and print the final report (on stdout).\n\n"
        "With no Temporal address configured (TEMPORAL_ADDRESS, --address, a config "
        "profile) and no server on localhost:7233, an embedded Temporal dev server and a "
        "worker are started for this run only, and stop with it.",
        f"""examples:
  saga run sagas/trip-booking.yaml --input @sagas/trip-booking.input.json
  saga run order.yaml --input '{{"order_id": "o-42"}}' --id order-o-42
  saga run order.yaml --input @order.json --no-wait     # print the id, return at once
  saga run order.yaml --input @order.json --json | jq .status

An id names one transaction (the default idempotency keys derive from it): an id
that Temporal still keeps a run of is refused with exit 1, whether that run is
running or ended. An ended run is kept for the namespace's retention period.

Without --input, a saga whose `input` schema requires something is refused with
one line naming what is missing (exit 1).

{_EXIT_CODES}""",
    ),
    "status": (
        "show one saga's report: its status and every step's",
        "Print a saga's report: status, why it did not complete, and per step its "
        "status, attempts, timings and last error. Works while the saga runs and after "
        "it ended (a worker answers the query; without one, the end state comes from "
        "Temporal's record of the run).",
        """examples:
  saga status trip-booking-1f2e3d4c
  saga status trip-booking-1f2e3d4c --json

exit codes: 0 the report was printed; 1 no such saga; 5 cannot reach Temporal""",
    ),
    "result": (
        "wait for a saga to end and print its output",
        "Wait until the saga ends. On COMPLETED print its output (JSON) on stdout; "
        "otherwise say how it ended on stderr. The exit code tells the end state.",
        f"""examples:
  saga result trip-booking-1f2e3d4c
  id=$(saga run order.yaml --input @o.json --no-wait) && saga result "$id" > out.json

{_EXIT_CODES}""",
    ),
    "cancel": (
        "cancel a running saga: its completed steps are compensated",
        "Ask a running saga to stop: steps in flight are cancelled, then every step that "
        "took effect is compensated, and the saga ends COMPENSATED with reason 'cancel'.",
        """examples:
  saga cancel trip-booking-1f2e3d4c
  saga cancel trip-booking-1f2e3d4c --wait      # follow the compensation to its end

exit codes: 0 cancel requested (with --wait: as `saga run`); 1 no such running saga""",
    ),
    "list": (
        "list recent saga runs",
        "List the most recent saga runs, newest first: id, saga name, status, start and "
        "end time. Statuses come from Temporal's visibility store (search attributes "
        "SagaName and SagaStatus when the namespace has them).",
        """examples:
  saga list
  saga list --limit 5 --json""",
    ),
    "resume": (
        "unpark a saga whose compensation failed (--retry or --skip STEP)",
        "A saga with `on_compensation_failure: park` waits, PARKED, when a compensation "
        "fails for good. --retry runs the failed compensations again; --skip STEP gives "
        "up on undoing STEP (you undo it by hand) and lets the rest finish.",
        """examples:
  saga resume payment-7a8b9c0d --retry
  saga resume payment-7a8b9c0d --skip refund_card

exit codes: 0 resumed; 1 no such saga, or it is not parked""",
    ),
    "signal": (
        "deliver data to a wait step (an approval, a callback)",
        "Send JSON data to the wait step STEP of the running saga ID. The step takes it "
        "at once if it is waiting, or keeps it for when it begins to wait. The saga "
        "refuses, and nothing changes, when STEP is unknown or is not a wait step, when "
        "it has ended or already has its data, or when the data does not fit the step's "
        "`schema` (each problem is listed).",
        """examples:
  saga signal expense-7a8b9c0d manager_approval --data '{"approved": true, "by": "ann"}'
  saga signal expense-7a8b9c0d manager_approval --data @approval.json

exit codes: 0 taken; 1 refused (the reason is printed), or no such saga; 5 cannot reach
Temporal""",
    ),
    "worker": (
        "run the generic saga worker",
        "Run the one worker every saga needs: the generic workflow and its HTTP activity. "
        "Secrets come from SAGA_SECRET_<NAME> variables or --secrets-dir; a service's url "
        "may be overridden with SAGA_SERVICE_<NAME>_URL. Stops cleanly on Ctrl-C or "
        "SIGTERM, letting HTTP calls in flight finish.",
        """examples:
  saga worker
  TEMPORAL_ADDRESS=temporal.internal:7233 saga worker --task-queue sagas
  saga worker --secrets-dir /run/secrets --max-concurrent-activities 50""",
    ),
    "dev": (
        "run a local Temporal dev server (Web UI, persistent file) and a worker",
        "Start the Temporal dev server shipped with saga-dsl (no download), with its "
        "state in a SQLite file, the Web UI, and the SagaName/SagaStatus search "
        "attributes; run a worker next to it; stop both cleanly on Ctrl-C. The banner "
        "prints the exact `saga run` command line to use from another terminal.",
        """examples:
  saga dev
  saga dev --port 7300 --ui-port 8300 --db /tmp/sagas.db
  saga dev --headless

The server's own log is written next to the database (.saga/temporal.log).""",
    ),
    "demo-services": (
        "serve the quickstart's demo HTTP services (flights, hotels, cars, ...)",
        "Serve the demo HTTP services the example sagas call, on 127.0.0.1 ports "
        "9001-9007 (the ports the example files name), logging every request. --fail "
        "makes creates on a service fail, to watch a saga compensate. On other ports "
        "(--port-base, --port) the banner lists the SAGA_SERVICE_<NAME>_URL variables "
        "that point a worker at them.",
        """examples:
  saga demo-services
  saga demo-services --fail cars:503     # every reservation of a car fails with 503
  saga demo-services --port-base 9101    # flights on 9101, hotels on 9102, ...
  saga demo-services --port flights=9101""",
    ),
    "demo": (
        "the quickstart: run an example saga against the demo services, watch it compensate",
        "Start the demo HTTP services in this process, on free ports, with one of them "
        "failing; run an example saga, its urls pointed at those ports, as `saga run` "
        "does (on an embedded Temporal server when none is configured or listening on "
        "localhost:7233), print every HTTP call the services "
        "receive, then stop them. The exit code is the saga's: 3 when it was compensated."
        "\n\n"
        "The order fulfilment example reads the secrets PAYMENTS_TOKEN and WAREHOUSE_KEY: "
        "when SAGA_SECRET_* are not set, demo values are used by an embedded worker.",
        """examples:
  saga demo                                  # trip booking; the car fails, flight and hotel undone
  saga demo --no-fail                        # the same trip, completed
  saga demo order-fulfilment                 # the shipment is refused before the pivot
  saga demo money-transfer --fail bank/credits:500
  saga demo --json > report.json""",
    ),
    "replay": (
        "replay recorded histories on this version: does it decide as the runs did?",
        "Replay workflow histories against the installed saga-dsl, in the worker's own "
        "sandbox, and report for each whether this version makes the same decisions as the "
        "recorded run. Run it in CI, against the histories of your running sagas, before "
        "upgrading workers: a history that does not replay means the new workers would fail "
        "the runs like it.\n\n"
        "HISTORY is a JSON history (as `temporal workflow show --output json` or the Web UI "
        "download it) or a folder of them. --from-server replays the newest runs on the "
        "server instead, RUNNING and PARKED ones included.",
        """examples:
  saga replay histories/
  saga replay --from-server --saga trip-booking --limit 500

exit codes: 0 all replayed, 6 a history did not replay, 1 a file that is not a saga
history, 2 usage error, 5 cannot reach Temporal""",
    ),
    "serve": (
        "the HTTP gateway: catalogue, runs, events, OpenAPI",
        "Serve the HTTP gateway: start and follow the sagas of the --sagas folders over "
        "HTTP (JSON in and out, OpenAPI at /openapi.json, docs at /docs). Without --api-keys "
        "(or SAGA_API_KEYS_FILE) it listens on loopback only. Any number of gateways can run "
        "side by side: Temporal holds all the state.",
        """examples:
  saga serve                                   # ./sagas on http://127.0.0.1:8080
  saga serve --sagas sagas --sagas more-sagas --port 9090
  saga serve --host 0.0.0.0 --api-keys /run/secrets/api-keys

exit codes: 0 stopped, 2 usage error (e.g. a non-loopback --host without keys)""",
    ),
}
