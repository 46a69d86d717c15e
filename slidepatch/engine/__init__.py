"""The one runtime that runs many PatchSets at once: local worker processes or Dask.

* :mod:`~slidepatch.engine.executor`: :class:`Task`, the :class:`Executor` interface that
  the local runner and the Dask runner both implement, start-method checks.
* :mod:`~slidepatch.engine.messages`: the typed messages a worker sends back.
* :mod:`~slidepatch.engine.worker`: the worker side (one loop for every engine user).
* :mod:`~slidepatch.engine.process`: one worker process seen from the parent.
* :mod:`~slidepatch.engine.local`: :class:`ProcessRunner`, tasks over worker processes.
* :mod:`~slidepatch.engine.failures`: errors that name the slide a worker held.
* :mod:`~slidepatch.engine.signals`: the Ctrl-C policy.
"""

from slidepatch.engine.executor import START_METHODS, Executor, OnError, Task, check_start_method
from slidepatch.engine.local import ProcessRunner

__all__ = ["START_METHODS", "Executor", "OnError", "ProcessRunner", "Task", "check_start_method"]
