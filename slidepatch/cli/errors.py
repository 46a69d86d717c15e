"""The command line's own error: a usage mistake found after argparse (exit status 2)."""

from __future__ import annotations


class UsageError(Exception):
    """Arguments that parse but do not fit together (e.g. three slides, two masks)."""


class SlideFailedError(Exception):
    """A slide could not be processed; the message already names it (exit status 1)."""


class NothingWrittenError(SlideFailedError):
    """The run wrote (or, for a dry run, found) no patch at all (exit status 1)."""


# The Python API's advice for a slide without MPP metadata, and what the CLI says instead.
_PYTHON_MPP_HINT = "; pass mpp=<µm per pixel> to Slide.open (or slide_mpp= to the location class)"
CLI_MPP_HINT = (
    "; give its level-0 µm per pixel with --slide-mpp MPP (or an mpp column in --slides TABLE.csv)"
)


def cli_text(message: str) -> str:
    """A library message in command-line terms (flags, not Python keywords)."""
    return message.replace(_PYTHON_MPP_HINT, CLI_MPP_HINT)
