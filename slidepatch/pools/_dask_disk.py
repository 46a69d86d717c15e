"""Disk pools on executors that rerun tasks (Dask): reruns never duplicate or lose files.

When a Dask worker dies, the scheduler reruns its task elsewhere. The dead attempt may
have written some patch files under its own random manifest id; a plain rerun would write
the slide again under a new id and leave those behind. The single-slide extractor already
keeps a journal of every unfinished attempt (:mod:`slidepatch.extract.resume`); what a
rerun needs in addition is to know *which* attempt was its own (the same slide may be in
the pool twice). So each slide of a Dask task records, in
``<output_dir>/manifests/.dask__<run>-<task>-<k>.json``, its manifest id before the first
file is written, and its result when finished. A rerun of the task returns finished
slides' results as recorded (no second copy) and discards its own unfinished attempt
(files, temporaries, journal) before writing the slide again. The caller removes the
run's records when the run ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from slidepatch.engine import Executor, Outcomes, RunPolicy
from slidepatch.extract.atomic_write import write_atomically
from slidepatch.extract.disk import (
    MANIFEST_DIR,
    DiskPatchExtractor,
    MultiResDiskPatchExtractor,
    _DiskBase,
)
from slidepatch.extract.resume import discard_attempt, journal_path

if TYPE_CHECKING:
    from slidepatch.pools.disk import DiskJob, DiskResult, DiskTask

RECORD_PREFIX = ".dask__"


@dataclasses.dataclass(frozen=True)
class _Attempt:
    """Where one slide's record lives."""

    record: str


class _RecordingMixin(_DiskBase):
    """Records the attempt's manifest id before the first file is written."""

    _attempt: _Attempt

    def __init__(self, *, attempt: _Attempt, **kwargs: Any) -> None:
        self._attempt = attempt
        super().__init__(**kwargs)

    def _attempt_started(self) -> None:
        record = {"state": "started", "manifest_id": self._manifest_id, "wsi_id": self._wsi_id}
        _write_record(self._attempt.record, record)
        super()._attempt_started()


class _RecordingDiskExtractor(_RecordingMixin, DiskPatchExtractor):
    pass


class _RecordingMultiResDiskExtractor(_RecordingMixin, MultiResDiskPatchExtractor):
    pass


def _write_record(path: str, record: Mapping[str, object]) -> None:
    write_atomically(path, json.dumps(record).encode("utf-8"), exclusive=False)


def _read_record(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            record: dict[str, Any] = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    return record


def run_disk_jobs_recorded(jobs: Sequence[DiskJob], *, record_prefix: str) -> list[DiskResult]:
    """Worker side of a disk task: like ``run_disk_jobs``, safe to run again after a crash."""
    done: list[DiskResult] = []
    for k, job in enumerate(jobs):
        output_dir = job.options["output_dir"]
        path = os.path.join(output_dir, MANIFEST_DIR, f"{record_prefix}-{k}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        record = _read_record(path)
        if record is not None and record["state"] == "done":
            pid, manifest_id, count = record["result"]
            done.append((int(pid), str(manifest_id), int(count)))
            continue
        if record is not None:  # our earlier attempt died: undo what it wrote
            journal = journal_path(
                output_dir=output_dir, manifest_id=record["manifest_id"], wsi_id=record["wsi_id"]
            )
            discard_attempt(output_dir=output_dir, journal=journal)
        cls = _RecordingMultiResDiskExtractor if job.multires else _RecordingDiskExtractor
        extractor = cls(
            patches=job.patch_set,
            pool_mode=True,
            attempt=_Attempt(record=path),
            **job.options,
        )
        result = (os.getpid(), extractor.manifest_id, extractor.written_count)
        _write_record(path, {"state": "done", "result": list(result)})
        done.append(result)
    return done


def run_disk_tasks_recorded(
    executor: Executor,
    tasks: Sequence[DiskTask],
    *,
    output_dir: str,
    policy: RunPolicy,
    on_done: Callable[[DiskTask], None] | None = None,
) -> Outcomes[list[DiskResult]]:
    """Run the disk pool's tasks so that a rerun is safe; results are per-task lists, as
    with an executor that never reruns."""
    run = secrets.token_hex(6)
    remote = [
        dataclasses.replace(
            t,
            func=partial(run_disk_jobs_recorded, record_prefix=f"{RECORD_PREFIX}{run}-{t.index}"),
        )
        for t in tasks
    ]
    try:
        return executor.run(remote, policy=policy, on_done=on_done)
    finally:
        _remove_records(os.path.join(output_dir, MANIFEST_DIR), f"{RECORD_PREFIX}{run}-")


def _remove_records(folder: str, prefix: str) -> None:
    """Best effort: the run's records (and test markers) in the manifests folder."""
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(folder):
            if name.startswith(prefix):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
