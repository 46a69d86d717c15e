"""The stream for training: rank splits, mixed batches, seeded epochs, exact resume, pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from slidepatch import PatchSet
from slidepatch.pools.stream import PatchBatch, iter_patch_batches
from slidepatch.slide.slide import Slide

pytestmark = pytest.mark.usefixtures("no_shm_leak")

SIZE = 64
MIX: dict[str, Any] = {
    "shuffle": True,
    "open_slides": 4,
    "patches_per_visit": 16,
    "shuffle_buffer": 4096,
}


@pytest.fixture(scope="module")
def many_sets(synthetic_slides: list[Path], cmu_small: Path, make_grid: Any) -> list[PatchSet]:
    """Six slide inputs of 64 px patches on three real files (the same file may repeat)."""
    sets = [
        make_grid(synthetic_slides[0], size=SIZE, step=200),
        make_grid(synthetic_slides[1], size=SIZE, step=260, labels=("x", "y", "z")),
        make_grid(cmu_small, size=SIZE, step=350, limit=(2220, 2967)),
        make_grid(synthetic_slides[1], level_or_mpp=1, size=SIZE, step=500),
        make_grid(synthetic_slides[0], size=SIZE, step=450),
        make_grid(cmu_small, size=SIZE, step=700, limit=(2220, 2967)),
    ]
    return sets


def _stream(sets: list[PatchSet], **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "patches_pool": sets,
        "batch_size": 32,
        "memory_budget": "8MiB",
        "proc_num_workers": 2,
        "thread_num_workers": 1,
    }
    return iter_patch_batches(**{**args, **kwargs})


def _keys(batches: list[PatchBatch]) -> list[tuple[int, int]]:
    return [
        (int(s), int(i))
        for b in batches
        for s, i in zip(b.slide_index.tolist(), b.patch_index.tolist(), strict=True)
    ]


def _read(ps: PatchSet, i: int) -> np.ndarray:
    with Slide.open(ps.slide_path) as slide:
        return slide.read_region((int(ps.x[i]), int(ps.y[i])), ps.level_or_mpp, (SIZE, SIZE))


def test_mixed_stream_delivers_every_patch_once_with_its_pixels(
    many_sets: list[PatchSet],
) -> None:
    total = sum(len(ps) for ps in many_sets)
    with _stream(many_sets, **MIX) as stream:
        assert stream.patch_count == total
        batches = [b.copy() for b in stream]
    keys = _keys(batches)
    assert len(keys) == len(set(keys)) == total
    assert set(keys) == {(s, i) for s, ps in enumerate(many_sets) for i in range(len(ps))}
    # Batches mix slides; an unmixed stream's batches hold one or two.
    mixed = [len(set(b.slide_index.tolist())) for b in batches[:-1]]
    assert float(np.median(mixed)) >= 4
    for b in batches[::3]:
        for k in range(0, len(b), 5):
            ps = many_sets[int(b.slide_index[k])]
            i = int(b.patch_index[k])
            assert b.labels[k] == ps.labels[i]
            assert tuple(b.locations[k].tolist()) == (int(ps.x[i]), int(ps.y[i]))
            np.testing.assert_array_equal(b.images[k], _read(ps, i))


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_get_disjoint_parts_whose_union_is_the_epoch(
    many_sets: list[PatchSet], world_size: int
) -> None:
    parts = []
    for rank in range(world_size):
        with _stream(many_sets, rank=rank, world_size=world_size, **MIX) as stream:
            parts.append(_keys([b.copy() for b in stream]))
    flat = [k for part in parts for k in part]
    total = sum(len(ps) for ps in many_sets)
    assert len(flat) == len(set(flat)) == total
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_same_seed_same_order_and_a_new_epoch_reorders(many_sets: list[PatchSet]) -> None:
    def order(**kw: Any) -> list[tuple[int, int]]:
        with _stream(many_sets, proc_num_workers=1, **MIX, **kw) as stream:
            return _keys(list(stream))

    first = order(seed=7, epoch=0)
    assert order(seed=7, epoch=0) == first
    assert order(seed=7, epoch=1) != first and sorted(order(seed=7, epoch=1)) == sorted(first)


@pytest.mark.parametrize("ordered", [True, False])
def test_resume_after_k_batches_delivers_exactly_the_rest(
    many_sets: list[PatchSet], ordered: bool
) -> None:
    with _stream(many_sets, seed=3, epoch=2, ordered=ordered, **MIX) as stream:
        full = _keys([b.copy() for b in stream])
    stream = _stream(many_sets, seed=3, epoch=2, ordered=ordered, **MIX)
    head = [next(stream).copy() for _ in range(3)]
    state = stream.state_dict()
    stream.close()
    with _stream(many_sets, seed=3, epoch=2, ordered=ordered, **MIX) as resumed:
        resumed.load_state_dict(state)
        rest = [b.copy() for b in resumed]
    got = _keys(head) + _keys(rest)
    if ordered:
        assert got == full
    else:
        assert sorted(got) == sorted(full) and len(set(got)) == len(full)
    with _stream(many_sets, seed=4, epoch=2, ordered=ordered, **MIX) as other:
        with pytest.raises(ValueError, match="seed"):
            other.load_state_dict(state)
        next(other)
        with pytest.raises(RuntimeError, match="before the first batch"):
            other.load_state_dict(state)


def test_label_weights_draw_a_weighted_epoch(many_sets: list[PatchSet]) -> None:
    with _stream(many_sets[1:2], label_weights={"x": 1.0}, epoch_size=100, **MIX) as stream:
        batches = [b.copy() for b in stream]
    labels = [lab for b in batches for lab in b.labels.tolist()]
    assert len(labels) == 100 and set(labels) == {"x"}


def test_rank_needs_world_size(many_sets: list[PatchSet]) -> None:
    with pytest.raises(ValueError, match="together"):
        _stream(many_sets, rank=0)
    with pytest.raises(ValueError, match="rank"):
        _stream(many_sets, rank=2, world_size=2)


@pytest.fixture(scope="module")
def online(synthetic_slides: list[Path], cmu_small: Path) -> list[Any]:
    from slidepatch import OnlineRandomPatches, WSITissueMask

    return [
        OnlineRandomPatches(
            wsi_file=path,
            mask_data=WSITissueMask(wsi_file=path, level_or_minsize=0 if path == cmu_small else 1),
            num_patches=40,
            patch_size=SIZE,
            weak_label="tissue",
            foreground_ratio=0.5,
        )
        for path in (synthetic_slides[0], cmu_small)
    ]


def test_online_sampling_draws_new_locations_each_epoch_on_the_tissue(
    online: list[Any], many_sets: list[PatchSet]
) -> None:
    def epoch(e: int, **kw: Any) -> list[PatchBatch]:
        pool = [*online, many_sets[1]]
        with _stream(pool, seed=1, epoch=e, **MIX, **kw) as stream:
            return [b.copy() for b in stream]

    first, again, second = epoch(0), epoch(0), epoch(1)

    def where(batches: list[PatchBatch], slide: int) -> set[tuple[int, int]]:
        return {
            (int(x), int(y))
            for b in batches
            for (x, y), s in zip(b.locations.tolist(), b.slide_index.tolist(), strict=True)
            if s == slide
        }

    assert len(where(first, 0)) == 40 and len(where(first, 1)) == 40
    assert where(first, 0) == where(again, 0)  # seeded by (seed, epoch, slide)
    assert where(first, 0) != where(second, 0)  # new locations next epoch
    # The fixed slide keeps its locations.
    assert sum(int(np.sum(b.slide_index == 2)) for b in first) == len(many_sets[1])
    # Pixels are those of the drawn locations.
    b = first[0]
    k = int(np.flatnonzero(b.slide_index <= 1)[0])
    path = online[int(b.slide_index[k])].slide_path
    with Slide.open(path) as slide:
        x, y = b.locations[k].tolist()
        np.testing.assert_array_equal(b.images[k], slide.read_region((x, y), 0, (SIZE, SIZE)))
    # Two ranks draw the same epoch and split it.
    parts = [
        {
            (int(s), (int(x), int(y)))
            for bb in epoch(0, rank=r, world_size=2)
            for (x, y), s in zip(bb.locations.tolist(), bb.slide_index.tolist(), strict=True)
        }
        for r in (0, 1)
    ]
    assert not parts[0] & parts[1]
    assert {loc for s, loc in parts[0] | parts[1] if s == 0} == where(first, 0)


def test_online_sampling_with_too_little_tissue_names_the_slide(
    synthetic_slides: list[Path],
) -> None:
    from slidepatch import LocationError, OnlineRandomPatches

    empty = np.zeros((96, 128), dtype=bool)
    bad = OnlineRandomPatches(wsi_file=synthetic_slides[0], mask_data=empty, num_patches=5)
    with pytest.raises(LocationError, match=r"slide0\.svs"):
        _stream([bad])


def test_mixed_multires_stream_matches_the_multires_memory_pool(
    many_sets: list[PatchSet],
) -> None:
    from slidepatch.pools import MultiResMemPatchExtractorPool

    sets = many_sets[:2]
    levels = [0, 1]
    pool = MultiResMemPatchExtractorPool(
        patches_pool=sets, levels_or_mpps=levels, proc_num_workers=1, thread_num_workers=2
    )
    offsets = np.cumsum([0, *[len(ps) for ps in sets]])
    with _stream(sets, levels_or_mpps=levels, memory_budget="16MiB", **MIX) as stream:
        batches = [b.copy() for b in stream]
    rows = np.concatenate([offsets[b.slide_index] + b.patch_index for b in batches])
    assert sorted(rows.tolist()) == list(range(pool.patchset_count))
    np.testing.assert_array_equal(np.concatenate([b.images for b in batches]), pool.images[rows])
    locations = np.concatenate([b.locations for b in batches])
    np.testing.assert_array_equal(locations, pool.locations[rows])
    pool.close()


def test_more_ranks_than_patches_leaves_some_ranks_empty(many_sets: list[PatchSet]) -> None:
    one = many_sets[2].select([0, 1, 2])
    got = []
    for rank in range(4):
        with _stream([one], rank=rank, world_size=4, **MIX) as stream:
            got.append([k for b in stream for k in b.patch_index.tolist()])
    assert sorted(k for part in got for k in part) == [0, 1, 2]
    assert sorted(map(len, got)) == [0, 1, 1, 1]
