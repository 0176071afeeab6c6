"""Child processes that take Ctrl-C as a terminal's user would send it."""

from __future__ import annotations

import signal


def interruptible() -> None:
    """For `subprocess.Popen(preexec_fn=...)`: SIGINT back to its default in the child.

    A shell that starts a command in the background (`cmd &`, as CI runners and `nohup`
    may) makes it ignore SIGINT, and its children inherit that; Python then installs no
    KeyboardInterrupt handler, and a test that sends SIGINT would test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
