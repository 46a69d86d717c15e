"""Memory pools: pixels, order, labels and arrays equal direct reads, under every start method."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from slidepatch import PatchSet, Slide
from slidepatch.extract.multires import multires_locations
from slidepatch.pools import MemPatchExtractorPool, MultiResMemPatchExtractorPool, _mem_worker
from slidepatch.slide.buffers import decodes_fast_into

pytestmark = pytest.mark.usefixtures("no_shm_leak")


def _expected(patch_sets: list[PatchSet]) -> list[tuple[np.ndarray, str, int, tuple[int, int]]]:
    """(image, label, slide index, location) per patch, read directly, in input order."""
    out = []
    for s, ps in enumerate(patch_sets):
        with Slide.open(ps.slide_path) as slide:
            for loc, size, label in ps.patch_data:
                out.append((slide.read_region(loc, ps.level_or_mpp, size), label, s, loc))
    return out


@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
def test_mem_pool_equals_direct_reads(patch_sets: list[PatchSet], start_method: str) -> None:
    expected = _expected(patch_sets)
    with MemPatchExtractorPool(
        patches_pool=patch_sets,
        proc_num_workers=2,
        thread_num_workers=2,
        start_method=start_method,
    ) as pool:
        assert pool.patch_count == len(expected)
        assert len(pool.patch_list) == len(expected)
        for (image, label), (want, want_label, _, _) in zip(pool.patch_list, expected, strict=True):
            assert label == want_label
            np.testing.assert_array_equal(image, want)
        assert pool.slide_index.tolist() == [e[2] for e in expected]
        assert pool.locations.tolist() == [list(e[3]) for e in expected]
        assert pool.labels.tolist() == [e[1] for e in expected]
        assert len(pool.pids) == len(patch_sets) and all(isinstance(p, int) for p in pool.pids)
        assert pool.slide_paths == [ps.slide_path for ps in patch_sets]


def test_reference_usage_and_images_array(
    patch_sets: list[PatchSet], synthetic_slides: list[Path], make_grid: Any
) -> None:
    same_size = [patch_sets[0], make_grid(synthetic_slides[1])]  # same size and count
    extractor_pool = MemPatchExtractorPool(
        patches_pool=same_size, thread_num_workers=2, proc_num_workers=3
    )
    items = list(extractor_pool.patch_list)
    image, label = items[-1]
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    images = extractor_pool.images
    assert images.shape == (2 * len(patch_sets[0]), 128, 128, 3)
    np.testing.assert_array_equal(images[3], items[3][0])
    assert np.shares_memory(images, items[3][0])  # zero-copy views of one block
    assert extractor_pool.patch_list[-1][1] == label
    # Every patch starts off libjpeg-turbo's 32-byte boundary, where decoding is fast.
    assert all(decodes_fast_into(image) for image, _ in items)
    assert extractor_pool.slide_index.tolist() == [0] * len(patch_sets[0]) + [1] * len(
        patch_sets[0]
    )
    extractor_pool.close()


def test_images_needs_equal_sizes(patch_sets: list[PatchSet]) -> None:
    with (
        MemPatchExtractorPool(
            patches_pool=patch_sets, proc_num_workers=1, thread_num_workers=1
        ) as pool,
        pytest.raises(Exception, match="patch_list"),
    ):
        _ = pool.images


def test_label_filters_keep_order(patch_sets: list[PatchSet]) -> None:
    inc = MemPatchExtractorPool(
        patches_pool=patch_sets[:2],
        proc_num_workers=2,
        thread_num_workers=1,
        included_labels=["tumor"],
    )
    exc = MemPatchExtractorPool(
        patches_pool=patch_sets[:2],
        proc_num_workers=2,
        thread_num_workers=1,
        excluded_labels=["normal"],
    )
    tumours = [lab for ps in patch_sets[:2] for lab in ps.labels if lab == "tumor"]
    assert inc.patch_count == exc.patch_count == len(tumours)
    assert set(inc.labels.tolist()) == {"tumor"}
    for (a, _), (b, _) in zip(inc.patch_list, exc.patch_list, strict=True):
        np.testing.assert_array_equal(a, b)
    first = patch_sets[0]
    loc, size, _ = first.patch_data[0]
    with Slide.open(first.slide_path) as slide:
        np.testing.assert_array_equal(inc.patch_list[0][0], slide.read_region(loc, 0, size))
    inc.close()
    exc.close()


def test_views_stay_valid_after_close(patch_sets: list[PatchSet]) -> None:
    pool = MemPatchExtractorPool(
        patches_pool=patch_sets[:1], proc_num_workers=1, thread_num_workers=2
    )
    image, _ = pool.patch_list[0]
    copy = image.copy()
    pool.close()
    with pytest.raises(ValueError, match="closed"):
        _ = pool.patch_list
    del pool
    gc.collect()
    np.testing.assert_array_equal(image, copy)  # the mapping lives while a view does


def test_empty_patch_sets_are_fine(synthetic_slides: list[Path]) -> None:
    empty = PatchSet.from_patch_data(slide_path=synthetic_slides[0], level_or_mpp=0, patch_data=[])
    pool = MemPatchExtractorPool(
        patches_pool=[empty, empty], proc_num_workers=2, thread_num_workers=1
    )
    assert pool.patch_count == 0
    assert list(pool.patch_list) == []
    assert pool.images.shape[0] == 0
    assert len(pool.pids) == 2


@pytest.mark.parametrize("multires", [False, True])
def test_last_slide_without_patches(patch_sets: list[PatchSet], multires: bool) -> None:
    """An empty last slide (none found, or all filtered out) leaves the others' patches."""
    first = patch_sets[0]
    empty = PatchSet.from_patch_data(slide_path=first.slide_path, level_or_mpp=0, patch_data=[])
    only_tumor = PatchSet.from_patch_data(
        slide_path=first.slide_path,
        level_or_mpp=0,
        patch_data=[d for d in first.patch_data if d[2] == "tumor"],
    )
    normal = [d for d in first.patch_data if d[2] == "normal"]
    cls = MultiResMemPatchExtractorPool if multires else MemPatchExtractorPool
    kwargs: dict[str, object] = {"levels_or_mpps": [0, 1]} if multires else {}
    for pool_input in ([first, empty], [first, only_tumor]):
        pool = cls(
            patches_pool=pool_input,
            proc_num_workers=2,
            thread_num_workers=1,
            included_labels=["normal"],
            **kwargs,  # type: ignore[arg-type]
        )
        items = list(pool.patch_list)
        assert len(items) == len(normal) > 0
        assert list(pool.slide_index) == [0] * len(normal)
        with Slide.open(first.slide_path) as slide:
            loc, size, _ = normal[-1]
            image = items[-1][0][0] if multires else items[-1][0]
            np.testing.assert_array_equal(image, slide.read_region(loc, 0, size))
        pool.close()


def test_mapped_writes_equal_direct_reads(
    patch_sets: list[PatchSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where shared memory cannot be written with pwrite (macOS, Windows), workers map it."""
    monkeypatch.setattr(_mem_worker, "open_block_for_writing", lambda name: None)
    expected = _expected(patch_sets)
    with MemPatchExtractorPool(
        patches_pool=patch_sets, proc_num_workers=2, thread_num_workers=2, start_method="fork"
    ) as pool:
        for (image, _), (want, _, _, _) in zip(pool.patch_list, expected, strict=True):
            np.testing.assert_array_equal(image, want)


@pytest.mark.parametrize(
    ("start_method", "writes"), [("fork", "pwrite"), ("spawn", "pwrite"), ("fork", "mapped")]
)
def test_multires_pool_equals_direct_reads(
    patch_sets: list[PatchSet], start_method: str, writes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    levels: list[Any] = [0, 1.0]  # level 0 and MPP 1.0 (the synthetic slides' level 1)
    sets = patch_sets[:2]
    if writes == "mapped":
        monkeypatch.setattr(_mem_worker, "open_block_for_writing", lambda name: None)
    pool = MultiResMemPatchExtractorPool(
        patches_pool=sets,
        levels_or_mpps=levels,
        proc_num_workers=2,
        thread_num_workers=2,
        start_method=start_method,
    )
    n_sets = sum(len(ps) for ps in sets)
    assert pool.patchset_count == n_sets
    assert pool.patch_count == n_sets * len(levels)
    assert pool.locations.shape == (n_sets, 2, 2)
    k = 0
    for ps in sets:
        with Slide.open(ps.slide_path) as slide:
            locs = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=levels)
            for i, (_, size, label) in enumerate(ps.patch_data):
                item = pool.patch_list[k]
                assert len(item) == 2
                np.testing.assert_array_equal(pool.locations[k], locs[i])
                for j, (image, got_label) in enumerate(item):
                    assert got_label == label
                    want = slide.read_region(tuple(locs[i, j]), levels[j], size)
                    np.testing.assert_array_equal(image, want)
                k += 1
    pool.close()


def test_multires_images_array(patch_sets: list[PatchSet]) -> None:
    with MultiResMemPatchExtractorPool(
        patches_pool=[patch_sets[0]],
        levels_or_mpps=[0, 1],
        proc_num_workers=1,
        thread_num_workers=2,
    ) as pool:
        images = pool.images
        assert images.shape == (len(patch_sets[0]), 2, 128, 128, 3)
        item = pool.patch_list[2]
        np.testing.assert_array_equal(images[2, 1], item[1][0])


def test_reference_usage_with_a_locations_pool(cmu_small: Path) -> None:
    from slidepatch.locations import WholeImageGridPatchesPool

    mask = np.ones((297, 222), dtype=bool)
    top = mask.copy()
    top[150:] = False  # a second location set of the same slide (the same one twice is refused)
    patches_pool = WholeImageGridPatchesPool(
        wsi_file_list=[cmu_small, cmu_small],
        mask_data_list=[mask, top],
        patches_args={"patch_size": 256, "level_or_mpp": 0},
        proc_num_workers=1,
    )
    extractor_pool = MemPatchExtractorPool(
        patches_pool=patches_pool, thread_num_workers=2, proc_num_workers=3
    )
    n = sum(len(ps) for ps in patches_pool.patch_sets)
    assert n > 0 and extractor_pool.patch_count == n
    count = 0
    for patch in extractor_pool.patch_list:
        image, label = patch
        assert image.shape == (256, 256, 3)
        assert isinstance(label, str)
        count += 1
    assert count == n
