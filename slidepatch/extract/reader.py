"""Read the patches of one PatchSet with a thread pool, straight into caller-owned buffers.

One :class:`Slide` is shared by all threads (slide backends are thread-safe and release
the GIL while decoding). Each patch is written by ``Slide.read_region(..., out=...)``
directly into its destination, so no pixel is copied twice. The first failure stops the
read and is raised as an :class:`ExtractionError` naming the slide and the patch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from slidepatch.errors import ExtractionError, InvalidPatchError, SlideError
from slidepatch.extract.threads import run_on_threads
from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.resolution import Resolution, resolution_of
from slidepatch.slide.buffers import ScratchBuffers
from slidepatch.slide.slide import ResamplingMode, Slide

Buffer = npt.NDArray[np.uint8]


def check_chunksize(value: object, *, name: str = "mp_chunksize") -> int:
    """Validate a chunk size: an int >= 1 (``None`` -> ``TypeError``, like the reference)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= 1, got {value!r}")
    if int(value) < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def check_num_workers(value: object, *, name: str = "num_workers") -> int:
    """Validate a worker count: an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= 1, got {value!r}")
    if int(value) < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def read_one_patch(
    *,
    slide: Slide,
    index: int,
    location: tuple[int, int],
    size: tuple[int, int],
    resolution: Resolution,
    resampling_mode: ResamplingMode,
    out: Buffer | None = None,
) -> Buffer:
    """Read one patch; any failure becomes an ExtractionError naming slide and patch."""
    try:
        return slide.read_region(
            location, resolution, size, resampling_mode=resampling_mode, out=out
        )
    except Exception as exc:
        detail = exc.message if isinstance(exc, SlideError) else f"{type(exc).__name__}: {exc}"
        cls = InvalidPatchError if isinstance(exc, ValueError) else ExtractionError
        raise cls(
            slide.path,
            f"patch {index} at level-0 {location} size {size} "
            f"(level_or_mpp={resolution.value!r}): {detail}",
        ) from exc


def read_patches_into(
    *,
    slide: Slide,
    patch_set: PatchSet,
    out: Buffer | Sequence[Buffer],
    indices: Sequence[int] | npt.NDArray[np.integer] | None = None,
    locations: npt.NDArray[np.integer] | None = None,
    level_or_mpp: Resolution | LevelOrMpp | None = None,
    resampling_mode: ResamplingMode = None,
    num_workers: int = 1,
    chunksize: int = 1,
) -> None:
    """Read patches of ``patch_set`` from ``slide`` into ``out``.

    ``out[k]`` receives patch ``indices[k]`` (all patches in order when ``indices`` is
    None); each ``out[k]`` must be a C-contiguous ``(h, w, 3)`` uint8 array matching that
    patch's size. ``locations`` optionally replaces the set's level-0 top-lefts: an
    ``(len(patch_set), 2)`` array indexed by *patch index* like ``patch_set.x``/``y``
    (multi-resolution reads pass one column of :func:`multires_locations`).
    ``level_or_mpp`` overrides the set's resolution. Resolution problems (no MPP, an MPP
    that needs a resampling mode, a bad level) are raised before any read as the slide's
    own error; a failing patch raises :class:`ExtractionError`.
    """
    plan = _ReadPlan.make(
        slide=slide,
        patch_set=patch_set,
        indices=indices,
        locations=locations,
        level_or_mpp=level_or_mpp,
        num_workers=num_workers,
        chunksize=chunksize,
    )
    if len(out) != plan.count:
        raise ValueError(
            f"{slide.path}: out holds {len(out)} patches but {plan.count} were requested"
        )
    for k in range(plan.count):
        shape = plan.shape(k)
        buf = out[k]
        if buf.dtype != np.uint8 or buf.shape != shape or not buf.flags.c_contiguous:
            raise ValueError(
                f"{slide.path}: out[{k}] (patch {int(plan.idx[k])}) must be a C-contiguous "
                f"uint8 array of shape {shape}, got {buf.dtype} {buf.shape}"
            )
    plan.run(slide, resampling_mode, destination=lambda k: out[k])


def read_patches_to(
    *,
    slide: Slide,
    patch_set: PatchSet,
    sink: Callable[[int, Buffer], None],
    indices: Sequence[int] | npt.NDArray[np.integer] | None = None,
    locations: npt.NDArray[np.integer] | None = None,
    level_or_mpp: Resolution | LevelOrMpp | None = None,
    resampling_mode: ResamplingMode = None,
    num_workers: int = 1,
    chunksize: int = 1,
) -> None:
    """Like :func:`read_patches_into`, but hand each patch to ``sink(k, pixels)``.

    Each patch is read into a buffer owned by the reading thread and reused for its next
    patch, so ``pixels`` is valid only during the call: the sink copies it out (the
    memory pools write it to shared memory with ``os.pwrite``). Reusing one warm buffer
    per thread avoids faulting in fresh memory for every patch.
    """
    plan = _ReadPlan.make(
        slide=slide,
        patch_set=patch_set,
        indices=indices,
        locations=locations,
        level_or_mpp=level_or_mpp,
        num_workers=num_workers,
        chunksize=chunksize,
    )
    scratch = ScratchBuffers()
    plan.run(
        slide,
        resampling_mode,
        destination=lambda k: scratch.get(plan.shape(k)),
        after=sink,
    )


@dataclass(frozen=True)
class _ReadPlan:
    """The validated patches of one read: which, where, at what resolution, by how many."""

    patch_set: PatchSet
    idx: npt.NDArray[np.int64]
    xs: npt.NDArray[np.int64]
    ys: npt.NDArray[np.int64]
    target: Resolution
    num_workers: int
    chunksize: int

    @classmethod
    def make(
        cls,
        *,
        slide: Slide,
        patch_set: PatchSet,
        indices: Sequence[int] | npt.NDArray[np.integer] | None,
        locations: npt.NDArray[np.integer] | None,
        level_or_mpp: Resolution | LevelOrMpp | None,
        num_workers: int,
        chunksize: int,
    ) -> _ReadPlan:
        num_workers = check_num_workers(num_workers)
        chunksize = check_chunksize(chunksize, name="chunksize")
        target = patch_set.resolution if level_or_mpp is None else resolution_of(level_or_mpp)
        n_set = len(patch_set)
        idx = (
            np.arange(n_set, dtype=np.int64)
            if indices is None
            else np.asarray(indices, dtype=np.int64).reshape(-1)
        )
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n_set):
            raise IndexError(f"{slide.path}: patch indices must be in 0..{n_set - 1}")
        if locations is None:
            xs, ys = patch_set.x, patch_set.y
        else:
            locs = np.asarray(locations)
            if locs.shape != (n_set, 2):
                raise ValueError(
                    f"{slide.path}: locations must have shape ({n_set}, 2), got {locs.shape}"
                )
            xs, ys = locs[:, 0].astype(np.int64), locs[:, 1].astype(np.int64)
        return cls(patch_set, idx, xs, ys, target, num_workers, chunksize)

    @property
    def count(self) -> int:
        return int(self.idx.shape[0])

    def shape(self, k: int) -> tuple[int, int, int]:
        i = int(self.idx[k])
        return int(self.patch_set.height[i]), int(self.patch_set.width[i]), 3

    def run(
        self,
        slide: Slide,
        resampling_mode: ResamplingMode,
        *,
        destination: Callable[[int], Buffer],
        after: Callable[[int, Buffer], None] | None = None,
    ) -> None:
        """Read every patch ``k`` into ``destination(k)``, then call ``after(k, buffer)``."""
        slide.plan(self.target, resampling_mode=resampling_mode)  # fail fast, unwrapped
        ps, idx, xs, ys, size = self.patch_set, self.idx, self.xs, self.ys, self.chunksize

        def read_chunk(start: int) -> None:
            for k in range(start, min(start + size, self.count)):
                i = int(idx[k])
                buf = read_one_patch(
                    slide=slide,
                    index=i,
                    location=(int(xs[i]), int(ys[i])),
                    size=(int(ps.width[i]), int(ps.height[i])),
                    resolution=self.target,
                    resampling_mode=resampling_mode,
                    out=destination(k),
                )
                if after is not None:
                    after(k, buf)

        run_on_threads(read_chunk, range(0, self.count, size), num_workers=self.num_workers)
