"""The order of an epoch of patches: sharding, mixing, shuffling, resuming (pure functions).

An epoch is the patches of every slide (``counts[s]`` of slide ``s``), or a weighted draw
of them. Its order for one *shard* (one DataLoader worker of one rank) is a function of
``(seed, epoch, shard)`` and the input only, computed the same way in every process:

1. the slides are put in a seeded order (input order unless ``shuffle``) and their patch
   positions concatenated into one global sequence;
2. that sequence is cut into ``num_shards`` contiguous pieces whose lengths differ by at
   most one, so the shards are disjoint and complete for any shard count; a slide is
   split only where a cut falls inside it (so with fewer slides than shards, slides are
   split at patch granularity);
3. within a shard, ``open_slides`` slides are open at once and ``patches_per_visit``
   consecutive patches are drawn from one of them before moving to another (a random one
   with ``shuffle``, the next one otherwise); a finished slide is replaced by the
   shard's next slide;
4. a seeded shuffle window of ``shuffle_buffer`` patches then mixes every run of that
   many consecutive patches (only indices move: no pixels are buffered, so memory does
   not grow with the buffer).

A stream (:func:`rank_order`) cuts its rank's part once more, one piece per worker
process, and takes its batches from the pieces in turn, so each batch holds the slides
of one process. Within a slide patches keep their input order (from a seeded starting
point with ``shuffle``), so that a visit reads neighbouring patches and the tile cache keeps
working. Resuming is skipping: the order is recomputed and the first ``k`` delivered
patches are dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]

# Streams of the seed sequence, so that no two uses of one (seed, epoch) share numbers.
_SLIDES, _ROTATE, _DRAW, _SHARD, _SAMPLE = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Mixing:
    """How one shard interleaves its slides (the defaults give plain slide-by-slide order).

    ``open_slides`` slides are open at once; ``patches_per_visit`` patches (``None``: the
    whole slide) come from one before moving on; ``shuffle_buffer`` patches are shuffled
    together (0: none; needs ``shuffle``); ``shuffle`` also shuffles the slide order and
    the visits, seeded.
    """

    open_slides: int = 1
    patches_per_visit: int | None = None
    shuffle_buffer: int = 0
    shuffle: bool = False

    def __post_init__(self) -> None:
        _check_int("open_slides", self.open_slides, minimum=1)
        if self.patches_per_visit is not None:
            _check_int("patches_per_visit", self.patches_per_visit, minimum=1)
        _check_int("shuffle_buffer", self.shuffle_buffer, minimum=0)
        if self.shuffle_buffer > 1 and not self.shuffle:
            raise ValueError("shuffle_buffer needs shuffle=True (a shuffle buffer is random)")


@dataclass(frozen=True)
class ShardOrder:
    """One shard's epoch: ``slide[k]``, ``index[k]`` is its ``k``-th patch."""

    slide: Int64Array
    index: Int64Array

    def __len__(self) -> int:
        return int(self.slide.shape[0])

    def skip(self, count: int) -> ShardOrder:
        """The order without its first ``count`` patches (what a resumed shard delivers)."""
        return ShardOrder(slide=self.slide[count:], index=self.index[count:])


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def check_count(value: object, *, name: str) -> int:
    """``value`` (a seed, an epoch) as a non-negative int, or an error naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


def shard_of(*, rank: int, world_size: int, worker: int, num_workers: int) -> tuple[int, int]:
    """``(shard, num_shards)`` of DataLoader worker ``worker`` on rank ``rank`` (rank-major)."""
    _check_int("world_size", world_size, minimum=1)
    _check_int("num_workers", num_workers, minimum=1)
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank!r}")
    if not 0 <= worker < num_workers:
        raise ValueError(f"worker must be in [0, num_workers={num_workers}), got {worker!r}")
    return rank * num_workers + worker, world_size * num_workers


def rng(seed: int, epoch: int, *stream: int) -> np.random.Generator:
    """The generator of one use of ``(seed, epoch)``; the same in every process."""
    return np.random.default_rng([seed, epoch, *stream])


def slide_sequence(*, n_slides: int, seed: int, epoch: int, shuffle: bool) -> Int64Array:
    """The slides in epoch order: input order, or a permutation seeded by (seed, epoch)."""
    if not shuffle:
        return np.arange(n_slides, dtype=np.int64)
    return rng(seed, epoch, _SLIDES).permutation(n_slides).astype(np.int64)


def shard_bounds(total: int, num_shards: int) -> Int64Array:
    """Cut points of ``total`` positions into ``num_shards`` pieces differing by <= 1."""
    return (np.arange(num_shards + 1, dtype=np.int64) * total) // num_shards


def runs_between(
    *, counts: Sequence[int], sequence: Int64Array, lo: int, hi: int
) -> list[tuple[int, int, int]]:
    """The ``(slide, start, stop)`` runs of global positions ``[lo, hi)``."""
    lengths = np.asarray(counts, dtype=np.int64)[sequence]
    ends = np.cumsum(lengths)
    starts = ends - lengths
    runs = []
    for k in np.flatnonzero((ends > lo) & (starts < hi)).tolist():
        a = max(lo, int(starts[k])) - int(starts[k])
        b = min(hi, int(ends[k])) - int(starts[k])
        runs.append((int(sequence[k]), a, b))
    return runs


def interleave(
    runs: Sequence[tuple[int, int, int]],
    *,
    open_slides: int,
    patches_per_visit: int | None,
    generator: np.random.Generator | None,
) -> tuple[Int64Array, Int64Array]:
    """Visit the runs ``open_slides`` at a time, ``patches_per_visit`` patches per visit.

    Returns the slide and the slide position of every patch. ``generator`` picks the open
    slide of each visit (``None``: the open slides in turn).
    """
    lengths = [b - a for _, a, b in runs]
    step = patches_per_visit
    visits = sum(1 if step is None else -(-n // step) for n in lengths if n > 0)
    draws = generator.random(visits) if generator is not None else None
    queue = deque(run for run in runs if run[2] > run[1])
    open_: list[list[int]] = []  # [slide, next, stop]
    v_slide: list[int] = []
    v_start: list[int] = []
    v_take: list[int] = []
    turn = 0
    for v in range(visits):
        while queue and len(open_) < open_slides:
            open_.append(list(queue.popleft()))
        k = turn % len(open_) if draws is None else int(draws[v] * len(open_))
        s, a, b = open_[k]
        take = b - a if step is None else min(step, b - a)
        v_slide.append(s)
        v_start.append(a)
        v_take.append(take)
        if a + take >= b:
            open_.pop(k)
            turn = k
        else:
            open_[k][1] = a + take
            turn = k + 1
    takes = np.asarray(v_take, dtype=np.int64)
    slides = np.repeat(np.asarray(v_slide, dtype=np.int64), takes)
    # Position j of visit v is v_start[v] + (j - where visit v starts in the output).
    first = np.cumsum(takes) - takes
    positions = np.arange(int(takes.sum()), dtype=np.int64) + np.repeat(
        np.asarray(v_start, dtype=np.int64) - first, takes
    )
    return slides, positions


def window_shuffle(n: int, *, buffer: int, generator: np.random.Generator) -> Int64Array:
    """A permutation that mixes every window of ``buffer`` positions, as a shuffle buffer does.

    Position ``i`` gets the key ``clip(i, buffer, n - buffer) + U(0, buffer)`` and the
    positions are sorted by key: a patch moves by fewer than ``2 * buffer`` places, and
    the first and last ``buffer`` positions are mixed as a whole (as a shuffle buffer
    fills before its first draw and drains at the end). O(n log n), vectorised.
    """
    if buffer <= 1 or n <= 1:
        return np.arange(n, dtype=np.int64)
    base = np.clip(np.arange(n, dtype=np.float64), buffer, max(buffer, n - buffer))
    keys = base + generator.random(n) * buffer
    return np.argsort(keys, kind="stable").astype(np.int64)


def rotation(*, counts: Sequence[int], seed: int, epoch: int, shuffle: bool) -> Int64Array:
    """Per slide, the patch each epoch starts from (0 unless ``shuffle``)."""
    c = np.asarray(counts, dtype=np.int64)
    if not shuffle or not len(c):
        return np.zeros(len(c), dtype=np.int64)
    u = rng(seed, epoch, _ROTATE).random(len(c))
    return (u * c).astype(np.int64)


def shard_order(
    *,
    counts: Sequence[int],
    seed: int,
    epoch: int,
    shard: int,
    num_shards: int,
    mixing: Mixing,
    epoch_indices: Sequence[Int64Array] | None = None,
) -> ShardOrder:
    """The patches of ``shard`` in delivery order, as (slide, index in the slide's set).

    ``epoch_indices[s]`` optionally lists the patches of slide ``s`` drawn for this epoch
    (a weighted draw, see :func:`weighted_draw`); ``counts`` must then be their lengths.
    """
    if not 0 <= shard < num_shards:
        raise ValueError(f"shard must be in [0, {num_shards}), got {shard}")
    bounds = shard_bounds(int(np.asarray(counts, dtype=np.int64).sum()), num_shards)
    return _piece_order(
        counts=counts,
        seed=seed,
        epoch=epoch,
        lo=int(bounds[shard]),
        hi=int(bounds[shard + 1]),
        stream=(shard,),
        mixing=mixing,
        epoch_indices=epoch_indices,
    )


def batch_owners(*, total: int, batch_size: int, num_workers: int) -> list[int]:
    """Patches of each worker when batch ``j`` of ``total`` patches goes to worker ``j % P``."""
    nb = -(-total // batch_size)
    counts = [0] * num_workers
    for j in range(nb):
        counts[j % num_workers] += min(batch_size, total - j * batch_size)
    return counts


def rank_order(
    *,
    counts: Sequence[int],
    seed: int,
    epoch: int,
    rank: int,
    world_size: int,
    num_workers: int,
    batch_size: int,
    mixing: Mixing,
    epoch_indices: Sequence[Int64Array] | None = None,
) -> ShardOrder:
    """One rank's order for a stream of ``num_workers`` processes: batch ``j`` (of
    ``batch_size`` consecutive patches) holds only slides of process ``j % num_workers``.

    The rank's part (as :func:`shard_order` with ``world_size`` shards) is cut into one
    contiguous piece per process, each mixed on its own, and the batches are interleaved
    in turn; so a process reads each of its slides' tiles once, as in an unmixed stream.
    """
    bounds = shard_bounds(int(np.asarray(counts, dtype=np.int64).sum()), world_size)
    lo, hi = int(bounds[rank]), int(bounds[rank + 1])
    sizes = batch_owners(total=hi - lo, batch_size=batch_size, num_workers=num_workers)
    pieces = []
    start = lo
    for p, size in enumerate(sizes):
        pieces.append(
            _piece_order(
                counts=counts,
                seed=seed,
                epoch=epoch,
                lo=start,
                hi=start + size,
                stream=(rank, p, num_workers),
                mixing=mixing,
                epoch_indices=epoch_indices,
            )
        )
        start += size
    nb = -(-(hi - lo) // batch_size)
    parts = [(j % num_workers, (j // num_workers) * batch_size) for j in range(nb)]
    slide = [pieces[p].slide[a : a + batch_size] for p, a in parts]
    index = [pieces[p].index[a : a + batch_size] for p, a in parts]
    empty = np.zeros(0, dtype=np.int64)
    return ShardOrder(slide=np.concatenate([*slide, empty]), index=np.concatenate([*index, empty]))


def _piece_order(
    *,
    counts: Sequence[int],
    seed: int,
    epoch: int,
    lo: int,
    hi: int,
    stream: tuple[int, ...],
    mixing: Mixing,
    epoch_indices: Sequence[Int64Array] | None,
) -> ShardOrder:
    """Global positions ``[lo, hi)`` of the epoch's slide sequence, mixed and shuffled."""
    sequence = slide_sequence(n_slides=len(counts), seed=seed, epoch=epoch, shuffle=mixing.shuffle)
    runs = runs_between(counts=counts, sequence=sequence, lo=lo, hi=hi)
    gen = rng(seed, epoch, _SHARD, *stream) if mixing.shuffle else None
    slides, positions = interleave(
        runs,
        open_slides=mixing.open_slides,
        patches_per_visit=mixing.patches_per_visit,
        generator=gen,
    )
    c = np.asarray(counts, dtype=np.int64)
    start = rotation(counts=counts, seed=seed, epoch=epoch, shuffle=mixing.shuffle)
    if len(slides):
        positions = (positions + start[slides]) % c[slides]
    if epoch_indices is None:
        index = positions
    else:
        flat = np.concatenate([*epoch_indices, np.zeros(0, dtype=np.int64)]).astype(np.int64)
        offsets = np.cumsum(c) - c
        index = flat[offsets[slides] + positions] if len(slides) else positions
    if gen is not None and mixing.shuffle_buffer > 1:
        perm = window_shuffle(len(slides), buffer=mixing.shuffle_buffer, generator=gen)
        slides, index = slides[perm], index[perm]
    return ShardOrder(slide=slides, index=index)


def patch_weights(
    *,
    labels: Sequence[Sequence[str]],
    label_weights: Mapping[str, float] | None,
    slide_weights: Sequence[float] | None,
) -> list[npt.NDArray[np.float64]]:
    """Per slide, the sampling weight of each patch: label weight x slide weight.

    A slide's weight is shared by its patches (so a slide of weight 2 gets twice the draws
    of one of weight 1 *of the same size*); a label missing from ``label_weights`` weighs 0.
    """
    if slide_weights is not None and len(slide_weights) != len(labels):
        raise ValueError(f"slide_weights has {len(slide_weights)} entries for {len(labels)} slides")
    out = []
    for s, labs in enumerate(labels):
        if label_weights is None:
            w = np.ones(len(labs), dtype=np.float64)
        else:
            w = np.asarray([float(label_weights.get(lab, 0.0)) for lab in labs], dtype=np.float64)
        if slide_weights is not None:
            w = w * float(slide_weights[s])
        if w.size and (not np.all(np.isfinite(w)) or float(w.min()) < 0):
            raise ValueError(f"sampling weights must be finite and >= 0 (slide {s})")
        out.append(w)
    return out


def weighted_draw(
    *, weights: Sequence[npt.NDArray[np.float64]], size: int, seed: int, epoch: int
) -> list[Int64Array]:
    """``size`` patches drawn with replacement in proportion to ``weights``; per slide, sorted.

    Seeded by (seed, epoch) only, so every shard draws the same epoch and takes its part.
    """
    _check_int("epoch_size", size, minimum=0)
    flat = np.concatenate([*weights, np.zeros(0)])
    total = float(flat.sum())
    if size and total <= 0:
        raise ValueError("sampling weights are all zero: no patch can be drawn")
    drawn = (
        np.sort(rng(seed, epoch, _DRAW).choice(flat.size, size=size, p=flat / total))
        if size
        else np.zeros(0, dtype=np.int64)
    )
    ends = np.cumsum([w.size for w in weights])
    slide = np.searchsorted(ends, drawn, side="right")
    out = []
    start = 0
    for s, end in enumerate(ends.tolist()):
        mine = drawn[slide == s]
        out.append((mine - start).astype(np.int64))
        start = end
    return out


def sample_seed(*, seed: int, epoch: int, slide: int) -> int:
    """The seed of slide ``slide``'s online random locations in ``epoch`` (rank-independent)."""
    return int(rng(seed, epoch, _SAMPLE, slide).integers(2**63 - 1))


def round_robin(*, counts: Sequence[int], batch_size: int, batches: int) -> tuple[list[int], int]:
    """Patches each DataLoader worker delivered once ``batches`` batches were received, and
    the worker whose turn comes next.

    A ``DataLoader`` over an iterable dataset takes one batch from each worker in turn
    (worker 0, 1, ...), skipping workers that have finished; worker ``w`` makes
    ``ceil(counts[w] / batch_size)`` batches, the last one short.
    """
    _check_int("batch_size", batch_size, minimum=1)
    _check_int("batches", batches, minimum=0)
    made = [-(-int(c) // batch_size) for c in counts]
    if batches > sum(made):
        raise ValueError(f"{batches} batches received, but the epoch has only {sum(made)}")
    taken = [0] * len(counts)
    left = batches
    turn = 0
    while left:
        for w in range(len(counts)):
            if left and taken[w] < made[w]:
                taken[w] += 1
                left -= 1
                turn = (w + 1) % len(counts)
    consumed = [min(t * batch_size, int(c)) for t, c in zip(taken, counts, strict=True)]
    return consumed, turn


@dataclass(frozen=True)
class Balance:
    """Optional weighted sampling: each epoch draws ``epoch_size`` patches (default: as many
    as there are) with replacement, in proportion to label weight x slide weight."""

    label_weights: Mapping[str, float] | None = None
    slide_weights: tuple[float, ...] | None = None
    epoch_size: int | None = None

    @property
    def active(self) -> bool:
        return not (
            self.label_weights is None and self.slide_weights is None and self.epoch_size is None
        )


def epoch_order(
    *,
    labels: Sequence[Sequence[str]],
    seed: int,
    epoch: int,
    shard: int,
    num_shards: int,
    mixing: Mixing,
    balance: Balance,
    processes: tuple[int, int] | None = None,
) -> ShardOrder:
    """The order of ``shard`` for one epoch over slides with these patch ``labels``.

    ``processes=(num_processes, batch_size)`` gives a stream's order instead
    (:func:`rank_order`, ``shard`` being the rank): each batch from one process's slides.
    """
    counts = [len(labs) for labs in labels]
    drawn = None
    if balance.active:
        weights = patch_weights(
            labels=labels, label_weights=balance.label_weights, slide_weights=balance.slide_weights
        )
        size = sum(counts) if balance.epoch_size is None else balance.epoch_size
        drawn = weighted_draw(weights=weights, size=size, seed=seed, epoch=epoch)
        counts = [len(d) for d in drawn]
    if processes is not None:
        return rank_order(
            counts=counts,
            seed=seed,
            epoch=epoch,
            rank=shard,
            world_size=num_shards,
            num_workers=processes[0],
            batch_size=processes[1],
            mixing=mixing,
            epoch_indices=drawn,
        )
    return shard_order(
        counts=counts,
        seed=seed,
        epoch=epoch,
        shard=shard,
        num_shards=num_shards,
        mixing=mixing,
        epoch_indices=drawn,
    )
