"""The patch stream: every patch exactly once, bounded ring, clean early stop, clear errors."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from worker_faults import KillWorkerOn, stalled_copy

from slidepatch import PatchSet, WorkerDiedError
from slidepatch.errors import SlideNotFoundError, SlidepatchError
from slidepatch.pools import MultiResMemPatchExtractorPool
from slidepatch.pools.stream import PatchBatch, iter_patch_batches, parse_memory_budget
from slidepatch.slide.buffers import DECODE_OFFSET
from slidepatch.slide.slide import Slide

pytestmark = pytest.mark.usefixtures("no_shm_leak")

SIZE = 128
PATCH_BYTES = SIZE * SIZE * 3


@pytest.fixture(scope="module")
def stream_sets(synthetic_slides: list[Path], cmu_small: Path, make_grid: Any) -> list[PatchSet]:
    """Three slides, 128 px patches everywhere: level 0, level 1, and the real CMU slide."""
    return [
        make_grid(synthetic_slides[0], size=SIZE, step=192),
        make_grid(synthetic_slides[1], level_or_mpp=1, size=SIZE, step=700),
        make_grid(cmu_small, size=SIZE, step=300, limit=(2220, 2967), labels=("a", "b", "c")),
    ]


@pytest.fixture(scope="module")
def expected_pixels(stream_sets: list[PatchSet]) -> dict[tuple[int, int], np.ndarray]:
    """Every patch read directly with Slide.read_region, by (slide index, patch index)."""
    out = {}
    for s, ps in enumerate(stream_sets):
        with Slide.open(ps.slide_path) as slide:
            for i in range(len(ps)):
                out[(s, i)] = slide.read_region(
                    (int(ps.x[i]), int(ps.y[i])), ps.level_or_mpp, (SIZE, SIZE)
                )
    return out


def _collect(stream: Any) -> list[PatchBatch]:
    return [batch.copy() for batch in stream]


def _no_children() -> None:
    assert multiprocessing.active_children() == []


def test_ordered_stream_delivers_every_patch_once_with_its_pixels(
    stream_sets: list[PatchSet], expected_pixels: dict[tuple[int, int], np.ndarray]
) -> None:
    budget = int(2.5 * 24 * PATCH_BYTES)
    with iter_patch_batches(
        patches_pool=stream_sets,
        batch_size=24,
        memory_budget=budget,
        proc_num_workers=2,
        thread_num_workers=2,
    ) as stream:
        assert stream.slot_bytes == 24 * PATCH_BYTES
        assert stream.slot_count == 2
        assert stream.ring_bytes == DECODE_OFFSET + 2 * 24 * PATCH_BYTES <= budget
        total = sum(len(ps) for ps in stream_sets)
        assert stream.patch_count == total and len(stream) == -(-total // 24)
        batches = []
        for batch in stream:
            # Slots start off libjpeg-turbo's 32-byte boundary, where decoding is fast.
            assert batch.images.ctypes.data % 32 == DECODE_OFFSET
            batches.append(batch.copy())
    _no_children()
    assert [b.batch_index for b in batches] == list(range(len(batches)))
    assert all(len(b) == 24 for b in batches[:-1])
    slides = np.concatenate([b.slide_index for b in batches])
    patches = np.concatenate([b.patch_index for b in batches])
    assert slides.tolist() == [s for s, ps in enumerate(stream_sets) for _ in range(len(ps))]
    assert patches.tolist() == [i for ps in stream_sets for i in range(len(ps))]
    assert np.concatenate([b.labels for b in batches]).tolist() == [
        lab for ps in stream_sets for lab in ps.labels
    ]
    locations = np.concatenate([b.locations for b in batches])
    assert locations.tolist() == [
        [int(x), int(y)] for ps in stream_sets for x, y in zip(ps.x, ps.y, strict=True)
    ]
    images = np.concatenate([b.images for b in batches])
    assert images.shape == (total, SIZE, SIZE, 3)
    for k, key in enumerate(zip(slides.tolist(), patches.tolist(), strict=True)):
        np.testing.assert_array_equal(images[k], expected_pixels[key])


def test_unordered_stream_delivers_every_patch_once(
    stream_sets: list[PatchSet], expected_pixels: dict[tuple[int, int], np.ndarray]
) -> None:
    seen: list[tuple[int, int]] = []
    stream = iter_patch_batches(
        patches_pool=stream_sets,
        batch_size=10,
        memory_budget="20MiB",
        proc_num_workers=2,
        thread_num_workers=1,
        ordered=False,
    )
    assert stream.slot_count == 5  # capped: 2 per process + 1, although 20 MiB holds more
    for batch in stream:  # views: checked before asking for the next batch
        keys = list(zip(batch.slide_index.tolist(), batch.patch_index.tolist(), strict=True))
        for k, key in enumerate(keys):
            np.testing.assert_array_equal(batch.images[k], expected_pixels[key])
        seen.extend(keys)
    _no_children()
    assert sorted(seen) == sorted(expected_pixels)
    assert len(seen) == len(set(seen))


def test_one_slot_and_one_worker_still_stream_everything(stream_sets: list[PatchSet]) -> None:
    with iter_patch_batches(
        patches_pool=stream_sets[2:],
        batch_size=16,
        memory_budget=16 * PATCH_BYTES,
        proc_num_workers=3,
        thread_num_workers=1,
    ) as stream:
        assert stream.slot_count == 1
        count = sum(len(b) for b in stream)
    assert count == len(stream_sets[2])


def test_memory_budget_smaller_than_a_batch_is_refused(stream_sets: list[PatchSet]) -> None:
    with pytest.raises(ValueError, match="smaller than one batch"):
        iter_patch_batches(
            patches_pool=stream_sets,
            batch_size=64,
            memory_budget="1MiB",
            proc_num_workers=1,
            thread_num_workers=1,
        )


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512MiB", 512 * 2**20),
        ("2GB", 2 * 10**9),
        ("1.5 GiB", 3 * 2**29),
        ("64M", 64 * 2**20),
        (4096, 4096),
        ("100", 100),
    ],
)
def test_parse_memory_budget(text: object, size: int) -> None:
    assert parse_memory_budget(text) == size


@pytest.mark.parametrize("bad", ["lots", "12 parsecs", -5, 0, 1.5])
def test_parse_memory_budget_rejects_nonsense(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        parse_memory_budget(bad)


def _stop_by_break(stream: Any) -> None:
    for _ in stream:
        break
    del stream


def _stop_by_close(stream: Any) -> None:
    next(stream)
    stream.close()
    stream.close()  # idempotent
    assert list(stream) == []


def _stop_by_exception(stream: Any) -> None:
    with pytest.raises(KeyError), stream:
        next(stream)
        raise KeyError("user code failed")


def _stop_by_garbage_collection(stream: Any) -> None:
    next(stream)
    del stream
    gc.collect()


@pytest.mark.parametrize(
    "stop", [_stop_by_break, _stop_by_close, _stop_by_exception, _stop_by_garbage_collection]
)
def test_early_stop_leaves_no_process_and_no_shared_memory(
    stream_sets: list[PatchSet], stop: Callable[[Any], None]
) -> None:
    stream = iter_patch_batches(
        patches_pool=stream_sets,
        batch_size=8,
        memory_budget=4 * 8 * PATCH_BYTES,
        proc_num_workers=2,
        thread_num_workers=1,
    )
    pids = stream.worker_pids
    assert len(pids) == 2
    stop(stream)
    del stream
    gc.collect()
    _no_children()
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


def test_batch_seen_before_close_stays_readable(stream_sets: list[PatchSet]) -> None:
    with iter_patch_batches(
        patches_pool=stream_sets[:1],
        batch_size=8,
        memory_budget="4MiB",
        proc_num_workers=1,
        thread_num_workers=1,
    ) as stream:
        first = next(stream)
        kept = first.images.copy()
    np.testing.assert_array_equal(first.images, kept)  # no dangling view after close


@pytest.mark.timeout(60)
def test_killed_worker_raises_an_error_naming_the_slide(
    stream_sets: list[PatchSet], tmp_path: Path
) -> None:
    stalled = stalled_copy(stream_sets[2], tmp_path)  # its worker is killed from outside
    victim = stalled.slide_path
    stream = iter_patch_batches(
        patches_pool=[*stream_sets[:2], stalled],
        batch_size=20,
        memory_budget="8MiB",
        proc_num_workers=2,
        thread_num_workers=1,
    )
    with KillWorkerOn(stalled), pytest.raises(WorkerDiedError, match="SIGKILL") as info:
        for _ in stream:
            pass
    assert victim in str(info.value)
    _no_children()


def test_missing_slide_error_names_it(stream_sets: list[PatchSet], tmp_path: Path) -> None:
    missing = PatchSet.from_patch_data(
        slide_path=tmp_path / "gone.svs", level_or_mpp=0, patch_data=[((0, 0), (SIZE, SIZE), "x")]
    )
    with pytest.raises(SlideNotFoundError) as info:
        for _ in iter_patch_batches(
            patches_pool=[stream_sets[2], missing],
            batch_size=16,
            memory_budget="8MiB",
            proc_num_workers=1,
            thread_num_workers=1,
        ):
            pass
    assert info.value.path == str(tmp_path / "gone.svs")
    _no_children()


def test_mixed_sizes_in_one_batch_are_refused(stream_sets: list[PatchSet], make_grid: Any) -> None:
    small = make_grid(stream_sets[0].slide_path, size=64, step=700)
    with pytest.raises(SlidepatchError, match="mixes patch sizes"):
        iter_patch_batches(
            patches_pool=[stream_sets[2], small],
            batch_size=16,
            memory_budget="8MiB",
            proc_num_workers=1,
            thread_num_workers=1,
        )
    # One size per batch is fine: a batch_size that divides the first slide's count.
    n = len(stream_sets[2])
    with iter_patch_batches(
        patches_pool=[stream_sets[2], small],
        batch_size=n,
        memory_budget="64MiB",
        proc_num_workers=1,
        thread_num_workers=1,
    ) as stream:
        shapes = [b.images.shape[1:3] for b in stream]
    assert shapes[0] == (SIZE, SIZE) and shapes[-1] == (64, 64)


def test_label_filter_keeps_input_patch_indices(stream_sets: list[PatchSet]) -> None:
    with iter_patch_batches(
        patches_pool=stream_sets,
        batch_size=32,
        memory_budget="16MiB",
        proc_num_workers=1,
        thread_num_workers=2,
        included_labels=["a", "normal"],
    ) as stream:
        batches = _collect(stream)
    labels = np.concatenate([b.labels for b in batches]).tolist()
    keys = list(
        zip(
            *(
                np.concatenate([getattr(b, n) for b in batches]).tolist()
                for n in ("slide_index", "patch_index")
            ),
            strict=True,
        )
    )
    expected = [
        (s, i)
        for s, ps in enumerate(stream_sets)
        for i, lab in enumerate(ps.labels)
        if lab in ("a", "normal")
    ]
    assert keys == expected
    assert labels == [stream_sets[s].labels[i] for s, i in expected]


def test_multires_stream_matches_the_multires_memory_pool(
    stream_sets: list[PatchSet], make_grid: Any
) -> None:
    sets = [stream_sets[0], make_grid(stream_sets[1].slide_path, size=SIZE, step=500)]
    levels = [0, 1]
    pool = MultiResMemPatchExtractorPool(
        patches_pool=sets, levels_or_mpps=levels, proc_num_workers=1, thread_num_workers=2
    )
    with iter_patch_batches(
        patches_pool=sets,
        batch_size=16,
        memory_budget="16MiB",
        proc_num_workers=2,
        thread_num_workers=1,
        levels_or_mpps=levels,
        copy=True,
    ) as stream:
        batches = list(stream)
    images = np.concatenate([b.images for b in batches])
    assert images.shape == (pool.patchset_count, 2, SIZE, SIZE, 3)
    np.testing.assert_array_equal(images, pool.images)
    np.testing.assert_array_equal(np.concatenate([b.locations for b in batches]), pool.locations)
    pool.close()


@pytest.mark.timeout(60)
def test_spawn_start_method(stream_sets: list[PatchSet]) -> None:
    with iter_patch_batches(
        patches_pool=stream_sets[2:],
        batch_size=32,
        memory_budget="16MiB",
        proc_num_workers=1,
        thread_num_workers=1,
        start_method="spawn",
    ) as stream:
        assert sum(len(b) for b in stream) == len(stream_sets[2])
    _no_children()


def test_memory_pool_iter_batches_streams_the_same_patches(stream_sets: list[PatchSet]) -> None:
    """``MemPatchExtractorPool.iter_batches`` is the streaming form of the memory pool."""
    from slidepatch import MemPatchExtractorPool

    with MemPatchExtractorPool(
        patches_pool=stream_sets, proc_num_workers=1, thread_num_workers=1
    ) as pool:
        expected = pool.images.copy()
    with MemPatchExtractorPool.iter_batches(
        patches_pool=stream_sets,
        batch_size=8,
        memory_budget="64MiB",
        proc_num_workers=2,
        thread_num_workers=1,
    ) as stream:
        streamed = np.concatenate([batch.images.copy() for batch in stream])
    np.testing.assert_array_equal(streamed, expected)
