"""The messages a worker sends back to its parent, one per job."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Done(Generic[R]):
    """The job succeeded: ``result`` (small, picklable), from worker ``pid``."""

    result: R
    pid: int


@dataclass(frozen=True)
class Failed:
    """The job raised: ``error`` (or its text when it does not pickle) and the traceback."""

    error: BaseException | None
    text: str
    traceback: str

    @classmethod
    def of(cls, exc: BaseException, traceback: str) -> Failed:
        """Slidepatch errors pickle themselves; others may not, so test and keep text."""
        text = f"{type(exc).__name__}: {exc}"
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            return cls(error=None, text=text, traceback=traceback)
        return cls(error=exc, text=text, traceback=traceback)

    def rebuild(self) -> BaseException:
        """The worker's exception (a RuntimeError with its text if it did not pickle)."""
        return RuntimeError(self.text) if self.error is None else self.error


Message = Done[object] | Failed
