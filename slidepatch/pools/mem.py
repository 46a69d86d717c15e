"""In-memory extractor pools: many slides over processes, patches in one shared block.

The parent filters labels, sizes the whole result, and allocates one shared-memory block;
each worker process opens its slide and its threads write the patches into that slide's
slice (``pwrite`` from a warm per-thread buffer on Linux, a mapping elsewhere; see
``_mem_worker``). Only PatchSets and byte offsets cross process boundaries, never pixels.
Afterwards every image is a zero-copy numpy view into the block.

Lifetime: the block's name is removed from ``/dev/shm`` as soon as the workers finish (or
fail, or Ctrl-C arrives); the memory itself stays mapped while the pool or any view
handed out references it, and is freed when the last one is dropped. ``close()`` drops
the pool's own references, so views obtained earlier stay valid (no dangling pointers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar, cast, overload

import numpy as np
import numpy.typing as npt

from slidepatch.engine import Executor, OnError, RunPolicy, Task, make_executor
from slidepatch.errors import SlidepatchError
from slidepatch.extract.base import filter_patch_set
from slidepatch.extract.multires import check_resolutions
from slidepatch.locations.patchset import LevelOrMpp, PatchSet, PatchSource
from slidepatch.options import ReadOptions
from slidepatch.pools._inputs import (
    check_pool_args,
    collect_patch_sets,
    label_filters,
)
from slidepatch.pools._mem_worker import MemJob, patch_nbytes, run_mem_jobs
from slidepatch.pools._progress import task_progress
from slidepatch.pools._shm import SharedBlock
from slidepatch.pools.stream import iter_patch_batches
from slidepatch.resolution import Resolution
from slidepatch.slide.buffers import DECODE_OFFSET
from slidepatch.slide.slide import ResamplingMode

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison
    from distributed import Client

Image = npt.NDArray[np.uint8]
#: One patch of a single-resolution pool: ``(image, label)``.
Patch = tuple[Image, str]
#: A patch list item: a :data:`Patch`, or one per level for multi-resolution pools.
Item = TypeVar("Item", bound="Patch | list[Patch]")
#: A memory pool's task: a chunk of slides in, the worker's pid per slide out.
MemTask = Task[Sequence[MemJob], list[int]]


class PatchList(MutableSequence[Item]):
    """The patches in input order (slide order, then patch order).

    Single resolution: each item is ``(image, label)``; multi-resolution: a list of
    ``(image, label)``, one per ``levels_or_mpps`` entry. Images are read-write numpy views
    into the shared block (no copy). Like the reference's list it can be shuffled, sorted,
    appended to and so on; the first change turns it into a plain list of those items.
    """

    def __init__(
        self,
        *,
        pixels: Image,
        starts: npt.NDArray[np.int64],
        heights: npt.NDArray[np.int64],
        widths: npt.NDArray[np.int64],
        labels: Sequence[str],
        n_levels: int,
        multires: bool,
    ) -> None:
        self._pixels = pixels
        self._starts = starts
        self._heights = heights
        self._widths = widths
        self._labels = labels
        self._n_levels = n_levels
        self._multires = multires
        self._items: list[Item] | None = None  # set on the first change

    def _materialized(self) -> list[Item]:
        if self._items is None:
            self._items = [self._item(i) for i in range(int(self._starts.shape[0]))]
        return self._items

    def __len__(self) -> int:
        if self._items is not None:
            return len(self._items)
        return int(self._starts.shape[0])

    def _image(self, i: int, level: int) -> Image:
        h, w = int(self._heights[i]), int(self._widths[i])
        start = int(self._starts[i]) + level * h * w * 3
        return self._pixels[start : start + h * w * 3].reshape(h, w, 3)

    def _item(self, i: int) -> Item:
        label = self._labels[i]
        if not self._multires:
            return cast("Item", (self._image(i, 0), label))
        return cast("Item", [(self._image(i, j), label) for j in range(self._n_levels)])

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        if self._items is not None:
            return self._items[index]
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"patch index {index} out of range for {n} patches")
        return self._item(i)

    def __iter__(self) -> Iterator[Item]:
        if self._items is not None:
            yield from list(self._items)
            return
        for i in range(len(self)):
            yield self._item(i)

    @overload
    def __setitem__(self, index: int, value: Item) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[Item]) -> None: ...
    def __setitem__(self, index: int | slice, value: Item | Iterable[Item]) -> None:
        items = self._materialized()
        if isinstance(index, slice):
            items[index] = cast("Iterable[Item]", value)
        else:
            items[index] = cast("Item", value)

    def __delitem__(self, index: int | slice) -> None:
        del self._materialized()[index]

    def insert(self, index: int, value: Item) -> None:
        self._materialized().insert(index, value)

    def sort(
        self, *, key: Callable[[Item], SupportsRichComparison] | None = None, reverse: bool = False
    ) -> None:
        items = self._materialized()
        if key is None:
            items.sort(reverse=reverse)  # type: ignore[type-var]  # as list.sort: items decide
        else:
            items.sort(key=key, reverse=reverse)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, PatchList)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Iterable[Item]) -> list[Item]:
        return list(self) + list(other)


class _MemoryPool(Generic[Item]):
    """Shared machinery of the two memory pools."""

    _multires = False

    def __init__(
        self,
        *,
        patches_pool: Iterable[PatchSource],
        proc_num_workers: int,
        thread_num_workers: int,
        proc_mp_chunksize: int = 1,
        thread_mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        array_mode: bool = False,
        levels_or_mpps: Sequence[LevelOrMpp] | None = None,
        start_method: str | None = None,
        on_error: OnError = "raise",
        client: Client | None = None,
        scheduler_address: str | None = None,
        progress: bool | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        procs, threads, proc_chunk, thread_chunk, method, on_error = check_pool_args(
            proc_num_workers=proc_num_workers,
            thread_num_workers=thread_num_workers,
            proc_mp_chunksize=proc_mp_chunksize,
            thread_mp_chunksize=thread_mp_chunksize,
            start_method=start_method,
            on_error=on_error,
            resampling_mode=resampling_mode,
        )
        included, excluded = label_filters(included_labels, excluded_labels)
        engine = make_executor(
            client=client,
            scheduler_address=scheduler_address,
            num_processes=procs,
            start_method=method,
            executor=executor,
        )
        levels = tuple(check_resolutions(levels_or_mpps)) if self._multires else None
        self.array_mode = array_mode  # accepted for compatibility; results are arrays anyway
        self._levels = levels
        self._closed = False
        self._patch_list: PatchList[Item] | None = None
        sets = [
            filter_patch_set(ps, included=included, excluded=excluded)
            for ps in collect_patch_sets(patches_pool, read_options=read_options)
        ]
        self._slide_paths = [ps.slide_path for ps in sets]
        n_levels = 1 if levels is None else len(levels)
        self._n_levels = n_levels

        layout = _Layout.plan(sets, n_levels=n_levels, with_locations=levels is not None)
        block = SharedBlock(size=layout.total)
        try:
            tasks, task_slides = _tasks(
                sets=sets,
                block=block,
                layout=layout,
                levels=levels,
                resampling_mode=resampling_mode,
                threads=threads,
                thread_chunk=thread_chunk,
                proc_chunk=proc_chunk,
            )
            bar, on_done = task_progress(
                enabled=progress,
                description="extracting",
                tasks=tasks,
                task_slides=task_slides,
                slide_patches=[len(ps) * n_levels for ps in sets],
            )
            policy = RunPolicy(on_error=on_error)
            if engine.shares_memory:
                results, failures = engine.run(tasks, policy=policy, on_done=on_done)
            else:
                from slidepatch.pools._dask_mem import run_mem_tasks_by_copy

                results, failures = run_mem_tasks_by_copy(
                    engine, tasks, flat=block.array(), policy=policy, on_done=on_done
                )
            bar.close()
        finally:
            block.unlink()  # the name goes now; the memory stays while views reference it

        pids: list[int | None] = [None] * len(sets)
        failed: dict[str, BaseException] = {}
        slide_ok = np.ones(len(sets), dtype=bool)
        for task, slides in zip(tasks, task_slides, strict=True):
            if task.index in failures:
                for s in slides:
                    failed[sets[s].slide_path] = failures[task.index]
                    slide_ok[s] = False
            else:
                for s, pid in zip(slides, results[task.index], strict=True):
                    pids[s] = pid
        self._pids = pids
        self._failed = failed

        flat = block.array()
        keep = np.repeat(slide_ok, layout.counts)
        self._pixels: Image | None = flat
        self._starts = layout.starts[keep]
        self._slide_runs = [
            (int(layout.slide_offsets[s]), int(layout.slide_bytes[s]))
            for s in range(len(sets))
            if slide_ok[s]
        ]
        self._heights = np.concatenate([ps.height for ps in sets]).astype(np.int64)[keep]
        self._widths = np.concatenate([ps.width for ps in sets]).astype(np.int64)[keep]
        self._labels = [
            label for ps, ok in zip(sets, slide_ok, strict=True) if ok for label in ps.labels
        ]
        self._slide_index: npt.NDArray[np.int64] = np.repeat(
            np.arange(len(sets), dtype=np.int64), layout.counts
        )[keep]
        if levels is None:
            locations = np.stack(
                [np.concatenate([ps.x for ps in sets]), np.concatenate([ps.y for ps in sets])],
                axis=1,
            ).astype(np.int64)
        else:  # written by the workers after the pixels; copied out (small)
            locations = (
                flat[layout.loc_start : layout.total].view(np.int64).reshape(-1, n_levels, 2).copy()
            )
        self._locations: npt.NDArray[np.int64] = locations[keep]
        self._contiguous = bool(slide_ok.all())

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Drop the pool's references to the shared block.

        Views obtained earlier stay valid; the memory is freed once none is referenced.
        """
        self._closed = True
        self._pixels = None
        self._patch_list = None

    def __enter__(self) -> _MemoryPool[Item]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _flat(self) -> Image:
        if self._pixels is None:
            raise ValueError(f"{type(self).__name__} is closed; its results are gone")
        return self._pixels

    # ------------------------------------------------------------------ results
    @property
    def patch_list(self) -> PatchList[Item]:
        """Every patch in input order, as ``(image, label)`` items (see :class:`PatchList`).

        The same list every time, so changes to it (a shuffle, an append) persist.
        """
        if self._patch_list is not None and self._pixels is not None:
            return self._patch_list
        self._patch_list = PatchList(
            pixels=self._flat(),
            starts=self._starts,
            heights=self._heights,
            widths=self._widths,
            labels=self._labels,
            n_levels=self._n_levels,
            multires=self._multires,
        )
        return self._patch_list

    @property
    def images(self) -> Image:
        """All images as one array: (N, h, w, 3), or (N, L, h, w, 3) for multi-resolution.

        A zero-copy view when every slide succeeded (a copy when ``on_error="skip"``
        dropped some). Needs every patch to have the same size.
        """
        flat = self._flat()
        n = int(self._starts.shape[0])
        if n == 0:
            shape: tuple[int, ...] = (0, 0, 0, 3)
            return np.zeros(shape if not self._multires else (0, self._n_levels, 0, 0, 3), np.uint8)
        h, w = int(self._heights[0]), int(self._widths[0])
        if not ((self._heights == h).all() and (self._widths == w).all()):
            raise SlidepatchError(
                "patches have different sizes, so they do not fit one array; use patch_list"
            )
        per = self._n_levels * h * w * 3
        shape = (n, self._n_levels, h, w, 3) if self._multires else (n, h, w, 3)
        if self._contiguous:
            start = int(self._starts[0])
            return flat[start : start + n * per].reshape(shape)
        runs = [flat[start : start + size] for start, size in self._slide_runs]
        return np.concatenate(runs).reshape(shape)

    @property
    def labels(self) -> npt.NDArray[np.str_]:
        """The label of every patch (or set), in input order."""
        return np.asarray(self._labels, dtype=np.str_)

    @property
    def locations(self) -> npt.NDArray[np.int64]:
        """Level-0 top-lefts: (N, 2), or (N, L, 2) centred per level for multi-resolution."""
        return self._locations

    @property
    def slide_index(self) -> npt.NDArray[np.int64]:
        """For every patch (or set), the index of its slide in the input order."""
        return self._slide_index

    @property
    def slide_paths(self) -> list[str]:
        """The slides, in input order."""
        return list(self._slide_paths)

    @property
    def pids(self) -> list[int | None]:
        """The worker pid that extracted each slide, in input order (None if it failed)."""
        return list(self._pids)

    @property
    def failed_slides(self) -> dict[str, BaseException]:
        """Slide path -> error for every slide that failed (``on_error="skip"``)."""
        return dict(self._failed)

    @property
    def patch_count(self) -> int:
        """Extracted patches (for multi-resolution: sets x levels, like the reference)."""
        return int(self._starts.shape[0]) * self._n_levels


@dataclass(frozen=True)
class _Layout:
    """Where everything lives in the block: pixels slide by slide, then multi-res locations."""

    counts: npt.NDArray[np.int64]  # patches per slide
    slide_bytes: npt.NDArray[np.int64]
    slide_offsets: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]  # byte offset of every patch, all slides
    loc_offsets: npt.NDArray[np.int64]
    loc_start: int
    total: int

    @classmethod
    def plan(cls, sets: list[PatchSet], *, n_levels: int, with_locations: bool) -> _Layout:
        counts = np.asarray([len(ps) for ps in sets], dtype=np.int64)
        nbytes = np.concatenate([patch_nbytes(ps, n_levels) for ps in sets]).astype(np.int64)
        # Pixels start DECODE_OFFSET into the (page-aligned) block, so that workers
        # decode on libjpeg-turbo's fast path (see slidepatch.slide.buffers).
        base = DECODE_OFFSET if int(nbytes.sum()) else 0
        starts = base + _exclusive_cumsum(nbytes)
        # Bytes per slide from the running total at slide boundaries: empty slides
        # (anywhere, the last one included) get 0 without special cases.
        running = np.concatenate([[0], np.cumsum(nbytes)]).astype(np.int64)
        slide_ends = np.cumsum(counts)
        slide_bytes = running[slide_ends] - running[slide_ends - counts]
        pixel_end = base + int(nbytes.sum())
        loc_start = (pixel_end + 7) // 8 * 8
        loc_bytes = counts * (n_levels * 2 * 8 if with_locations else 0)
        return cls(
            counts=counts,
            slide_bytes=slide_bytes.astype(np.int64),
            slide_offsets=base + _exclusive_cumsum(slide_bytes.astype(np.int64)),
            starts=starts,
            loc_offsets=loc_start + _exclusive_cumsum(loc_bytes),
            loc_start=loc_start,
            total=loc_start + int(loc_bytes.sum()),
        )


def _exclusive_cumsum(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.zeros(values.shape[0], dtype=np.int64)
    if values.shape[0] > 1:
        np.cumsum(values[:-1], out=out[1:])
    return out


def _tasks(
    *,
    sets: list[PatchSet],
    block: SharedBlock,
    layout: _Layout,
    levels: tuple[Resolution, ...] | None,
    resampling_mode: ResamplingMode,
    threads: int,
    thread_chunk: int,
    proc_chunk: int,
) -> tuple[list[MemTask], list[list[int]]]:
    """One task per ``proc_chunk`` consecutive slides, and the slide indices of each."""
    jobs = [
        MemJob(
            patch_set=ps,
            block_name=block.name,
            block_size=block.size,
            pixel_offset=int(layout.slide_offsets[s]),
            resolutions=levels,
            locations_offset=int(layout.loc_offsets[s]),
            resampling_mode=resampling_mode,
            num_threads=threads,
            chunksize=thread_chunk,
        )
        for s, ps in enumerate(sets)
    ]
    tasks: list[MemTask] = []
    task_slides: list[list[int]] = []
    for t, first in enumerate(range(0, len(jobs), proc_chunk)):
        chunk = list(range(first, min(first + proc_chunk, len(jobs))))
        tasks.append(
            Task(
                index=t,
                slide_paths=tuple(sets[s].slide_path for s in chunk),
                func=run_mem_jobs,
                payload=[jobs[s] for s in chunk],
            )
        )
        task_slides.append(chunk)
    return tasks, task_slides


class MemPatchExtractorPool(_MemoryPool[Patch]):
    """Extract the patches of many slides into memory: processes across slides, threads within.

    Work happens in the constructor. Results: :attr:`patch_list` (``(image, label)`` items
    in input order), or whole arrays :attr:`images`, :attr:`labels`, :attr:`locations`,
    :attr:`slide_index`.

    With ``client=`` (a ``dask.distributed.Client``) or ``scheduler_address=``, slides run
    as Dask tasks on the cluster's workers instead of local processes (each slide's patches
    come back as one array and are copied into the same shared block); a worker that dies
    has its slides rerun elsewhere by Dask. Needs ``slidepatch[dask]``. ``executor`` (a
    :class:`~slidepatch.Executor`) runs the tasks instead of ``proc_num_workers`` processes.

    ``progress`` draws a bar on stderr (slides, patches, patches/s, time left): ``None``
    only when stderr is a terminal, ``True`` always, ``False`` never. For more patches than
    memory holds, stream them with :meth:`iter_batches`. ``read_options`` (a
    :class:`~slidepatch.ReadOptions`) replaces the read options the location objects carry
    (their MPP override is kept unless it sets one).
    """

    iter_batches = staticmethod(iter_patch_batches)

    def __init__(
        self,
        *,
        patches_pool: Iterable[PatchSource],
        proc_num_workers: int,
        thread_num_workers: int,
        proc_mp_chunksize: int = 1,
        thread_mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        array_mode: bool = False,
        start_method: str | None = None,
        on_error: OnError = "raise",
        client: Client | None = None,
        scheduler_address: str | None = None,
        progress: bool | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(
            patches_pool=patches_pool,
            proc_num_workers=proc_num_workers,
            thread_num_workers=thread_num_workers,
            proc_mp_chunksize=proc_mp_chunksize,
            thread_mp_chunksize=thread_mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
            array_mode=array_mode,
            start_method=start_method,
            on_error=on_error,
            client=client,
            scheduler_address=scheduler_address,
            progress=progress,
            read_options=read_options,
            executor=executor,
        )

    def __enter__(self) -> MemPatchExtractorPool:
        return self


class MultiResMemPatchExtractorPool(_MemoryPool[list[Patch]]):
    """Like :class:`MemPatchExtractorPool`, one centred patch per ``levels_or_mpps`` entry.

    Each :attr:`patch_list` item is a list of ``(image, label)``, in ``levels_or_mpps`` order.
    """

    _multires = True

    def __init__(
        self,
        *,
        patches_pool: Iterable[PatchSource],
        levels_or_mpps: Sequence[LevelOrMpp],
        proc_num_workers: int,
        thread_num_workers: int,
        proc_mp_chunksize: int = 1,
        thread_mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        array_mode: bool = False,
        start_method: str | None = None,
        on_error: OnError = "raise",
        client: Client | None = None,
        scheduler_address: str | None = None,
        progress: bool | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(
            patches_pool=patches_pool,
            levels_or_mpps=levels_or_mpps,
            proc_num_workers=proc_num_workers,
            thread_num_workers=thread_num_workers,
            proc_mp_chunksize=proc_mp_chunksize,
            thread_mp_chunksize=thread_mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
            array_mode=array_mode,
            start_method=start_method,
            on_error=on_error,
            client=client,
            scheduler_address=scheduler_address,
            progress=progress,
            read_options=read_options,
            executor=executor,
        )

    def __enter__(self) -> MultiResMemPatchExtractorPool:
        return self

    @property
    def patchset_count(self) -> int:
        """Number of multi-resolution sets (one per base patch)."""
        return int(self._starts.shape[0])
