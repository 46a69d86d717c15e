"""The one runtime that runs many PatchSets at once: local worker processes or Dask.

* :mod:`~slidepatch.engine.executor`: :class:`Task`, :class:`RunPolicy`, and
  :class:`Executor`, the interface every engine offers with the run loop they share.
* :mod:`~slidepatch.engine.factory`: :func:`make_executor`, where a run's tasks go.
* :mod:`~slidepatch.engine.messages`: the typed messages a worker sends back.
* :mod:`~slidepatch.engine.worker`: the worker side (one loop for every engine user).
* :mod:`~slidepatch.engine.process`: one worker process seen from the parent.
* :mod:`~slidepatch.engine.local`: :class:`ProcessRunner`, tasks over worker processes.
* :mod:`~slidepatch.engine.inline`: :class:`InProcessRunner`, tasks in this process.
* :mod:`~slidepatch.engine.dask`: ``DaskRunner``, tasks on a Dask cluster.
* :mod:`~slidepatch.engine.failures`: errors that name the slide a worker held.
* :mod:`~slidepatch.engine.signals`: the Ctrl-C policy.
"""

from slidepatch.engine.executor import (
    START_METHODS,
    Executor,
    OnError,
    Outcomes,
    RunPolicy,
    Task,
    check_start_method,
)
from slidepatch.engine.factory import make_executor
from slidepatch.engine.inline import InProcessRunner
from slidepatch.engine.local import ProcessRunner
from slidepatch.engine.messages import Done

__all__ = [
    "START_METHODS",
    "Done",
    "Executor",
    "InProcessRunner",
    "OnError",
    "Outcomes",
    "ProcessRunner",
    "RunPolicy",
    "Task",
    "check_start_method",
    "make_executor",
]
