"""PyTorch adapter: an ``IterableDataset`` of patches, split over ranks and DataLoader workers.

Needs the optional extra ``slidepatch[torch]``; ``import slidepatch`` never imports torch,
only ``import slidepatch.torchdata`` does. Each DataLoader worker is already a process,
so the dataset reads in-process with a thread pool (``read_patches_into``), chunk by
chunk, and no shared memory is involved. Every worker of every rank computes the same
epoch order (:mod:`slidepatch.pools._stream_order`: a function of the input, ``seed``,
the epoch, the rank and the worker only) and takes its own disjoint part, so each patch
is delivered exactly once per epoch; the order can mix slides, be reshuffled every epoch
(:meth:`PatchIterableDataset.set_epoch`) and resume mid-epoch
(:meth:`PatchIterableDataset.state_dict`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    import torch
    from torch.utils.data import IterableDataset, get_worker_info
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "slidepatch.torchdata needs PyTorch; install it with: pip install 'slidepatch[torch]'"
    ) from exc

from slidepatch.extract.base import check_resampling_mode
from slidepatch.extract.reader import check_chunksize, check_num_workers, read_patches_into
from slidepatch.locations.online import OnlineRandomPatches
from slidepatch.locations.patchset import PatchSet, PatchSource
from slidepatch.pools._distributed import resolve_rank
from slidepatch.pools._epoch_sources import EpochSources
from slidepatch.pools._inputs import label_filters
from slidepatch.pools._stream_order import (
    Balance,
    Mixing,
    ShardOrder,
    check_count,
    epoch_order,
    round_robin,
    shard_bounds,
    shard_of,
)
from slidepatch.pools._stream_worker import MAX_OPEN_SLIDES, OpenSlides
from slidepatch.resolution import Level, Mpp
from slidepatch.slide.slide import ResamplingMode

__all__ = ["PatchIterableDataset", "shard_slides"]

Item = tuple[Any, str, dict[str, int | float | str]]
"""``(image, label, meta)``: the image is a ``(3, h, w)`` uint8 tensor, or what ``transform``
made of it."""


def shard_slides(*, patch_counts: Sequence[int], num_shards: int) -> list[list[int]]:
    """Split slide indices into ``num_shards`` lists of similar total patch count.

    Largest slides first, each to the currently lightest shard (ties: lowest shard);
    every shard then lists its slides in input order. Deterministic. Whole slides only,
    so shards can be empty or unequal; :class:`PatchIterableDataset` now splits at patch
    granularity instead (:mod:`slidepatch.pools._stream_order`) and this stays for callers.
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    loads = [0] * num_shards
    shards: list[list[int]] = [[] for _ in range(num_shards)]
    for s in sorted(range(len(patch_counts)), key=lambda i: (-int(patch_counts[i]), i)):
        target = min(range(num_shards), key=lambda k: (loads[k], k))
        shards[target].append(s)
        loads[target] += int(patch_counts[s])
    return [sorted(shard) for shard in shards]


class PatchIterableDataset(IterableDataset[Item]):  # type: ignore[misc,unused-ignore]
    """Patches of many slides as ``(image, label, meta)`` items for a ``DataLoader``.

    ``image`` is a ``(3, h, w)`` uint8 tensor, or ``transform(that tensor)`` when a
    ``transform`` is given. ``meta`` is a dict: ``slide_index`` (position in the input),
    ``patch_index`` (index in that slide's input PatchSet, before label filtering),
    ``x``, ``y`` (level-0 top-left), ``slide_path``, ``level`` (the pyramid level read,
    -1 when read at an MPP) and ``mpp`` (the MPP read, NaN when read at a level).

    The epoch is split into disjoint parts, one per DataLoader worker of each rank
    (``rank``/``world_size``, default: torch.distributed's when initialised, else 0 and
    1), whose sizes differ by at most one patch. By default a worker reads its slides one
    after another in input order; ``shuffle=True`` reorders slides (and visits) every
    epoch, seeded by ``seed`` and :meth:`set_epoch`; ``open_slides``,
    ``patches_per_visit`` and ``shuffle_buffer`` interleave slides within a worker;
    ``label_weights``/``slide_weights``/``epoch_size`` draw a weighted epoch with
    replacement; :class:`~slidepatch.locations.OnlineRandomPatches` items in
    ``patches_pool`` draw new locations every epoch. Each worker reads ``chunk_size``
    patches at a time with ``thread_num_workers`` threads.
    """

    def __init__(
        self,
        *,
        patches_pool: Iterable[PatchSource | OnlineRandomPatches],
        thread_num_workers: int = 1,
        transform: Callable[[torch.Tensor], object] | None = None,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        chunk_size: int = 64,
        rank: int | None = None,
        world_size: int | None = None,
        seed: int = 0,
        shuffle: bool = False,
        open_slides: int = 1,
        patches_per_visit: int | None = None,
        shuffle_buffer: int = 0,
        label_weights: Mapping[str, float] | None = None,
        slide_weights: Sequence[float] | None = None,
        epoch_size: int | None = None,
    ) -> None:
        super().__init__()
        self._threads = check_num_workers(thread_num_workers, name="thread_num_workers")
        self._chunk = check_chunksize(chunk_size, name="chunk_size")
        self._resampling_mode = check_resampling_mode(resampling_mode)
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {transform!r}")
        self._transform = transform
        included, excluded = label_filters(included_labels, excluded_labels)
        self._sources = EpochSources.collect(patches_pool, included=included, excluded=excluded)
        self._labels = self._sources.labels()
        self._rank, self._world = resolve_rank(rank=rank, world_size=world_size)
        self._seed = check_count(seed, name="seed")
        self._epoch = 0
        self._mixing = Mixing(
            open_slides=open_slides,
            patches_per_visit=patches_per_visit,
            shuffle_buffer=shuffle_buffer,
            shuffle=bool(shuffle),
        )
        self._balance = Balance(
            label_weights=None if label_weights is None else dict(label_weights),
            slide_weights=None if slide_weights is None else tuple(map(float, slide_weights)),
            epoch_size=epoch_size,
        )
        # (num_workers, patches consumed per shard, the shard whose turn is next)
        self._resume: tuple[int, list[int], int] | None = None
        self._resume_epoch = -1

    def __len__(self) -> int:
        """Patches in one epoch of this rank (all its workers together)."""
        n = sum(len(labels) for labels in self._labels)
        if self._balance.active:
            n = n if self._balance.epoch_size is None else self._balance.epoch_size
        bounds = shard_bounds(n, self._world)
        return int(bounds[self._rank + 1] - bounds[self._rank])

    @property
    def slide_paths(self) -> list[str]:
        return self._sources.slide_paths

    @property
    def epoch(self) -> int:
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order from the next iteration (call it before each epoch).

        With ``DataLoader(persistent_workers=True)`` the workers keep the epoch they
        started with; leave it off to reshuffle every epoch.
        """
        self._epoch = check_count(epoch, name="epoch")
        if self._resume is not None and self._resume_epoch != self._epoch:
            self._resume = None

    def shard(self, *, worker_id: int, num_workers: int) -> list[int]:
        """The slide indices that DataLoader worker ``worker_id`` of ``num_workers`` reads."""
        order = self._order(worker=worker_id, num_workers=num_workers)
        return sorted(set(order.slide.tolist()))

    # ------------------------------------------------------------------ resume
    def state_dict(self, *, batches: int, batch_size: int, num_workers: int) -> dict[str, object]:
        """Where this rank's epoch stands after its DataLoader handed out ``batches`` batches.

        ``batch_size`` and ``num_workers`` are the DataLoader's (``drop_last=False``). A
        DataLoader takes a batch from each worker in turn, so this says how many patches
        every worker delivered and whose turn is next; :meth:`load_state_dict` on a
        dataset made with the same arguments makes the next iteration of this epoch
        deliver exactly the rest, in the same order. Counted from the last
        :meth:`load_state_dict` of this epoch, if any.
        """
        workers = max(1, int(num_workers))
        done, turn = [0] * workers, 0
        if self._resume is not None and self._resume_epoch == self._epoch:
            if self._resume[0] != workers:
                raise ValueError("num_workers differs from the state this epoch resumed from")
            _, done, turn = self._resume
        shards = [(w + turn) % workers for w in range(workers)]  # loader worker -> shard
        left = [len(self._order(worker=sh, num_workers=workers)) - done[sh] for sh in shards]
        now, next_turn = round_robin(counts=left, batch_size=batch_size, batches=batches)
        consumed = list(done)
        for w, sh in enumerate(shards):
            consumed[sh] += now[w]
        return {
            **self._key(),
            "num_workers": workers,
            "consumed": consumed,
            "next_worker": (next_turn + turn) % workers,
        }

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Resume the epoch ``state`` describes: its next iteration skips what was delivered."""
        epoch = state.get("epoch")
        if not isinstance(epoch, int):
            raise ValueError("state has no epoch; pass what state_dict() returned")
        self._epoch = epoch
        mine = self._key()
        for key, value in mine.items():
            if state.get(key) != value:
                raise ValueError(
                    f"cannot resume this dataset from that state: {key} is "
                    f"{state.get(key)!r} there and {value!r} here (resume with the same "
                    "slides, locations, seed, rank, world_size and mixing)"
                )
        workers, consumed = state.get("num_workers"), state.get("consumed")
        turn = state.get("next_worker", 0)
        if (
            not isinstance(workers, int)
            or not isinstance(consumed, list)
            or not isinstance(turn, int)
            or len(consumed) != workers
        ):
            raise ValueError("state: num_workers and next_worker must be ints, consumed a list")
        self._resume = (workers, [int(c) for c in consumed], turn)
        self._resume_epoch = epoch

    def _key(self) -> dict[str, object]:
        return {
            "seed": self._seed,
            "epoch": self._epoch,
            "rank": self._rank,
            "world_size": self._world,
            "open_slides": self._mixing.open_slides,
            "patches_per_visit": self._mixing.patches_per_visit or 0,
            "shuffle_buffer": self._mixing.shuffle_buffer,
            "shuffle": int(self._mixing.shuffle),
            "fingerprint": self._fingerprint(),
        }

    def _fingerprint(self) -> str:
        digest = hashlib.blake2b(digest_size=16)
        for s, src in enumerate(self._sources.sources):
            digest.update(src.slide_path.encode() + b"\0")
            if isinstance(src, PatchSet):
                for arr in (self._sources.kept_of(s, src), src.x, src.y):
                    digest.update(np.ascontiguousarray(arr).tobytes())
            else:
                digest.update(repr((src.num_patches, src.patch_size, src.level_or_mpp)).encode())
                if src.qc is not None:  # other qc= filters draw other locations
                    digest.update(repr(src.qc).encode())
        digest.update(repr(self._balance).encode())
        return digest.hexdigest()

    # ------------------------------------------------------------------ iteration
    def _order(self, *, worker: int, num_workers: int) -> ShardOrder:
        shard, num_shards = shard_of(
            rank=self._rank, world_size=self._world, worker=worker, num_workers=num_workers
        )
        return epoch_order(
            labels=self._labels,
            seed=self._seed,
            epoch=self._epoch,
            shard=shard,
            num_shards=num_shards,
            mixing=self._mixing,
            balance=self._balance,
        )

    def __iter__(self) -> Iterator[Item]:
        info = get_worker_info()
        worker_id, num_workers = (0, 1) if info is None else (info.id, info.num_workers)
        if self._resume is not None and self._resume_epoch == self._epoch:
            workers, done, turn = self._resume
            if workers != num_workers:
                raise ValueError(
                    f"the state was saved with {workers} DataLoader workers; "
                    f"resume with the same number (got {num_workers})"
                )
            shard = (worker_id + turn) % num_workers  # worker 0 takes the next turn
            order = self._order(worker=shard, num_workers=num_workers).skip(done[shard])
        else:
            order = self._order(worker=worker_id, num_workers=num_workers)
        slides = OpenSlides()
        sets: dict[int, PatchSet] = {}  # this epoch's sets (online slides drawn when first met)
        try:
            for start in range(0, len(order), self._chunk):
                yield from self._chunk_items(order.skip(start), slides, sets)
        finally:
            slides.close()

    def _chunk_items(
        self, order: ShardOrder, slides: OpenSlides, sets: dict[int, PatchSet]
    ) -> Iterator[Item]:
        """The next ``chunk_size`` patches of ``order``: read slide by slide, yielded in order."""
        chunk_slides = order.slide[: self._chunk]
        chunk_index = order.index[: self._chunk]
        images: list[npt.NDArray[np.uint8]] = [np.empty(0, np.uint8)] * len(chunk_slides)
        distinct = sorted(set(chunk_slides.tolist()))
        slides.limit = min(MAX_OPEN_SLIDES, max(self._mixing.open_slides, 2 * len(distinct)))
        for s in distinct:
            rows = np.flatnonzero(chunk_slides == s)
            if s not in sets:
                sets[s] = self._sources.epoch_set(s, seed=self._seed, epoch=self._epoch)
            ps = sets[s]
            idx = chunk_index[rows]
            bufs = _buffers(ps, idx)
            read_patches_into(
                slide=slides.get(ps),
                patch_set=ps,
                out=bufs,
                indices=idx,
                resampling_mode=self._resampling_mode,
                num_workers=self._threads,
            )
            for r, buf in zip(rows.tolist(), bufs, strict=True):
                images[r] = buf
        for k in range(len(chunk_slides)):
            s = int(chunk_slides[k])
            yield self._item(s, sets[s], int(chunk_index[k]), images[k])

    def _item(self, s: int, ps: PatchSet, i: int, image: npt.NDArray[np.uint8]) -> Item:
        tensor = torch.from_numpy(image).permute(2, 0, 1)
        res = ps.resolution
        meta: dict[str, int | float | str] = {
            "slide_index": s,
            "patch_index": int(self._sources.kept_of(s, ps)[i]),
            "x": int(ps.x[i]),
            "y": int(ps.y[i]),
            "slide_path": ps.slide_path,
            "level": res.index if isinstance(res, Level) else -1,
            "mpp": res.um_per_px if isinstance(res, Mpp) else math.nan,
        }
        out = tensor if self._transform is None else self._transform(tensor)
        return out, ps.labels[i], meta


def _buffers(ps: PatchSet, idx: npt.NDArray[np.int64]) -> list[npt.NDArray[np.uint8]]:
    """Fresh (h, w, 3) arrays for the patches ``idx`` (fresh: yielded tensors share them)."""
    return [np.empty((int(ps.height[i]), int(ps.width[i]), 3), dtype=np.uint8) for i in idx]
