"""Moved to :mod:`slidepatch.engine`; these names stay importable for code not yet moved."""

from slidepatch.engine.executor import START_METHODS, OnError, Task, check_start_method
from slidepatch.engine.local import ProcessRunner

__all__ = ["START_METHODS", "OnError", "ProcessRunner", "Task", "check_start_method"]
