"""Progress bars for pool runs: one update per finished task (a slide or a chunk of slides)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from slidepatch.engine.executor import Task
from slidepatch.progress import Progress

P = TypeVar("P")
R = TypeVar("R")


def task_progress(
    *,
    enabled: bool | None,
    description: str,
    tasks: Sequence[Task[P, R]],
    task_slides: Sequence[Sequence[int]],
    slide_patches: Sequence[int],
) -> tuple[Progress, Callable[[Task[P, R]], None]]:
    """A bar over the run's slides and patches, and the ``on_done`` hook that advances it.

    ``slide_patches[s]`` is what slide ``s`` contributes (images or files); slides not
    in any task (resumed ones) count as done from the start.
    """
    per_task = {
        task.index: (len(slides), sum(slide_patches[s] for s in slides))
        for task, slides in zip(tasks, task_slides, strict=True)
    }
    bar = Progress(
        total_slides=sum(n for n, _ in per_task.values()),
        total_patches=sum(p for _, p in per_task.values()),
        description=description,
        enabled=enabled,
    )

    def on_done(task: Task[P, R]) -> None:
        slides, patches = per_task[task.index]
        bar.update(slides=slides, patches=patches)

    return bar, on_done
