"""The Ctrl-C policy: SIGINT reaches the parent only.

Workers are started while SIGINT is ignored, so they ignore it from birth (an ignored
signal stays ignored across fork and exec, and Python leaves it so), and the worker loop
ignores it again first thing (forkserver children). The parent, which owns Ctrl-C, stops
its workers and raises KeyboardInterrupt; the command line prints one line and exits 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while workers are started (main thread only: signals live there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
