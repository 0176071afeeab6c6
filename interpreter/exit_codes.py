"""The `saga` command's exit codes: one enum, so every command means the same by a number.

Pure Python (no Temporal), so `saga validate` can use it without a slow start.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    OK = 0
    """Valid, COMPLETED, or the command did what it was asked."""
    INVALID = 1
    """An invalid saga file or input, or a request Temporal or the saga refused."""
    USAGE = 2
    """The command line itself is wrong (an unknown flag, a path that matches nothing)."""
    COMPENSATED = 3
    """The saga was rolled back: after a failure, a cancel or its timeout."""
    NEEDS_ATTENTION = 4
    """COMPENSATION_FAILED or INCOMPLETE: effects may be left in place; a person must look."""
    UNREACHABLE = 5
    """No Temporal server answered."""
    CASE_FAILED = 6
    """`saga test` or `saga replay` found a failing case."""
    INTERRUPTED = 130
    """Ctrl-C."""
