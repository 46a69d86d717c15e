"""Stream patches into training with bounded memory: batches through a shared-memory ring.

The in-memory pools hold every patch at once; a stream holds at most a few batches.
Worker processes read batches of ``batch_size`` patches (a batch may span two slides)
straight into the slots of one shared-memory ring whose size follows ``memory_budget``;
the parent hands each filled slot to the caller as a :class:`PatchBatch` of zero-copy
numpy views and gives the slot back to the workers when the next batch is requested.
Only batch descriptors travel between processes, never pixels.

Order is deterministic by default (slide order, then patch order); ``ordered=False``
yields batches as they complete. Stopping early (``break``, :meth:`PatchStream.close`,
an exception, garbage collection) terminates the workers and removes the ring from
``/dev/shm``. A worker that dies raises :class:`~slidepatch.errors.WorkerDiedError`
naming the slides of the batch it held.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import multiprocessing.connection
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType

import numpy as np
import numpy.typing as npt

from slidepatch.engine.process import WorkerProcess, stop_workers, wait_any
from slidepatch.extract.multires import check_resolutions
from slidepatch.locations.online import OnlineRandomPatches
from slidepatch.locations.patchset import LevelOrMpp, PatchSource
from slidepatch.options import ReadOptions
from slidepatch.pools._distributed import resolve_rank
from slidepatch.pools._epoch_sources import EpochSources
from slidepatch.pools._inputs import check_pool_args, label_filters
from slidepatch.pools._shm import SharedBlock
from slidepatch.pools._stream_order import Balance, Mixing, check_count, epoch_order
from slidepatch.pools._stream_plan import (
    StreamPlan,
    parse_memory_budget,
    plan_stream,
)
from slidepatch.pools._stream_worker import (
    MAX_OPEN_SLIDES,
    BatchJob,
    FillSlots,
    SegmentJob,
    slot_views,
)
from slidepatch.resolution import Resolution
from slidepatch.slide.slide import ResamplingMode

__all__ = ["PatchBatch", "PatchStream", "iter_patch_batches", "parse_memory_budget"]


@dataclass(frozen=True)
class PatchBatch:
    """One batch of consecutive patches of the stream.

    ``images`` is ``(B, h, w, 3)`` uint8 (``(B, L, h, w, 3)`` with ``levels_or_mpps``).
    Unless the stream was made with ``copy=True`` it is a view into a ring slot that is
    refilled once the next batch is requested: use or copy it before asking for the next
    one (the memory itself never dangles; it is just overwritten).
    ``locations`` are level-0 top-lefts ``(B, 2)`` (``(B, L, 2)``, centred per level, for
    multi-resolution), ``slide_index`` the slide's position in the input, and
    ``patch_index`` the patch's index in that slide's input PatchSet (before label
    filtering), so ``(slide_index, patch_index)`` identifies a patch.
    """

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.str_]
    locations: npt.NDArray[np.int64]
    slide_index: npt.NDArray[np.int64]
    patch_index: npt.NDArray[np.int64]
    batch_index: int

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def copy(self) -> PatchBatch:
        """A batch that owns its arrays (stays valid after the stream moves on)."""
        return dataclasses.replace(self, images=self.images.copy(), locations=self.locations.copy())


@dataclass
class _Worker(WorkerProcess[BatchJob]):
    slot: int = -1  # the ring slot its batch goes to


class _Resources:
    """The ring and the worker processes; released by :meth:`release` exactly once.

    Kept apart from :class:`PatchStream` so that a finalizer can release them without
    keeping the stream alive.
    """

    def __init__(self, block: SharedBlock) -> None:
        self.block = block
        self.workers: list[_Worker] = []

    def release(self) -> None:
        stop_workers(self.workers)
        self.workers = []
        self.block.unlink()


class PatchStream(Iterator[PatchBatch]):
    """An iterator of :class:`PatchBatch` over many slides, and a context manager.

    Build it with :func:`iter_patch_batches`. Properties describe the ring:
    :attr:`slot_count` slots of :attr:`slot_bytes` bytes, never more than
    ``memory_budget`` together (:attr:`ring_bytes` adds 16 bytes that put every slot off
    libjpeg-turbo's 32-byte boundary, see :mod:`slidepatch.slide.buffers`).
    """

    def __init__(
        self,
        *,
        plan: StreamPlan,
        num_processes: int,
        num_threads: int,
        chunksize: int,
        levels: tuple[Resolution, ...] | None,
        resampling_mode: ResamplingMode,
        ordered: bool,
        copy: bool,
        start_method: str | None,
        epoch_key: Mapping[str, int] | None = None,
        open_slides: int = 1,
        affinity: bool = False,
    ) -> None:
        self._plan = plan
        self._num_processes = num_processes
        self._epoch_key = dict(epoch_key or {})
        self._open_slides = open_slides
        self._delivered: set[int] = set()
        self._digest: str | None = None
        self._levels = levels
        self._resampling_mode = resampling_mode
        self._threads = num_threads
        self._chunksize = chunksize
        self._ordered = ordered
        self._copy = copy
        self._ctx = multiprocessing.get_context(start_method)
        self._pending: deque[int] = deque(range(plan.batch_count))
        # With affinity, batch j is read by worker j % processes (its slides are that
        # worker's, see rank_order), so each worker keeps its own queue.
        self._affinity = affinity
        self._queues = self._split_pending()
        self._free_slots: deque[int] = deque(range(plan.slot_count))
        self._done: dict[int, int] = {}  # batch -> slot, filled and not yet handed out
        self._done_order: deque[int] = deque()
        self._held_slot: int | None = None
        self._next_batch = 0  # ordered mode: the batch to hand out next
        self._handed = 0
        self._closed = False
        self._res = _Resources(SharedBlock(size=plan.ring_bytes))
        self._finalizer = weakref.finalize(self, self._res.release)
        self._flat = self._res.block.array()
        try:
            for _ in range(min(num_processes, plan.batch_count)):
                self._start_worker()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ description
    @property
    def slot_count(self) -> int:
        """Slots in the ring: what ``memory_budget`` allows, at most 2 per process + 1."""
        return self._plan.slot_count

    @property
    def slot_bytes(self) -> int:
        """Bytes of one slot (``batch_size`` of the largest patches, plus locations)."""
        return self._plan.slot_bytes

    @property
    def ring_bytes(self) -> int:
        """Shared memory held by the stream: ``slot_count * slot_bytes`` plus 16 bytes."""
        return self._plan.ring_bytes

    @property
    def batch_count(self) -> int:
        return self._plan.batch_count

    @property
    def patch_count(self) -> int:
        return self._plan.patch_count

    @property
    def slide_paths(self) -> list[str]:
        """The slides, in input order (``PatchBatch.slide_index`` indexes this)."""
        return [ps.slide_path for ps in self._plan.sets]

    @property
    def worker_pids(self) -> list[int | None]:
        """Pids of the live worker processes (empty once closed)."""
        return [w.process.pid for w in self._res.workers]

    def __len__(self) -> int:
        return self._plan.batch_count

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict[str, object]:
        """Where the epoch stands: the batches handed out so far, and what decided the order.

        Pass it to :meth:`load_state_dict` of a stream made with the same arguments to
        deliver exactly the other batches (a batch counts as delivered once handed out).
        """
        done = sorted(self._delivered)
        prefix = 0
        while prefix < len(done) and done[prefix] == prefix:
            prefix += 1
        return {
            **self._epoch_key,
            "batch_size": self._plan.batch_size,
            "batch_count": self._plan.batch_count,
            "fingerprint": self._fingerprint(),
            "delivered_prefix": prefix,
            "delivered_extra": done[prefix:],
        }

    def _fingerprint(self) -> str:
        if self._digest is None:
            self._digest = _fingerprint(self._plan)
        return self._digest

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Skip the batches ``state`` says were delivered; only before the first batch."""
        if self._handed or self._closed or len(self._pending) != self._plan.batch_count:
            raise RuntimeError("load_state_dict must be called before the first batch")
        mine = self.state_dict()
        for key in (*self._epoch_key, "batch_size", "batch_count", "fingerprint"):
            if state.get(key) != mine[key]:
                raise ValueError(
                    f"cannot resume this stream from that state: {key} is "
                    f"{state.get(key)!r} there and {mine[key]!r} here (resume with the same "
                    "slides, locations, batch_size, seed, epoch, rank and mixing)"
                )
        prefix = state.get("delivered_prefix", 0)
        extra = state.get("delivered_extra", [])
        if not isinstance(prefix, int) or not isinstance(extra, list):
            raise ValueError("state: delivered_prefix must be an int, delivered_extra a list")
        if self._ordered and extra:
            raise ValueError(
                "an ordered stream resumes from a prefix of its batches; this state comes "
                "from an ordered=False stream"
            )
        done = set(range(prefix)) | {int(b) for b in extra}
        self._delivered = done
        self._pending = deque(b for b in range(self._plan.batch_count) if b not in done)
        self._queues = self._split_pending()
        self._handed = len(done)
        self._next_batch = prefix

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Stop the workers and remove the ring from /dev/shm (idempotent).

        Batches already handed out stay readable (the mapping lives while they do).
        """
        self._closed = True
        self._finalizer()

    def __enter__(self) -> PatchStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> PatchStream:
        return self

    # ------------------------------------------------------------------ iteration
    def __next__(self) -> PatchBatch:
        if self._closed:
            raise StopIteration
        if self._held_slot is not None:
            self._free_slots.append(self._held_slot)
            self._held_slot = None
        if self._handed == self._plan.batch_count:
            self.close()
            raise StopIteration
        try:
            self._dispatch()
            batch = self._take_done()
            while batch is None:
                self._wait()
                self._dispatch()
                batch = self._take_done()
        except BaseException:
            self.close()
            raise
        slot = self._done.pop(batch)
        self._held_slot = slot
        self._handed += 1
        self._delivered.add(batch)
        return self._batch(batch, slot)

    def _take_done(self) -> int | None:
        if self._ordered:
            if self._next_batch in self._done:
                self._next_batch += 1
                return self._next_batch - 1
            return None
        return self._done_order.popleft() if self._done_order else None

    def _batch(self, batch: int, slot: int) -> PatchBatch:
        plan = self._plan
        start, stop = plan.rows(batch)
        images, locs = slot_views(
            self._flat,
            plan.slot_offset(slot),
            plan.pixel_bytes,
            count=stop - start,
            size=plan.batch_size_of(batch),
            n_levels=plan.n_levels,
            multires=plan.multires,
        )
        result = PatchBatch(
            images=images,
            labels=plan.labels[start:stop],
            locations=plan.locations[start:stop] if locs is None else locs,
            slide_index=plan.slide_index[start:stop],
            patch_index=plan.patch_index[start:stop],
            batch_index=batch,
        )
        return result.copy() if self._copy else result

    # ------------------------------------------------------------------ workers
    def _start_worker(self) -> _Worker:
        block = self._res.block
        process, conn = WorkerProcess.spawn_pair(
            self._ctx, partial(FillSlots, block.name, block.size), name="slidepatch-stream"
        )
        worker = _Worker(process=process, conn=conn)
        self._res.workers.append(worker)
        return worker

    def _split_pending(self) -> list[deque[int]]:
        if not self._affinity:
            return []
        count = max(1, min(self._num_processes, self._plan.batch_count))
        queues: list[deque[int]] = [deque() for _ in range(count)]
        for b in self._pending:
            queues[b % count].append(b)
        return queues

    def _dispatch(self) -> None:
        """Give the next batches to idle workers while there are free slots."""
        if self._affinity:
            self._dispatch_owned()
            return
        for worker in self._res.workers:
            if not self._pending or not self._free_slots:
                return
            if worker.job is None:
                batch = self._pending.popleft()
                slot = self._free_slots.popleft()
                worker.slot = slot
                worker.give(self._job(batch, slot))

    def _dispatch_owned(self) -> None:
        """Each idle worker takes its own next batch. In order, only batches within a
        ring's length of the next one to hand out, so that no worker running ahead can
        hold every slot while the batch the caller waits for has none."""
        limit = self._next_batch + self._plan.slot_count if self._ordered else None
        for k, worker in enumerate(self._res.workers):
            queue = self._queues[k]
            if not self._free_slots:
                return
            if worker.job is None and queue and (limit is None or queue[0] < limit):
                batch = queue.popleft()
                slot = self._free_slots.popleft()
                worker.slot = slot
                worker.give(self._job(batch, slot))

    def _job(self, batch: int, slot: int) -> BatchJob:
        plan = self._plan
        segments = tuple(
            SegmentJob(
                patch_set=plan.sets[seg.slide].select(seg.indices),
                row=seg.row,
                rows=None if _is_run(seg.rows) else seg.rows,
            )
            for seg in plan.segments(batch)
        )
        start, stop = plan.rows(batch)
        return BatchJob(
            batch=batch,
            slot_offset=plan.slot_offset(slot),
            pixel_bytes=plan.pixel_bytes,
            size=plan.batch_size_of(batch),
            count=stop - start,
            segments=segments,
            resolutions=self._levels,
            resampling_mode=self._resampling_mode,
            num_threads=self._threads,
            chunksize=self._chunksize,
            open_slides=self._open_slides,
        )

    def _wait(self) -> None:
        """Wait for a busy worker to finish its batch (or die); raise its failure."""
        if not any(w.job is not None for w in self._res.workers):
            # cannot happen while batches are pending; guard against a hang
            raise RuntimeError("patch stream stalled: no batch in progress")
        for worker in wait_any(self._res.workers):
            self._collect(worker)

    def _collect(self, worker: _Worker) -> None:
        job = worker.job
        if job is None:
            return
        outcome = worker.ending(
            doing=f"reading batch {job.batch} of", wrap=True, name="stream worker"
        )
        if outcome is None:
            return  # woken by the pipe but nothing complete yet
        if isinstance(outcome, BaseException):
            raise outcome
        self._done[job.batch] = worker.slot
        if not self._ordered:
            self._done_order.append(job.batch)
        worker.slot = -1


def iter_patch_batches(
    *,
    patches_pool: Iterable[PatchSource | OnlineRandomPatches],
    batch_size: int,
    memory_budget: int | str,
    proc_num_workers: int,
    thread_num_workers: int,
    thread_mp_chunksize: int = 1,
    resampling_mode: ResamplingMode = None,
    included_labels: Sequence[str] | None = None,
    excluded_labels: Sequence[str] | None = None,
    levels_or_mpps: Sequence[LevelOrMpp] | None = None,
    ordered: bool = True,
    copy: bool = False,
    start_method: str | None = None,
    rank: int | None = None,
    world_size: int | None = None,
    seed: int = 0,
    epoch: int = 0,
    shuffle: bool = False,
    open_slides: int = 1,
    patches_per_visit: int | None = None,
    shuffle_buffer: int = 0,
    label_weights: Mapping[str, float] | None = None,
    slide_weights: Sequence[float] | None = None,
    epoch_size: int | None = None,
    read_options: ReadOptions | None = None,
) -> PatchStream:
    """Stream the patches of many slides as :class:`PatchBatch` es, within a memory budget.

    ``patches_pool`` is what :class:`~slidepatch.pools.MemPatchExtractorPool` takes (a
    locations pool, or location objects / PatchSets). Batches hold ``batch_size``
    consecutive patches (the last one fewer) and every patch of a batch must have the
    same size. ``memory_budget`` (bytes, or a string like ``"512MiB"``) bounds the
    shared-memory ring; each worker process adds its own decoder memory on top.
    ``levels_or_mpps`` streams multi-resolution sets like
    :class:`~slidepatch.pools.MultiResMemPatchExtractorPool`. ``ordered=False`` yields
    batches as they complete; ``copy=True`` yields batches that own their arrays.

    Training: ``rank``/``world_size`` (default: torch.distributed's when initialised)
    stream this rank's disjoint part of the epoch; ``shuffle`` shuffles slides and visits
    seeded by ``(seed, epoch)``; ``open_slides`` slides are interleaved,
    ``patches_per_visit`` patches at a time, then mixed by a ``shuffle_buffer``-patch
    window; ``label_weights``/``slide_weights``/``epoch_size`` draw a weighted epoch with
    replacement; :class:`~slidepatch.locations.OnlineRandomPatches` items in
    ``patches_pool`` draw new locations every epoch. When mixing, each batch holds the
    slides of one worker process (which alone reads them, so their tiles are decoded
    once), and the order also depends on ``proc_num_workers`` and ``batch_size``.
    :meth:`PatchStream.state_dict` resumes an epoch exactly. ``read_options`` replaces the
    read options the location objects carry, as in the memory pool.

    Use it in a ``for`` loop or a ``with`` block; leaving either early stops the workers
    and frees the shared memory.
    """
    procs, threads, _, thread_chunk, method, _ = check_pool_args(
        proc_num_workers=proc_num_workers,
        thread_num_workers=thread_num_workers,
        proc_mp_chunksize=1,
        thread_mp_chunksize=thread_mp_chunksize,
        start_method=start_method,
        on_error="raise",
        resampling_mode=resampling_mode,
    )
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    budget = parse_memory_budget(memory_budget)
    included, excluded = label_filters(included_labels, excluded_labels)
    levels = None if levels_or_mpps is None else tuple(check_resolutions(levels_or_mpps))
    the_rank, the_world = resolve_rank(rank=rank, world_size=world_size)
    mixing = Mixing(
        open_slides=open_slides,
        patches_per_visit=patches_per_visit,
        shuffle_buffer=shuffle_buffer,
        shuffle=bool(shuffle),
    )
    balance = Balance(
        label_weights=None if label_weights is None else dict(label_weights),
        slide_weights=None if slide_weights is None else tuple(float(w) for w in slide_weights),
        epoch_size=epoch_size,
    )
    the_seed = check_count(seed, name="seed")
    the_epoch = check_count(epoch, name="epoch")
    sources = EpochSources.collect(
        patches_pool, included=included, excluded=excluded, read_options=read_options
    )
    default = the_world == 1 and mixing == Mixing() and not balance.active
    order = (
        None
        if default and not sources.online
        else epoch_order(
            labels=sources.labels(),
            seed=the_seed,
            epoch=the_epoch,
            shard=the_rank,
            num_shards=the_world,
            mixing=mixing,
            balance=balance,
            processes=None if mixing == Mixing() else (procs, int(batch_size)),
        )
    )
    needed = range(len(sources.sources)) if order is None else np.unique(order.slide).tolist()
    sets = sources.epoch_sets(needed=needed, seed=the_seed, epoch=the_epoch)
    plan = plan_stream(
        sets=sets,
        kept=[sources.kept_of(s, ps) for s, ps in enumerate(sets)],
        batch_size=int(batch_size),
        memory_budget=budget,
        n_levels=1 if levels is None else len(levels),
        multires=levels is not None,
        num_processes=procs,
        order=order,
    )
    key = {
        "seed": the_seed,
        "epoch": the_epoch,
        "rank": the_rank,
        "world_size": the_world,
        "open_slides": mixing.open_slides,
        "patches_per_visit": mixing.patches_per_visit or 0,
        "shuffle_buffer": mixing.shuffle_buffer,
        "shuffle": int(mixing.shuffle),
    }
    return PatchStream(
        plan=plan,
        num_processes=procs,
        num_threads=threads,
        chunksize=thread_chunk,
        levels=levels,
        resampling_mode=resampling_mode,
        ordered=bool(ordered),
        copy=bool(copy),
        start_method=method,
        epoch_key=key,
        open_slides=_worker_open_slides(plan, mixing),
        affinity=mixing != Mixing(),
    )


def _worker_open_slides(plan: StreamPlan, mixing: Mixing) -> int:
    """Slides a worker keeps open: 1 for an unmixed stream, else enough for two batches."""
    if mixing == Mixing() or not plan.patch_count:
        return 1
    batch = np.arange(plan.patch_count, dtype=np.int64) // plan.batch_size
    pairs = np.unique(batch * len(plan.sets) + plan.slide_index)
    most = int(np.bincount(pairs // len(plan.sets)).max())
    return min(MAX_OPEN_SLIDES, max(mixing.open_slides, 2 * most))


def _is_run(rows: npt.NDArray[np.int64]) -> bool:
    return bool(rows.size == 0 or rows[-1] - rows[0] + 1 == rows.size)


def _fingerprint(plan: StreamPlan) -> str:
    """A digest of the epoch's order: the slides, and which patch comes where."""
    digest = hashlib.blake2b(digest_size=16)
    for path in (ps.slide_path for ps in plan.sets):
        digest.update(path.encode() + b"\0")
    for arr in (plan.slide_index, plan.patch_index, plan.locations):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()
