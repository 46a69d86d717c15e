"""What every single-slide extractor shares: parameters, label filtering, opening the slide."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import TypeVar

import numpy as np

from slidepatch.extract.ordered import run_ordered
from slidepatch.extract.reader import check_chunksize, check_num_workers
from slidepatch.locations.patchset import PatchSet, PatchTuple, as_patchset
from slidepatch.slide.slide import ResamplingMode, Slide

T = TypeVar("T")

RESAMPLING_MODES = ("tile", "wsi")


def check_resampling_mode(value: object) -> ResamplingMode:
    if value is not None and value not in RESAMPLING_MODES:
        raise ValueError(f"resampling_mode must be None, 'tile' or 'wsi', got {value!r}")
    return value  # type: ignore[return-value]


def check_labels(value: object, *, name: str) -> list[str]:
    """``None`` or an iterable of labels (a bare string is one label's worth of mistakes)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of labels, got {value!r}")
    return [str(v) for v in value]


def filter_patch_set(
    patch_set: PatchSet, *, included: Sequence[str], excluded: Sequence[str]
) -> PatchSet:
    """Keep patches whose label is in ``included`` / drop those in ``excluded``, in order.

    An empty-string label is a real label. With no filter the set is returned unchanged;
    otherwise the filtered set's ``label_names`` are the labels of the retained patches.
    """
    if included and excluded:
        raise ValueError(
            f"{patch_set.slide_path}: give included_labels or excluded_labels, not both"
        )
    if not included and not excluded:
        return patch_set
    if included:
        keep_set = set(included)
        keep = [i for i, lab in enumerate(patch_set.labels) if lab in keep_set]
    else:
        drop_set = set(excluded)
        keep = [i for i, lab in enumerate(patch_set.labels) if lab not in drop_set]
    kept_labels = sorted({patch_set.labels[i] for i in keep})
    return patch_set.select(np.asarray(keep, dtype=np.int64), label_names=kept_labels)


class PatchExtractorBase:
    """Validated common parameters and the (label-filtered) PatchSet of one slide."""

    def __init__(
        self,
        *,
        patches: object,
        num_workers: int,
        mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
    ) -> None:
        self._source = as_patchset(patches)
        self._num_workers = check_num_workers(num_workers)
        self._mp_chunksize = check_chunksize(mp_chunksize)
        self._resampling_mode = check_resampling_mode(resampling_mode)
        self._included_labels = check_labels(included_labels, name="included_labels")
        self._excluded_labels = check_labels(excluded_labels, name="excluded_labels")
        self._patch_set = filter_patch_set(
            self._source, included=self._included_labels, excluded=self._excluded_labels
        )

    # ------------------------------------------------------------------ properties
    @property
    def patch_set(self) -> PatchSet:
        """The label-filtered PatchSet this extractor reads."""
        return self._patch_set

    @property
    def patch_data(self) -> list[PatchTuple]:
        return self._patch_set.patch_data

    @property
    def patch_labels(self) -> list[str]:
        return self._patch_set.patch_labels

    @property
    def patch_count(self) -> int:
        return len(self._patch_set)

    # ------------------------------------------------------------------ helpers
    def _open_slide(self) -> Slide:
        ps = self._patch_set
        return Slide.open(ps.slide_path, read_options=ps.read_options)

    def _window(self) -> int:
        return 2 * self._num_workers

    def _run_chunks(self, items: Sequence[int], work: Callable[[list[int]], T]) -> Iterator[T]:
        """Apply ``work`` to consecutive chunks of ``items`` on the thread pool, in order."""
        size = self._mp_chunksize
        chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
        tasks = (partial(work, c) for c in chunks)
        return run_ordered(tasks, num_workers=self._num_workers, window=self._window())
