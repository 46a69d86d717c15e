"""PyTorch adapter: an ``IterableDataset`` of patches, sharded by slide over DataLoader workers.

Needs the optional extra ``slidepatch[torch]``; ``import slidepatch`` never imports torch,
only ``import slidepatch.torchdata`` does. Each DataLoader worker is already a process,
so the dataset reads in-process with a thread pool (``read_patches_into``), chunk by
chunk, and no shared memory is involved. Slides are split between the workers with a
deterministic, patch-count-balanced assignment that every worker computes identically,
so each patch is delivered exactly once per epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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

from slidepatch.extract.base import check_resampling_mode, filter_patch_set
from slidepatch.extract.reader import check_chunksize, check_num_workers, read_patches_into
from slidepatch.locations.patchset import PatchSet
from slidepatch.pools._inputs import collect_patch_sets, label_filters
from slidepatch.pools._stream_plan import kept_indices
from slidepatch.slide.slide import ResamplingMode, Slide

__all__ = ["PatchIterableDataset", "shard_slides"]

Item = tuple[Any, str, dict[str, Any]]


def shard_slides(*, patch_counts: Sequence[int], num_shards: int) -> list[list[int]]:
    """Split slide indices into ``num_shards`` lists of similar total patch count.

    Largest slides first, each to the currently lightest shard (ties: lowest shard);
    every shard then lists its slides in input order. Deterministic, so every DataLoader
    worker computes the same split and takes its own part.
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
    ``x``, ``y`` (level-0 top-left) and ``slide_path``. Within a worker, items come in
    slide order then patch order; with ``num_workers > 1`` the DataLoader interleaves
    workers. Each worker reads ``chunk_size`` patches at a time with
    ``thread_num_workers`` threads.
    """

    def __init__(
        self,
        *,
        patches_pool: object,
        thread_num_workers: int = 1,
        transform: Callable[[torch.Tensor], Any] | None = None,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        chunk_size: int = 64,
    ) -> None:
        super().__init__()
        self._threads = check_num_workers(thread_num_workers, name="thread_num_workers")
        self._chunk = check_chunksize(chunk_size, name="chunk_size")
        self._resampling_mode = check_resampling_mode(resampling_mode)
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {transform!r}")
        self._transform = transform
        included, excluded = label_filters(included_labels, excluded_labels)
        sources = collect_patch_sets(patches_pool)
        self._sets = [filter_patch_set(ps, included=included, excluded=excluded) for ps in sources]
        self._kept = [kept_indices(ps, included=included, excluded=excluded) for ps in sources]

    def __len__(self) -> int:
        """Patches in one epoch (all workers together)."""
        return sum(len(ps) for ps in self._sets)

    @property
    def slide_paths(self) -> list[str]:
        return [ps.slide_path for ps in self._sets]

    def shard(self, *, worker_id: int, num_workers: int) -> list[int]:
        """The slide indices that DataLoader worker ``worker_id`` of ``num_workers`` reads."""
        counts = [len(ps) for ps in self._sets]
        return shard_slides(patch_counts=counts, num_shards=num_workers)[worker_id]

    def __iter__(self) -> Iterator[Item]:
        info = get_worker_info()
        worker_id, num_workers = (0, 1) if info is None else (info.id, info.num_workers)
        for s in self.shard(worker_id=worker_id, num_workers=num_workers):
            yield from self._slide_items(s)

    def _slide_items(self, s: int) -> Iterator[Item]:
        ps = self._sets[s]
        if not len(ps):
            return
        with Slide.open(ps.slide_path, backend=ps.backend, mpp=ps.slide_mpp) as slide:  # type: ignore[arg-type]
            for start in range(0, len(ps), self._chunk):
                idx = np.arange(start, min(start + self._chunk, len(ps)), dtype=np.int64)
                images = _buffers(ps, idx)
                read_patches_into(
                    slide=slide,
                    patch_set=ps,
                    out=images,
                    indices=idx,
                    resampling_mode=self._resampling_mode,
                    num_workers=self._threads,
                )
                for k, i in enumerate(idx.tolist()):
                    yield self._item(s, i, images[k])

    def _item(self, s: int, i: int, image: npt.NDArray[np.uint8]) -> Item:
        ps = self._sets[s]
        tensor = torch.from_numpy(image).permute(2, 0, 1)
        meta = {
            "slide_index": s,
            "patch_index": int(self._kept[s][i]),
            "x": int(ps.x[i]),
            "y": int(ps.y[i]),
            "slide_path": ps.slide_path,
        }
        out = tensor if self._transform is None else self._transform(tensor)
        return out, ps.labels[i], meta


def _buffers(ps: PatchSet, idx: npt.NDArray[np.int64]) -> list[npt.NDArray[np.uint8]]:
    """Fresh (h, w, 3) arrays for the patches ``idx`` (fresh: yielded tensors share them)."""
    return [np.empty((int(ps.height[i]), int(ps.width[i]), 3), dtype=np.uint8) for i in idx]
