"""The format matrix: TIFF layouts written here from the real CMU-1 texture, read by the direct
decoder and checked against tifffile's own decode, tiffslide and OpenSlide at every level."""

from __future__ import annotations

import contextlib
import math
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import numpy.typing as npt
import pytest
import tifffile

from slidepatch import (
    MetadataWarning,
    MppUnavailableError,
    Slide,
    UnsupportedLayoutError,
    UnsupportedSlideError,
)
from slidepatch.masks import WSITissueMask
from slidepatch.testing.synthetic import render_synthetic_region

W, H = 1000, 700
Image = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def texture() -> Image:
    return render_synthetic_region(width=W, height=H, downsample=1, box=(0, 0, W, H), seed=3)


def _pyramid(image: Image) -> list[Image]:
    levels = [image]
    while min(levels[-1].shape[:2]) > 200:
        b = levels[-1]
        levels.append(np.ascontiguousarray(b[: b.shape[0] // 2 * 2 : 2, : b.shape[1] // 2 * 2 : 2]))
    return levels


def _ome_meta(axes: str, size_nm: float) -> dict[str, object]:
    return {
        "axes": axes,
        "PhysicalSizeX": size_nm,
        "PhysicalSizeXUnit": "nm",
        "PhysicalSizeY": size_nm,
        "PhysicalSizeYUnit": "nm",
    }


def _write_ome_interleaved(path: Path, image: Image) -> None:
    levels = _pyramid(image)
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            levels[0],
            subifds=len(levels) - 1,
            tile=(256, 256),
            photometric="rgb",
            compression="jpeg",
            metadata=_ome_meta("YXS", 250),
        )
        for lv in levels[1:]:
            tif.write(lv, subfiletype=1, tile=(256, 256), photometric="rgb", compression="jpeg")


def _write_ome_channels(path: Path, image: Image, compression: str = "zlib") -> None:
    """raw2ometiff's default: R, G and B as three one-sample channel pages."""
    levels = [np.ascontiguousarray(np.moveaxis(lv, -1, 0)) for lv in _pyramid(image)]
    kw: dict[str, object] = {"photometric": "minisblack", "compression": compression}
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            levels[0],
            subifds=len(levels) - 1,
            tile=(128, 128),
            metadata=_ome_meta("CYX", 500),
            **kw,  # type: ignore[arg-type]
        )
        for lv in levels[1:]:
            tif.write(lv, subfiletype=1, tile=(128, 128), **kw)  # type: ignore[arg-type]


def _write_planar_subifd(path: Path, image: Image) -> None:
    levels = [np.ascontiguousarray(np.moveaxis(lv, -1, 0)) for lv in _pyramid(image)]
    kw: dict[str, object] = {"photometric": "rgb", "planarconfig": "separate"}
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            levels[0],
            subifds=len(levels) - 1,
            tile=(256, 256),
            compression="zlib",
            metadata=None,
            resolution=(1e4 / 0.25, 1e4 / 0.25),
            resolutionunit="CENTIMETER",
            **kw,  # type: ignore[arg-type]
        )
        for lv in levels[1:]:
            tif.write(lv, subfiletype=1, tile=(256, 256), compression="zlib", **kw)  # type: ignore[arg-type]


def _write_striped(path: Path, image: Image) -> None:
    tifffile.imwrite(
        path,
        image,
        photometric="rgb",
        compression="lzw",
        rowsperstrip=48,
        metadata=None,
        resolution=(1e4 / 0.5, 1e4 / 0.5),
        resolutionunit="CENTIMETER",
    )


def _write_vips_subifd(path: Path, image: Image) -> None:
    pyvips = pytest.importorskip("pyvips")
    v = pyvips.Image.new_from_array(image, interpretation="srgb").copy(xres=4000.0, yres=4000.0)
    v.tiffsave(str(path), tile=True, pyramid=True, subifd=True, compression="jpeg")


# name: (writer, expected MPP, expected level count)
LAYOUTS: dict[str, tuple[Callable[[Path, Image], None], float, int]] = {
    "ome-interleaved.ome.tif": (_write_ome_interleaved, 0.25, 3),
    "ome-channels.ome.tif": (_write_ome_channels, 0.5, 3),
    "ome-channels-jpeg.ome.tif": (lambda p, i: _write_ome_channels(p, i, "jpeg"), 0.5, 3),
    "planar-subifd.tif": (_write_planar_subifd, 0.25, 3),
    "striped.tif": (_write_striped, 0.5, 1),
    "vips-subifd.tif": (_write_vips_subifd, 0.25, 4),
}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory, texture: Image) -> Path:
    folder = tmp_path_factory.mktemp("formats")
    for name, (writer, _, _) in LAYOUTS.items():
        with contextlib.suppress(pytest.skip.Exception):  # pyvips not installed
            writer(folder / name, texture)
    return folder


def _reference_levels(path: Path) -> list[Image]:
    """tifffile's own decode of every level of the slide's series, as (h, w, 3)."""
    with tifffile.TiffFile(path) as tif:
        out = []
        for level in tif.series[0].levels:
            a = level.asarray()
            out.append(np.moveaxis(a, 0, -1) if a.shape[0] == 3 else a)
        return out


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_levels_mpp_and_pixels(layouts: Path, name: str) -> None:
    path = layouts / name
    if not path.exists():
        pytest.skip(f"{name}: its writer is not installed")
    _, mpp, count = LAYOUTS[name]
    reference = _reference_levels(path)
    with Slide.open(path) as slide:
        assert slide.backend_name == "tiled_tiff"
        assert slide.level_count == count == len(reference)
        assert slide.mpp == pytest.approx((mpp, mpp))
        for level, ref in enumerate(reference):
            assert slide.level_dimensions[level] == (ref.shape[1], ref.shape[0])
            np.testing.assert_array_equal(slide.read_level(level), ref)
            for x, y in ((0, 0), (37, 29)):  # tile-aligned and not
                expected = ref[y : y + 64, x : x + 80]
                out = np.empty(expected.shape, np.uint8)
                slide.read_level_window(level=level, x=x, y=y, out=out)
                np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_matches_tiffslide_and_openslide(layouts: Path, name: str) -> None:
    """Where the other readers can open the file, they give the same pixels."""
    path = layouts / name
    if not path.exists():
        pytest.skip(f"{name}: its writer is not installed")
    with Slide.open(path) as fast:
        for other in ("tiffslide", "openslide"):
            try:
                ref = Slide.open(path, backend=other)
            except Exception:  # tiffslide has no planar series; OpenSlide no striped TIFF
                continue
            with ref:
                levels = range(min(ref.level_count, fast.level_count))
                if other == "tiffslide":
                    assert ref.level_dimensions == fast.level_dimensions
                for level in levels:
                    lw, lh = fast.level_dimensions[level]
                    for x, y in ((0, 0), (37, 29)):
                        shape = (min(50, lh - y), min(70, lw - x), 3)
                        a = np.empty(shape, np.uint8)
                        b = np.empty(shape, np.uint8)
                        fast.read_level_window(level=level, x=x, y=y, out=a)
                        ref.read_level_window(level=level, x=x, y=y, out=b)
                        np.testing.assert_array_equal(a, b, err_msg=f"{other} level {level}")


def test_channel_page_tiles_are_never_passed_through(layouts: Path) -> None:
    """A grey JPEG tile of one channel is not the RGB patch: no pass-through bytes."""
    with Slide.open(layouts / "ome-channels-jpeg.ome.tif") as slide:
        assert slide.raw_jpeg_tile_for((0, 0), 0, (128, 128)) is None


def test_openslide_is_never_used_for_ome_channel_pages(layouts: Path) -> None:
    """OpenSlide would show the red page only (grey): it refuses rather than be wrong."""
    with pytest.raises(UnsupportedSlideError, match="separate pages"):
        Slide.open(layouts / "ome-channels.ome.tif", backend="openslide")


def test_ome_associated_images_are_never_levels(tmp_path: Path, texture: Image) -> None:
    """A label/macro image is another OME series: the slide is the largest one."""
    path = tmp_path / "with-macro.ome.tif"
    macro = np.ascontiguousarray(texture[::4, ::4])
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(macro, photometric="rgb", metadata={"axes": "YXS", "Name": "macro"})
        tif.write(
            texture,
            subifds=1,
            tile=(256, 256),
            photometric="rgb",
            compression="zlib",
            metadata={**_ome_meta("YXS", 250), "Name": "slide"},
        )
        tif.write(texture[::2, ::2].copy(), subfiletype=1, tile=(256, 256), photometric="rgb")
    with Slide.open(path) as slide:
        assert slide.level_dimensions == ((W, H), (W // 2, H // 2))
        assert slide.mpp == pytest.approx((0.25, 0.25))
        np.testing.assert_array_equal(slide.read_level(0), texture)


def test_striped_tiff_decodes_each_strip_once_per_patch_row(layouts: Path) -> None:
    from slidepatch.slide.backends.tiled_tiff import TiledTiffBackend

    with Slide.open(layouts / "striped.tif") as slide:
        backend = slide._backend
        assert isinstance(backend, TiledTiffBackend)
        for x in range(0, W - 64, 64):  # one row of 64 px patches across 48-row strips
            slide.read_region((x, 40), 0, (64, 64))
        hits, misses = backend.tile_cache.stats
        assert misses == 3  # rows 40..103 lie in strips 0, 1 and 2, decoded once each
        assert hits == 3 * (len(range(0, W - 64, 64)) - 1)


def test_subifd_pyramid_serves_multiresolution_and_mpp(layouts: Path) -> None:
    path = layouts / "ome-interleaved.ome.tif"
    with Slide.open(path) as slide:
        patch = slide.read_region((100, 100), 0.5, (32, 32))  # level 1 through the OME MPP
        assert slide.plan(0.5).level == 1
        assert patch.shape == (32, 32, 3)


def test_non_rgb_ome_is_refused_naming_the_channels(tmp_path: Path) -> None:
    path = tmp_path / "fluorescence.ome.tif"
    data = np.zeros((4, 256, 256), np.uint16)
    tifffile.imwrite(path, data, tile=(128, 128), metadata={"axes": "CYX"})
    for backend in ("auto", "tiled_tiff"):
        with pytest.raises(UnsupportedLayoutError, match=r"4 channel\(s\).*uint16"):
            Slide.open(path, backend=backend)  # type: ignore[arg-type]


def test_three_fluorescence_channels_are_not_rgb(tmp_path: Path) -> None:
    path = tmp_path / "dapi-fitc-tritc.ome.tif"
    channels = {"Name": ["DAPI", "FITC", "TRITC"], "EmissionWavelength": [461.0, 519.0, 576.0]}
    tifffile.imwrite(
        path,
        np.zeros((3, 256, 256), np.uint8),
        tile=(128, 128),
        metadata={"axes": "CYX", "Channel": channels},
    )
    with pytest.raises(UnsupportedLayoutError, match=r"fluorescence channels.*DAPI, FITC, TRITC"):
        Slide.open(path)


# ---------------------------------------------------------------------------- JPEG 2000
def _to_ycbcr(rgb: Image) -> Image:
    a = rgb.astype(np.float32)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return np.clip(np.rint(np.stack([y, cb, cr], -1)), 0, 255).astype(np.uint8)


def _write_j2k(
    path: Path, image: Image, *, compression: int, ycbcr: bool, photometric: str, mct: bool
) -> None:
    """Lossless JPEG 2000 tiles holding Y, Cb, Cr or R, G, B, as the writers do: Aperio
    without a codestream MCT, libvips (33004) Y, Cb, Cr under photometric RGB with MCT."""
    source = _to_ycbcr(image) if ycbcr else image
    t = 256

    def tiles() -> object:
        for y in range(0, image.shape[0], t):
            for x in range(0, image.shape[1], t):
                tile = np.full((t, t, 3), 255, np.uint8)
                block = source[y : y + t, x : x + t]
                tile[: block.shape[0], : block.shape[1]] = block
                yield imagecodecs.jpeg2k_encode(tile, level=0, codecformat="J2K", mct=mct)

    aperio = compression in (33003, 33005)
    description = (
        f"Aperio Image Library v12.0.15 \r\n{image.shape[1]}x{image.shape[0]} "
        f"[0,0 {image.shape[1]}x{image.shape[0]}] (256x256) J2K Q=70|AppMag = 20|MPP = 0.5"
    )
    extra: dict[str, object] = {"subsampling": (1, 1)} if photometric == "ycbcr" else {}
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            tiles(),
            shape=image.shape,
            dtype=np.uint8,
            tile=(t, t),
            compression=compression,
            photometric=photometric,
            description=description if aperio else None,
            metadata=None,
            **extra,  # type: ignore[arg-type]
        )


J2K_CASES = {  # compression, Y/Cb/Cr stored, photometric, codestream MCT
    "aperio-33003.svs": (33003, True, "rgb", False),
    "aperio-33005.svs": (33005, False, "rgb", False),
    "vips-33004.tif": (33004, True, "rgb", True),
    "generic-34712-ycbcr.tif": (34712, True, "ycbcr", False),
    "generic-34712-rgb.tif": (34712, False, "rgb", True),
}


@pytest.mark.parametrize("name", sorted(J2K_CASES))
def test_jpeg2000_colour_is_rgb_whichever_backend(
    tmp_path: Path, texture: Image, name: str
) -> None:
    """Every backend that opens the file gives the source colours (the lossless reference)."""
    compression, ycbcr, photometric, mct = J2K_CASES[name]
    image = texture[:512, :768]
    path = tmp_path / name
    _write_j2k(path, image, compression=compression, ycbcr=ycbcr, photometric=photometric, mct=mct)
    with Slide.open(path) as auto:
        assert auto.backend_name == "tiled_tiff"
    opened = 0
    for backend in ("tiled_tiff", "tiffslide", "openslide"):
        try:
            slide = Slide.open(path, backend=backend)  # type: ignore[arg-type]
        except Exception:  # OpenSlide has no decoder for 33004
            continue
        opened += 1
        with slide:
            got = slide.read_level(0).astype(np.int16)
        error = np.abs(got - image.astype(np.int16))
        assert error.max() <= 1 and error.mean() < 0.5, f"{backend}: {error.mean():.2f}"
    assert opened >= 2  # the direct decoder and tiffslide at least


# ---------------------------------------------------------------------------- metadata
def test_screen_default_resolution_is_missing_with_one_warning(
    tmp_path: Path, texture: Image
) -> None:
    path = tmp_path / "dpi72.tif"
    tifffile.imwrite(
        path,
        texture,
        tile=(256, 256),
        photometric="rgb",
        resolution=(72, 72),
        resolutionunit="INCH",
    )
    with pytest.warns(MetadataWarning, match=r"dpi72\.tif.*352\.8.*treated as missing") as caught:
        slide = Slide.open(path)
    assert len([w for w in caught if issubclass(w.category, MetadataWarning)]) == 1
    with slide:
        assert slide.mpp is None and slide.mpp_source == "missing"
        with pytest.raises(MppUnavailableError, match="screen default"):
            slide.plan(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Slide.open(path, mpp=0.25) as slide:  # an override needs no warning
            assert slide.mpp == (0.25, 0.25)


def test_unitless_resolution_warns_once(tmp_path: Path, texture: Image) -> None:
    path = tmp_path / "unitless.tif"
    tifffile.imwrite(
        path, texture, tile=(256, 256), photometric="rgb", resolution=(1, 1), resolutionunit=1
    )
    with pytest.warns(MetadataWarning, match=r"unitless\.tif.*ResolutionUnit none"):
        slide = Slide.open(path)
    with slide:
        assert slide.mpp is None


def test_big_plain_jpeg_opens_without_the_bomb_guard(tmp_path: Path) -> None:
    """90 Mpx: over Pillow's 89 Mpx warning limit; a user who opens it means it."""
    path = tmp_path / "big.jpg"
    image = np.full((9500, 9500, 3), 240, np.uint8)
    image[:256, :256] = (200, 80, 150)
    path.write_bytes(imagecodecs.jpeg8_encode(image, level=90))
    del image
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Slide.open(path) as slide:
            assert slide.backend_name == "pillow" and slide.dimensions == (9500, 9500)
            patch = slide.read_region((0, 0), 0, (16, 16))
    assert np.abs(patch.astype(int) - (200, 80, 150)).max() <= 3


# ---------------------------------------------------------------------------- bounded masks
def test_tissue_mask_of_a_big_single_level_image_has_bounded_memory(
    tmp_path: Path, texture: Image
) -> None:
    """A 48 Mpx striped image: the mask is built from a streamed downsample of at most
    16.8 Mpx, never from the full-resolution pixels."""
    width, height = 8000, 6000
    path = tmp_path / "big.tif"
    rows = np.tile(texture[:200], (1, math.ceil(width / W), 1))[:, :width]
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(
            (rows for _ in range(height // 200)),
            shape=(height, width, 3),
            dtype=np.uint8,
            photometric="rgb",
            rowsperstrip=200,
            metadata=None,
        )
    tracemalloc.start()
    try:
        mask = WSITissueMask(
            wsi_file=path,
            level_or_minsize=1000,
            remove_small_holes_ratio=0,
            remove_small_objects_ratio=0,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the full-resolution path needs ~28 bytes per level-0 pixel (1.3 GB here)
    assert peak < 2**24 * 28, f"peak {peak / 2**20:.0f} MiB"
    assert mask.slide_dimensions == (width, height)
    assert mask.dimensions == (4000, 3000)
    assert 0.1 < mask.array.mean() < 0.9  # tissue and glass both found
    assert "reduced" in mask.source
