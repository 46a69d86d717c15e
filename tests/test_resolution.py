"""Resolution values: ``level_or_mpp`` parsed once into Level / Mpp, written as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch import Level, Mpp, Slide
from slidepatch.resolution import resolution_of


@pytest.mark.parametrize(
    ("value", "parsed", "text", "comment"),
    [
        (1, Level(1), "1", "level1"),
        (np.int64(2), Level(2), "2", "level2"),
        (0.5, Mpp(0.5), "0.5", "mpp0.5"),
        (np.float32(0.25), Mpp(0.25), "0.25", "mpp0.25"),
        (1.0, Mpp(1.0), "1.0", "mpp1.0"),
    ],
)
def test_parsed_once_and_written_as_the_reference_value(
    value: object, parsed: object, text: str, comment: str
) -> None:
    res = resolution_of(value)
    assert res == parsed and resolution_of(res) is res
    assert res.text == repr(res.value) == text  # manifests and fingerprints as before
    assert resolution_of(res.value).comment == comment  # multi-resolution file names as before


def test_a_level_and_the_same_number_as_mpp_are_different_keys() -> None:
    assert 1 == 1.0 and Level(1) != Mpp(1.0)
    assert len({Level(1): "a", Mpp(1.0): "b"}) == 2


@pytest.mark.parametrize("bad", [True, -1, 0.0, float("nan"), "1"])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="level_or_mpp"):
        resolution_of(bad)


def test_slide_plans_a_resolution_value(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        assert slide.plan(Level(1)) == slide.plan(1)
        assert slide.plan(Mpp(1.0)) == slide.plan(1.0)
        assert slide.plan(Mpp(1.0)).level == 1


def _csv_rows(folder: Path) -> list[dict[str, str]]:
    import csv

    (path,) = sorted(folder.rglob("manifest__*.csv"))
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_level_1_and_1_um_per_px_stay_apart_in_file_names_and_manifests(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    """On this slide level 1 *is* 1.0 µm/px: same pixels, yet two entries, named apart."""
    from PIL import Image

    from slidepatch import CustomPatches, MultiResDiskPatchExtractorPool

    patches = CustomPatches(
        wsi_file=synthetic_svs, patch_data=[((800, 400), (64, 64), "t")], level_or_mpp=1
    )
    MultiResDiskPatchExtractorPool.reset_global_counter()
    pool = MultiResDiskPatchExtractorPool(
        patches_pool=[patches],
        output_dir=str(tmp_path),
        levels_or_mpps=[1, 1.0],
        image_type="png",
        thread_num_workers=1,
        proc_num_workers=1,
    )
    MultiResDiskPatchExtractorPool.remove_global_counter()
    assert pool.patch_count == 2
    level_file, mpp_file = sorted(tmp_path.rglob("*.png"), key=lambda p: p.name)
    assert "_level1_" in level_file.name and "_mpp1.0_" in mpp_file.name
    assert np.array_equal(np.asarray(Image.open(level_file)), np.asarray(Image.open(mpp_file)))
    rows = sorted(_csv_rows(tmp_path), key=lambda r: r["path"])
    assert [(r["level_or_mpp"], r["resolution_kind"]) for r in rows] == [
        ("1", "level"),
        ("1.0", "mpp"),
    ]


@pytest.fixture(scope="module")
def level1_not_1um(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.5 µm/px with level 1 at ds 4 (2.0 µm/px): Level(1) and Mpp(1.0) read differently."""
    from slidepatch.testing.synthetic import write_synthetic_slide

    folder = tmp_path_factory.mktemp("slide-level1-not-1um")
    return write_synthetic_slide(
        folder / "s.svs", width=1024, height=768, downsamples=(1, 4), mpp=0.5, seed=5
    )


def test_level_1_and_1_um_per_px_stay_apart_through_spawned_memory_pool_and_stream(
    level1_not_1um: Path,
) -> None:
    """The multi-resolution jobs carry Level(1) and Mpp(1.0) across processes (spawn
    pickles them): each entry is centred and read at its own resolution."""
    from slidepatch import CustomPatches, MultiResMemPatchExtractorPool
    from slidepatch.extract.multires import multires_locations
    from slidepatch.pools import MemPatchExtractorPool

    patches = CustomPatches(
        wsi_file=level1_not_1um, patch_data=[((480, 360), (32, 32), "t")], level_or_mpp=0
    )
    levels = [1, 1.0]
    with Slide.open(level1_not_1um) as slide:
        want_locs = multires_locations(
            slide=slide, patch_set=patches.patch_set, levels_or_mpps=levels
        )[0]
        want = [
            slide.read_region(tuple(want_locs[j]), v, (32, 32), resampling_mode="tile")
            for j, v in enumerate(levels)
        ]
    assert not np.array_equal(want_locs[0], want_locs[1])
    assert not np.array_equal(want[0], want[1])
    with MultiResMemPatchExtractorPool(
        patches_pool=[patches],
        levels_or_mpps=levels,
        resampling_mode="tile",
        proc_num_workers=1,
        thread_num_workers=1,
        start_method="spawn",
    ) as pool:
        np.testing.assert_array_equal(pool.locations[0], want_locs)
        for j, (image, label) in enumerate(pool.patch_list[0]):
            assert label == "t"
            np.testing.assert_array_equal(image, want[j])
    with MemPatchExtractorPool.iter_batches(
        patches_pool=[patches],
        levels_or_mpps=levels,
        resampling_mode="tile",
        batch_size=1,
        memory_budget="8MiB",
        proc_num_workers=1,
        thread_num_workers=1,
        start_method="spawn",
    ) as stream:
        (batch,) = list(stream)
        np.testing.assert_array_equal(batch.locations[0], want_locs)
        for j in range(2):
            np.testing.assert_array_equal(batch.images[0, j], want[j])
