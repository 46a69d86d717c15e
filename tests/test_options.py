"""ReadOptions: validation, and the options reaching Slide.open, location classes, masks,
PatchSets and every pool's workers (a 0.263 µm/px slide read at 0.25 µm/px)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch import (
    CustomPatches,
    DiskPatchExtractorPool,
    MemPatchExtractorPool,
    ReadOptions,
    ResamplingRequiredError,
    Slide,
    UnsupportedSlideError,
    WholeImageGridPatches,
    WSITissueMask,
    iter_patch_batches,
)
from slidepatch.extract.fingerprint import fingerprint_differences
from slidepatch.testing.synthetic import write_synthetic_slide

TOLERANT = ReadOptions(mpp_tolerance=0.06)
POINTS = [(96, 64), (700, 420)]


@pytest.fixture(scope="module")
def slide_263(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1024x768 SVS at 0.263 µm/px (levels 1/4): 5 % off 0.25 µm/px."""
    root = tmp_path_factory.mktemp("mpp263")
    return write_synthetic_slide(
        root / "scan263.svs", width=1024, height=768, downsamples=(1, 4), mpp=0.263, seed=3
    )


def _level0(path: Path, points: list[tuple[int, int]], size: int = 64) -> list[np.ndarray]:
    with Slide.open(path) as slide:
        return [slide.read_region(p, 0, (size, size)) for p in points]


def _patches(path: Path, read_options: ReadOptions | None = None) -> CustomPatches:
    return CustomPatches(
        wsi_file=path, points=POINTS, patch_size=64, level_or_mpp=0.25, read_options=read_options
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "nope"}, "unknown backend 'nope'"),
        ({"mpp": -1.0}, "mpp override must be a positive number"),
        ({"mpp_tolerance": 1.5}, r"mpp_tolerance must be in \[0, 1\)"),
        ({"fill": (0, 0)}, "fill must be an"),
        ({"tile_cache_bytes": -1}, "tile_cache_bytes must be an int >= 0"),
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReadOptions(**kwargs)  # type: ignore[arg-type]


def test_frozen_and_small() -> None:
    opts = ReadOptions(backend="tiled_tiff", mpp=0.5, tile_cache_bytes=2**20)
    with pytest.raises(AttributeError):
        opts.mpp = 1.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(opts)) == opts
    assert len(pickle.dumps(ReadOptions())) < 200


def test_slide_open_uses_the_options(slide_263: Path) -> None:
    with Slide.open(slide_263) as slide, pytest.raises(ResamplingRequiredError):
        slide.plan(0.25)
    opts = ReadOptions(mpp_tolerance=0.06, fill=(0, 0, 0), tile_cache_bytes=2**20)
    with Slide.open(slide_263, read_options=opts) as slide:
        assert slide.plan(0.25).level == 0 and slide.plan(0.25).is_native
        assert slide.read_options == opts
        assert slide.fill == (0, 0, 0)
        assert slide._backend.tile_cache.max_bytes == 2**20  # type: ignore[attr-defined]
        beyond = slide.read_region((1000, 0), 0, (48, 8))
        assert (beyond[:, 30:] == 0).all()  # black fill past the right edge
    # a shorthand keyword replaces the field of read_options
    with Slide.open(slide_263, read_options=opts, mpp=0.5) as slide:
        assert slide.mpp == (0.5, 0.5) and slide.mpp_tolerance == 0.06


def test_unknown_backend_names_the_slide(slide_263: Path) -> None:
    with pytest.raises(UnsupportedSlideError, match=r"scan263\.svs: unknown backend"):
        Slide.open(slide_263, backend="nope")  # type: ignore[arg-type]


def test_location_classes_and_masks_carry_the_options(slide_263: Path) -> None:
    mask = WSITissueMask(wsi_file=slide_263, level_or_minsize=1, read_options=TOLERANT)
    grid = WholeImageGridPatches(
        wsi_file=slide_263,
        mask_data=mask.array,
        patch_size=64,
        level_or_mpp=0.25,
        read_options=TOLERANT,
        slide_mpp=0.263,
    )
    ps = grid.patch_set
    assert grid.read_options == ReadOptions(mpp=0.263, mpp_tolerance=0.06)
    assert ps.read_options == grid.read_options
    assert ps.slide_mpp == 0.263 and ps.backend == "auto"
    assert pickle.loads(pickle.dumps(ps)).read_options == ps.read_options
    plain = ps.with_read_options(ReadOptions()).select([0])
    assert plain.read_options == ReadOptions(mpp=0.263)  # the set's MPP override stays
    default = CustomPatches(wsi_file=slide_263, points=POINTS[:1], patch_size=8).patch_set
    blob = pickle.dumps(default)
    assert b"ReadOptions" not in blob  # default options cost nothing in each worker's pickle
    assert pickle.loads(blob).read_options == ReadOptions()


def test_mem_pool_reads_level_0_within_the_tolerance(slide_263: Path) -> None:
    expected = _level0(slide_263, POINTS)
    for patches, pool_opts in (
        (_patches(slide_263, TOLERANT), None),
        (_patches(slide_263), TOLERANT),
    ):
        with MemPatchExtractorPool(
            patches_pool=[patches],
            proc_num_workers=2,
            thread_num_workers=1,
            read_options=pool_opts,
        ) as pool:
            images = [image for image, _ in pool.patch_list]
        assert len(images) == 2
        for got, want in zip(images, expected, strict=True):
            np.testing.assert_array_equal(got, want)


def test_without_the_tolerance_the_pool_refuses_or_resamples(slide_263: Path) -> None:
    with pytest.raises(ResamplingRequiredError, match="matches no native level"):
        MemPatchExtractorPool(
            patches_pool=[_patches(slide_263)], proc_num_workers=2, thread_num_workers=1
        )
    with MemPatchExtractorPool(
        patches_pool=[_patches(slide_263)],
        proc_num_workers=2,
        thread_num_workers=1,
        resampling_mode="tile",
    ) as pool:
        first = pool.patch_list[0][0]
    assert first.shape == (64, 64, 3)
    assert not np.array_equal(first, _level0(slide_263, POINTS[:1])[0])


def test_disk_pool_reads_level_0_within_the_tolerance(slide_263: Path, tmp_path: Path) -> None:
    expected = _level0(slide_263, POINTS)
    pool = DiskPatchExtractorPool(
        patches_pool=[_patches(slide_263, TOLERANT)],
        proc_num_workers=2,
        thread_num_workers=1,
        output_dir=tmp_path,
        image_type="png",
    )
    assert pool.patch_count == 2
    files = sorted(tmp_path.rglob("*.png"), key=lambda p: p.name)
    got = sorted((np.asarray(Image.open(f)) for f in files), key=lambda a: a.tobytes())
    want = sorted(expected, key=lambda a: a.tobytes())
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_stream_reads_level_0_within_the_tolerance(slide_263: Path) -> None:
    expected = _level0(slide_263, POINTS)
    with iter_patch_batches(
        patches_pool=[_patches(slide_263)],
        batch_size=2,
        memory_budget="16MiB",
        proc_num_workers=1,
        thread_num_workers=1,
        read_options=TOLERANT,
    ) as stream:
        (batch,) = list(stream)
    np.testing.assert_array_equal(batch.images, np.stack(expected))


def test_the_fingerprint_records_the_tolerance(slide_263: Path, tmp_path: Path) -> None:
    from slidepatch.extract.fingerprint import read_fingerprint

    DiskPatchExtractorPool(
        patches_pool=[_patches(slide_263, TOLERANT)],
        proc_num_workers=1,
        thread_num_workers=1,
        output_dir=tmp_path,
        image_type="png",
    )
    (path,) = (tmp_path / "manifests").glob("*.json")  # the fingerprint, beside the manifests
    recorded = read_fingerprint(str(path))
    assert recorded is not None and recorded["mpp_tolerance"] == 0.06
    default = {k: v for k, v in recorded.items() if k != "mpp_tolerance"}
    assert fingerprint_differences(recorded, default) == [
        "mpp_tolerance=0.06, now mpp_tolerance=None"
    ]
