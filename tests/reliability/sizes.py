"""How big each scenario runs: in the test suite (CI) and in bench/reliability.py (full).

`SAGA_RELIABILITY=full` makes the test suite use the full sizes too.
"""

from __future__ import annotations

import os

from .scenarios import Size

CI_SIZES = {
    "worker-crash": Size(sagas=20, faults=3, deadline=60),
    "server-restart": Size(sagas=20, faults=2, deadline=60),
    "two-workers": Size(sagas=20, faults=1, deadline=60),
    "http-chaos": Size(sagas=20, faults=0, deadline=60, http_fault_rate=0.2),
    "cancel-chaos": Size(sagas=20, faults=0, deadline=60, http_fault_rate=0.1),
}

FULL_SIZES = {
    "worker-crash": Size(sagas=200, faults=8, deadline=300),
    "server-restart": Size(sagas=200, faults=4, deadline=300),
    "two-workers": Size(sagas=200, faults=1, deadline=300),
    "http-chaos": Size(sagas=300, faults=0, deadline=300, http_fault_rate=0.2),
    "cancel-chaos": Size(sagas=200, faults=0, deadline=300, http_fault_rate=0.1),
}


def current_sizes() -> dict[str, Size]:
    return FULL_SIZES if os.environ.get("SAGA_RELIABILITY") == "full" else CI_SIZES
