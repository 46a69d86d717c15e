"""The command line's own error: a usage mistake found after argparse (exit status 2)."""

from __future__ import annotations


class UsageError(Exception):
    """Arguments that parse but do not fit together (e.g. three slides, two masks)."""


class SlideFailedError(Exception):
    """A slide could not be processed; the message already names it (exit status 1)."""
