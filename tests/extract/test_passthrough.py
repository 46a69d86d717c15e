"""JPEG passthrough: source tiles written as standalone JPEG files, pixel-equal to reads."""

from __future__ import annotations

import io
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from slidepatch import PatchSet, Slide
from slidepatch.extract import DiskPatchExtractor, MultiResDiskPatchExtractor
from slidepatch.pools import DiskPatchExtractorPool

# Both decoders are libjpeg-turbo; measured identical. Pillow bundles its own build, so a
# different version may round one IDCT output differently: allow 2 levels for it.
PILLOW_TOLERANCE = 2
ADOBE_APP14 = b"\xff\xee\x00\x0eAdobe"


def pillow_pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
        assert im.mode == "RGB"
        return np.asarray(im)


def assert_same_pixels(data: bytes, expected: np.ndarray) -> None:
    assert data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
    np.testing.assert_array_equal(imagecodecs.jpeg8_decode(data), expected)
    diff = np.abs(pillow_pixels(data).astype(np.int16) - expected.astype(np.int16))
    assert int(diff.max()) <= PILLOW_TOLERANCE


# (slide fixture, level, tile (tx, ty) fully inside the level)
QUALIFYING = [
    ("cmu_small", 0, (0, 0)),
    ("cmu_small", 0, (4, 7)),
    ("cmu_small", 0, (8, 11)),  # last full column / row of a 9.25 x 12.4 tile grid
    ("synthetic_svs", 0, (3, 2)),
    ("synthetic_svs", 1, (1, 0)),  # downsample 4
    ("synthetic_tiff", 1, (2, 1)),  # generic TIFF, 240 px tiles, downsample 2
]


@pytest.mark.parametrize(("fixture", "level", "tile"), QUALIFYING)
def test_tile_bytes_decode_to_read_region_and_openslide(
    request: pytest.FixtureRequest, fixture: str, level: int, tile: tuple[int, int]
) -> None:
    path: Path = request.getfixturevalue(fixture)
    with Slide.open(path) as slide, Slide.open(path, backend="openslide") as reference:
        assert slide.backend_name == "tiled_tiff"
        ds = slide.level_downsamples[level]
        tw = int(slide.properties[f"openslide.level[{level}].tile-width"])
        location = (round(tile[0] * tw * ds), round(tile[1] * tw * ds))
        data = slide.raw_jpeg_tile_for(location, level, (tw, tw))
        assert data is not None
        assert_same_pixels(data, slide.read_region(location, level, (tw, tw)))
        assert_same_pixels(data, reference.read_region(location, level, (tw, tw)))


def test_rgb_tiles_say_rgb_and_ycbcr_tiles_say_ycbcr(cmu_small: Path, synthetic_svs: Path) -> None:
    """Aperio RGB-in-JPEG gets an Adobe transform-0 marker, else decoders shift colours."""
    with Slide.open(cmu_small) as slide:
        rgb = slide.raw_jpeg_tile_for((240, 240), 0, (240, 240))
    assert rgb is not None and rgb[2 : 2 + len(ADOBE_APP14)] == ADOBE_APP14
    assert rgb[17] == 0  # APP14 ends with the transform byte: 0, no colour conversion
    with Slide.open(synthetic_svs) as slide:
        ycc = slide.raw_jpeg_tile_for((256, 256), 0, (256, 256))
    assert ycc is not None and ADOBE_APP14 not in ycc and b"JFIF\x00" in ycc[:32]


def test_native_mpp_request_gets_the_level_tile(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        by_level = slide.raw_jpeg_tile_for((1024, 0), 1, (256, 256))
        by_mpp = slide.raw_jpeg_tile_for((1024, 0), 1.0, (256, 256))  # 0.25 µm/px x 4
    assert by_level is not None and by_level == by_mpp


@pytest.mark.parametrize(
    ("location", "level_or_mpp", "size", "why"),
    [
        ((241, 240), 0, (240, 240), "not on the tile grid"),
        ((240, 240), 0, (239, 240), "not the tile size"),
        ((240, 240), 0, (480, 480), "four tiles"),
        ((2160, 0), 0, (240, 240), "edge tile: 60 of its 240 columns are slide"),
        ((0, 2880), 0, (240, 240), "edge tile: 87 of its 240 rows are slide"),
        ((-240, 0), 0, (240, 240), "starts outside the slide"),
        ((0, 0), 0.998, (240, 240), "MPP needing resampling (level 0 is 0.499)"),
    ],
)
def test_non_qualifying_regions_get_none(
    cmu_small: Path,
    location: tuple[int, int],
    level_or_mpp: int | float,
    size: tuple[int, int],
    why: str,
) -> None:
    with Slide.open(cmu_small) as slide:
        assert slide.raw_jpeg_tile_for(location, level_or_mpp, size) is None, why


def test_lower_level_edge_tile_and_other_backends_get_none(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        # level 1 is 750x500: tile column 2 holds 238 of 256 columns, tile row 1 244 rows
        assert slide.raw_jpeg_tile_for((2048, 0), 1, (256, 256)) is None
        assert slide.raw_jpeg_tile_for((1024, 1024), 1, (256, 256)) is None
        assert slide.raw_jpeg_tile_for((1024, 0), 1, (256, 256)) is not None
    with Slide.open(synthetic_svs, backend="openslide") as slide:
        assert slide.raw_jpeg_tile_for((1024, 0), 1, (256, 256)) is None


# ---------------------------------------------------------------- disk extractor
CMU_PATCHES = [
    ((0, 0), (240, 240), "a"),  # tile-aligned: passed through
    ((480, 720), (240, 240), "a"),  # tile-aligned: passed through
    ((1920, 2640), (240, 240), "b"),  # last full tile: passed through
    ((100, 100), (240, 240), "a"),  # unaligned: encoded
    ((2160, 240), (240, 240), "b"),  # partial edge tile (white beyond the slide): encoded
    ((240, 0), (256, 256), "a"),  # aligned but not the tile size: encoded
]


def cmu_set(path: Path, level_or_mpp: int | float = 0) -> PatchSet:
    return PatchSet.from_patch_data(
        slide_path=path, level_or_mpp=level_or_mpp, patch_data=CMU_PATCHES
    )


def by_location(paths: list[str]) -> dict[tuple[int, int], str]:
    """Written paths keyed by the (x, y) in their ``..._x<X>_y<Y>.jpg`` names."""
    found = {}
    for rel in paths:
        xy = Path(rel).stem.rsplit("_x", 1)[1]
        x, y = xy.split("_y")
        found[(int(x), int(y))] = rel
    return found


def test_disk_extractor_passes_aligned_tiles_through(cmu_small: Path, tmp_path: Path) -> None:
    ext = DiskPatchExtractor(
        patches=cmu_set(cmu_small),
        num_workers=2,
        output_dir=tmp_path,
        image_type="jpg",
        jpeg_passthrough=True,
    )
    files = by_location(ext.written_paths)
    passed = by_location(ext.passthrough_paths)
    assert sorted(passed) == [(0, 0), (480, 720), (1920, 2640)]
    with Slide.open(cmu_small) as slide:
        for (x, y), size, _label in CMU_PATCHES:
            data = (tmp_path / files[(x, y)]).read_bytes()
            expected = slide.read_region((x, y), 0, size)
            if (x, y) in passed:
                assert data == slide.raw_jpeg_tile_for((x, y), 0, size)
                assert_same_pixels(data, expected)
            else:
                assert ADOBE_APP14 not in data  # re-encoded by our JPEG encoder
                assert pillow_pixels(data).shape == expected.shape
    manifest_txt = Path(ext.manifest_paths[0]).read_text()
    assert "jpeg_passthrough" in manifest_txt


def test_disk_extractor_without_passthrough_reencodes(cmu_small: Path, tmp_path: Path) -> None:
    ext = DiskPatchExtractor(
        patches=cmu_set(cmu_small), num_workers=1, output_dir=tmp_path, image_type="jpeg"
    )
    assert ext.passthrough_paths == []
    assert all(ADOBE_APP14 not in (tmp_path / p).read_bytes() for p in ext.written_paths)
    assert "jpeg_passthrough" not in Path(ext.manifest_paths[0]).read_text()


def test_resampled_patches_fall_back_to_encoding(synthetic_svs: Path, tmp_path: Path) -> None:
    patches = PatchSet.from_patch_data(
        slide_path=synthetic_svs,
        level_or_mpp=0.5,  # 2x level 0: no native level
        patch_data=[((0, 0), (256, 256), "a"), ((512, 512), (256, 256), "a")],
    )
    ext = DiskPatchExtractor(
        patches=patches,
        num_workers=1,
        output_dir=tmp_path,
        image_type="jpg",
        resampling_mode="tile",
        jpeg_passthrough=True,
    )
    assert len(ext.written_paths) == 2 and ext.passthrough_paths == []


def test_multires_passes_through_the_native_tiles(synthetic_svs: Path, tmp_path: Path) -> None:
    patches = PatchSet.from_patch_data(
        slide_path=synthetic_svs, level_or_mpp=0, patch_data=[((1024, 1024), (256, 256), "a")]
    )
    ext = MultiResDiskPatchExtractor(
        patches=patches,
        levels_or_mpps=[0, 1],
        num_workers=1,
        output_dir=tmp_path,
        image_type="jpg",
        jpeg_passthrough=True,
    )
    # level 0 patch (1024, 1024) is tile (4, 4); the level-1 patch centred on it starts at
    # level-0 (640, 640), i.e. level-1 (160, 160): not on the grid
    assert len(ext.written_paths) == 2
    assert len(ext.passthrough_paths) == 1 and "x1024_y1024" in ext.passthrough_paths[0]


@pytest.mark.parametrize(
    ("image_type", "value", "error"),
    [("png", True, ValueError), ("tiff", True, ValueError), ("jpg", 1, TypeError)],
)
def test_option_is_checked(
    cmu_small: Path, tmp_path: Path, image_type: str, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="jpeg_passthrough"):
        DiskPatchExtractor(
            patches=cmu_set(cmu_small),
            num_workers=1,
            output_dir=tmp_path,
            image_type=image_type,
            jpeg_passthrough=value,  # type: ignore[arg-type]
        )
    assert list(tmp_path.iterdir()) == []


def test_pool_passes_the_option_to_its_workers(cmu_small: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jpeg_passthrough"):
        DiskPatchExtractorPool(
            patches_pool=[cmu_set(cmu_small)],
            proc_num_workers=1,
            thread_num_workers=1,
            output_dir=tmp_path,
            image_type="png",
            jpeg_passthrough=True,
        )
    DiskPatchExtractorPool(
        patches_pool=[cmu_set(cmu_small)],
        proc_num_workers=1,
        thread_num_workers=2,
        output_dir=tmp_path,
        image_type="jpg",
        jpeg_passthrough=True,
    )
    with Slide.open(cmu_small) as slide:
        tile = slide.raw_jpeg_tile_for((480, 720), 0, (240, 240))
    written = [p for p in tmp_path.glob("*.jpg") if p.name.endswith("_x480_y720.jpg")]
    assert len(written) == 1 and written[0].read_bytes() == tile
