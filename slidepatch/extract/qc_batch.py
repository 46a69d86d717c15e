"""Quality scores for many patches at the cost of a few: :class:`QcBatch`.

One :func:`~slidepatch.extract.qc.qc_scores` call is ~25 small numpy calls, and inside an
extractor each runs with cold caches (between a tile decode and an encode): about 60 µs
a patch, most of it dispatch, not arithmetic. A batch copies each patch's strided samples
(two small copies) and scores up to ``size`` patches with the same few calls
(:func:`~slidepatch.extract.qc.score_views`), giving the same values as ``qc_scores``.

``add`` returns the patch's :class:`PendingScores` at once: a handle that reads like a
:class:`~slidepatch.extract.qc.QcScores` and gets its five pixel scores when the batch is
scored: when it is full, or when one of its scores is first read (a ``qc=`` filter reads
them at once, the manifests at the end). Threads may add and read concurrently.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from slidepatch.extract.qc import (
    QC_STEP,
    QcScores,
    fraction_step,
    make_scores,
    qc_scores,
    score_views,
)

QC_BATCH_SIZE = 16
_BATCH_BYTES = 8 << 20  # at most this much sample memory per pending batch
_READ_AHEAD_BYTES = 32 << 20  # at most about this much image memory held to read ahead


def read_ahead_count(image_bytes: int) -> int:
    """How many samples a writer holds so that their batch is scored before it reads
    the first one's scores: a batch, fewer for samples of many pixels (memory)."""
    return max(1, min(QC_BATCH_SIZE, _READ_AHEAD_BYTES // max(1, image_bytes)))


class PendingScores:
    """A patch's scores from a :class:`QcBatch`, scored with its batch: when the batch is
    full, or when one of them is first read here. Reads like a ``QcScores``, compares
    equal to the same scores, and pickles or copies as the ``QcScores`` it stands for."""

    __slots__ = ("_batch", "_scores", "artifact", "mask_tissue")

    def __init__(self, *, artifact: float | None, mask_tissue: float | None) -> None:
        self._batch: _Pending | None = None
        self._scores: QcScores | None = None
        self.artifact = artifact
        self.mask_tissue = mask_tissue

    @property
    def ready(self) -> bool:
        """Whether the batch is scored (reading costs nothing)."""
        return self._scores is not None

    def get(self) -> QcScores:
        """The scores (scoring the batch first if it is not yet)."""
        if self._scores is None:
            assert self._batch is not None, "a PendingScores belongs to a batch"
            self._batch.score()
        assert self._scores is not None
        return self._scores

    def _fill(self, scores: QcScores) -> None:
        self._scores = scores
        self._batch = None

    @property
    def tissue(self) -> float:
        return self.get().tissue

    @property
    def white(self) -> float:
        return self.get().white

    @property
    def black(self) -> float:
        return self.get().black

    @property
    def gray(self) -> float:
        return self.get().gray

    @property
    def blur(self) -> float:
        return self.get().blur

    def values(self) -> tuple[float | None, ...]:
        return self.get().values()

    def as_dict(self) -> dict[str, float | None]:
        return self.get().as_dict()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PendingScores):
            other = other.get()
        return self.get() == other if isinstance(other, QcScores) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like a mutable value: not a dict key

    def __reduce__(self) -> tuple[type[QcScores], tuple[float | None, ...]]:
        return (QcScores, self.values())

    def __copy__(self) -> QcScores:
        return self.get()

    def __repr__(self) -> str:
        return f"PendingScores({self._scores!r})" if self.ready else "PendingScores(<unscored>)"


#: Scores as the extractors record them: computed at once, or with their batch.
Scores = QcScores | PendingScores


def is_scored(scores: Scores) -> bool:
    """Whether reading ``scores`` costs nothing (its batch is scored, or it had none): a
    writer holding samples for their scores can write this one now."""
    return not isinstance(scores, PendingScores) or scores.ready


_Shape = tuple[int, int]


class QcBatch:
    """Scores patches in batches of up to ``size`` (see the module docstring)."""

    def __init__(self, *, size: int = QC_BATCH_SIZE, step: int = QC_STEP) -> None:
        if size < 1 or step < 1:
            raise ValueError(f"QcBatch: size and step must be >= 1, got {size}, {step}")
        self._size = size
        self._step = step
        self._lock = threading.Lock()
        self._open: dict[_Shape, _Pending] = {}  # the batch filling, per patch shape

    def add(
        self,
        image: npt.NDArray[np.uint8],
        *,
        artifact: float | None = None,
        mask_tissue: float | None = None,
    ) -> Scores:
        """The scores of one RGB patch ``(h, w, 3)``, as :func:`qc_scores` gives them."""
        height, width = image.shape[0], image.shape[1]
        step = self._step
        if height < 1 or width < 1:
            return qc_scores(image, step=step, artifact=artifact, mask_tissue=mask_tissue)
        scores = PendingScores(artifact=artifact, mask_tissue=mask_tissue)
        shape = (height, width)
        with self._lock:
            pending = self._open.get(shape)
            if pending is None:
                pending = self._open[shape] = _Pending(self, shape, step=step, size=self._size)
            full = pending.put(image, scores)
            if full:
                del self._open[shape]
        if full:
            pending.score()
        return scores

    def _close(self, pending: _Pending) -> None:
        """No more patches into ``pending`` (it is being scored)."""
        with self._lock:
            if self._open.get(pending.shape) is pending:
                del self._open[pending.shape]


class _Pending:
    """One batch: the samples of its patches, and their scores to fill in."""

    def __init__(self, owner: QcBatch, shape: _Shape, *, step: int, size: int) -> None:
        height, width = shape
        self.shape = shape
        self._owner = owner
        self._fstep = fraction_step(height, width, step=step)
        self._step = step
        hf, wf = -(-height // self._fstep), -(-width // self._fstep)
        hb, wb = -(-height // step), -(-width // step)
        per_patch = 3 * hf * wf + hb * wb
        self._capacity = max(1, min(size, _BATCH_BYTES // per_patch))
        self._planes = np.empty((self._capacity, 3, hf, wf), np.uint8)
        self._green = np.empty((self._capacity, hb, wb), np.uint8)
        self._scores: list[PendingScores] = []
        self._lock = threading.Lock()
        self._done = False

    def put(self, image: npt.NDArray[np.uint8], scores: PendingScores) -> bool:
        """Copy the patch's samples into the next slot (the owner's lock is held); True
        when that was the last slot."""
        k = len(self._scores)
        fstep, step = self._fstep, self._step
        self._planes[k] = image[::fstep, ::fstep].transpose(2, 0, 1)
        self._green[k] = image[::step, ::step, 1]
        scores._batch = self  # the five scores come when the batch is scored
        self._scores.append(scores)
        return k + 1 == self._capacity

    def score(self) -> None:
        """Score every patch added so far and fill in their scores (once)."""
        with self._lock:
            if self._done:
                return
            self._owner._close(self)
            k = len(self._scores)
            counts = score_views(self._planes[:k], self._green[:k])
            for scores, c in zip(self._scores, counts, strict=True):
                scores._fill(
                    make_scores(c, artifact=scores.artifact, mask_tissue=scores.mask_tissue)
                )
            self._planes = self._green = np.empty((0, 0, 0, 0), np.uint8)
            self._scores = []
            self._done = True
