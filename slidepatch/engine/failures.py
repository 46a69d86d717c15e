"""Errors from workers, each naming the slide (or slides) the worker held."""

from __future__ import annotations

import signal
from collections.abc import Sequence

from slidepatch.errors import ExtractionError, SlideError, WorkerDiedError

#: What commonly kills a worker, said in every WorkerDiedError.
DEATH_CAUSES = "a crashing decoder, the OOM killer, or a full /dev/shm can cause this"


class RemoteTraceback(Exception):
    """Carries a worker's formatted traceback as the ``__cause__`` of the re-raised error."""

    def __str__(self) -> str:
        return str(self.args[0])


def describe_exit(exitcode: int | None) -> str:
    """``was killed by SIGKILL``, ``exited with code 1``, ..."""
    if exitcode is None:
        return "died"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def worker_died(
    slide_paths: Sequence[str],
    *,
    pid: int | None,
    exitcode: int | None,
    doing: str,
    worker: str = "worker",
) -> WorkerDiedError:
    """The error for a ``worker`` that died while ``doing`` (e.g. "extracting") these
    slides."""
    single = len(slide_paths) == 1
    return WorkerDiedError(
        slide_paths[0] if single else ", ".join(slide_paths),
        f"the {worker} process (pid {pid}) {describe_exit(exitcode)} while {doing} "
        + ("this slide" if single else "these slides")
        + f" ({DEATH_CAUSES})",
    )


def with_remote_traceback(error: BaseException, tb: str) -> BaseException:
    """``error`` with the worker's traceback as its cause."""
    error.__cause__ = RemoteTraceback(tb)
    return error


def wrap_error(slide_paths: Sequence[str], error: BaseException, tb: str) -> BaseException:
    """Errors that name their slide pass unchanged; others are wrapped in ExtractionError."""
    return named_error(slide_paths, with_remote_traceback(error, tb))


def named_error(slide_paths: Sequence[str], error: BaseException) -> BaseException:
    """``error`` if it names its slide, else an ExtractionError naming ``slide_paths``."""
    if isinstance(error, SlideError):
        return error
    wrapped = ExtractionError(
        ", ".join(slide_paths), f"extraction failed: {type(error).__name__}: {error}"
    )
    wrapped.__cause__ = error
    return wrapped


def task_error(
    slide_paths: Sequence[str], error: BaseException, tb: str, *, wrap: bool
) -> BaseException:
    """A task's error as the caller raises it: wrapped (see :func:`wrap_error`) or as the
    worker raised it, with the worker's traceback as its cause either way."""
    return wrap_error(slide_paths, error, tb) if wrap else with_remote_traceback(error, tb)
