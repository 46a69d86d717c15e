"""The direct tile decoder gives OpenSlide's geometry, metadata and pixels, and shares tiles."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import openslide
import pytest

from slidepatch.errors import SlideReadError, UnsupportedSlideError
from slidepatch.slide.backends.tile_cache import TileCache
from slidepatch.slide.backends.tiled_tiff import TiledTiffBackend
from slidepatch.slide.slide import Slide
from slidepatch.testing import write_synthetic_slide

# Both decoders are libjpeg-turbo with the same IDCT: measured max difference is 0.
JPEG_TOLERANCE = 1
WHITE = (255, 255, 255)


@pytest.fixture(scope="session")
def synthetic_svs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiled") / "synthetic.svs"
    return write_synthetic_slide(
        path, width=3000, height=2200, tile_size=256, downsamples=(1, 4, 16), layout="svs"
    )


@pytest.fixture(scope="session")
def synthetic_tiff(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiled") / "synthetic.tiff"
    return write_synthetic_slide(
        path, width=2100, height=1700, tile_size=128, downsamples=(1, 2, 8), layout="tiff"
    )


def read_backend(
    backend: TiledTiffBackend, level: int, x: int, y: int, w: int, h: int
) -> npt.NDArray[np.uint8]:
    out = np.empty((h, w, 3), dtype=np.uint8)
    backend.read_window(level=level, x=x, y=y, out=out, fill=WHITE)
    return out


def read_openslide(
    slide: openslide.OpenSlide, level: int, x: int, y: int, w: int, h: int
) -> npt.NDArray[np.int16]:
    """OpenSlide's pixels at level coordinates (exact for integer downsamples)."""
    ds = slide.level_downsamples[level]
    rgba = np.asarray(slide.read_region((round(x * ds), round(y * ds)), level, (w, h)))
    return rgba[..., :3].astype(np.int16)


def max_diff(a: npt.NDArray[np.uint8], b: npt.NDArray[np.int16]) -> int:
    return int(np.abs(a.astype(np.int16) - b).max())


def assert_same_metadata(path: Path) -> None:
    ours = TiledTiffBackend(str(path))
    ref = openslide.OpenSlide(str(path))
    try:
        assert ours.level_dimensions == ref.level_dimensions
        assert ours.level_downsamples == ref.level_downsamples
        expected = {k: v for k, v in ref.properties.items() if k != "openslide.quickhash-1"}
        assert dict(ours.properties) == expected
        assert ours.vendor == ref.properties["openslide.vendor"]
        mpp_x = float(ref.properties[openslide.PROPERTY_NAME_MPP_X])
        mpp_y = float(ref.properties[openslide.PROPERTY_NAME_MPP_Y])
        assert ours.mpp == (mpp_x, mpp_y)
    finally:
        ours.close()
        ref.close()


# ---------------------------------------------------------------------- metadata
@pytest.mark.parametrize("name", ["cmu", "svs", "tiff", "boxes"])
def test_geometry_and_properties_equal_openslide(
    name: str, cmu_small: Path, synthetic_svs: Path, synthetic_tiff: Path, data_dir: Path
) -> None:
    paths = {
        "cmu": cmu_small,
        "svs": synthetic_svs,
        "tiff": synthetic_tiff,
        "boxes": data_dir / "boxes.tiff",
    }
    assert_same_metadata(paths[name])


def test_cmu_reports_aperio_metadata(cmu_small: Path) -> None:
    backend = TiledTiffBackend(str(cmu_small))
    assert backend.vendor == "aperio"
    assert backend.mpp == (0.499, 0.499)
    assert backend.properties["aperio.AppMag"] == "20"
    assert backend.properties["openslide.objective-power"] == "20"
    assert backend.level_dimensions == ((2220, 2967),)
    assert backend.tile_size(0) == (240, 240)
    backend.close()


def test_boxes_keeps_non_integer_downsamples(data_dir: Path) -> None:
    backend = TiledTiffBackend(str(data_dir / "boxes.tiff"))
    assert backend.vendor == "generic-tiff"
    assert backend.level_dimensions == ((300, 250), (150, 125), (75, 62), (37, 31))
    assert backend.level_downsamples[2] == pytest.approx(4.0161290322580641)
    backend.close()


# ---------------------------------------------------------------------- pixels
def test_cmu_whole_level_equals_openslide(cmu_small: Path) -> None:
    backend = TiledTiffBackend(str(cmu_small))
    ref = openslide.OpenSlide(str(cmu_small))
    w, h = backend.level_dimensions[0]
    assert max_diff(read_backend(backend, 0, 0, 0, w, h), read_openslide(ref, 0, 0, 0, w, h)) <= (
        JPEG_TOLERANCE
    )
    backend.close()
    ref.close()


@pytest.mark.parametrize("name", ["cmu", "svs", "tiff", "boxes"])
def test_unaligned_windows_equal_openslide_at_every_level(
    name: str, cmu_small: Path, synthetic_svs: Path, synthetic_tiff: Path, data_dir: Path
) -> None:
    path = {
        "cmu": cmu_small,
        "svs": synthetic_svs,
        "tiff": synthetic_tiff,
        "boxes": data_dir / "boxes.tiff",
    }[name]
    backend = TiledTiffBackend(str(path))
    ref = openslide.OpenSlide(str(path))
    rng = np.random.default_rng(7)
    for level, (lw, lh) in enumerate(backend.level_dimensions):
        if ref.level_downsamples[level] != int(ref.level_downsamples[level]):
            # OpenSlide's level-0 addressing cannot hit every level pixel: compare whole levels
            windows = [(0, 0, lw, lh)]
        else:
            windows = [(0, 0, lw, lh)] if lw * lh < 1_000_000 else []
            for _ in range(12):
                w = int(rng.integers(1, min(lw, 400) + 1))
                h = int(rng.integers(1, min(lh, 400) + 1))
                windows.append(
                    (int(rng.integers(0, lw - w + 1)), int(rng.integers(0, lh - h + 1)), w, h)
                )
        for x, y, w, h in windows:
            got = read_backend(backend, level, x, y, w, h)
            assert max_diff(got, read_openslide(ref, level, x, y, w, h)) <= JPEG_TOLERANCE, (
                f"level {level} window {(x, y, w, h)}"
            )
    backend.close()
    ref.close()


def test_writes_into_strided_views(synthetic_svs: Path) -> None:
    backend = TiledTiffBackend(str(synthetic_svs))
    canvas = np.zeros((300, 400, 3), dtype=np.uint8)
    backend.read_window(level=0, x=250, y=250, out=canvas[10:110, 20:220], fill=WHITE)
    assert np.array_equal(canvas[10:110, 20:220], read_backend(backend, 0, 250, 250, 200, 100))
    assert not canvas[:10].any() and not canvas[:, :20].any()
    backend.close()


def test_slide_reads_equal_across_backends(synthetic_svs: Path) -> None:
    with (
        Slide.open(synthetic_svs, backend="tiled_tiff") as ours,
        Slide.open(synthetic_svs, backend="openslide") as ref,
    ):
        assert ours.level_downsamples == ref.level_downsamples
        assert ours.mpp == ref.mpp
        for location, level in [((-100, -50), 0), ((2900, 2100), 0), ((1000, 800), 1)]:
            got = ours.read_region(location, level, (256, 256))
            want = ref.read_region(location, level, (256, 256))
            assert max_diff(got, want.astype(np.int16)) <= JPEG_TOLERANCE


def test_auto_picks_tiled_tiff_for_svs_and_falls_back(cmu_small: Path, data_dir: Path) -> None:
    with Slide.open(cmu_small) as slide:
        assert slide.backend_name == "tiled_tiff"
    with Slide.open(data_dir / "boxes_0.dcm") as slide:
        assert slide.backend_name != "tiled_tiff"


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("name", ["boxes.png", "boxes_0.dcm", "unopenable.tiff"])
def test_refuses_what_it_cannot_read(name: str, data_dir: Path) -> None:
    with pytest.raises(UnsupportedSlideError, match=name):
        TiledTiffBackend(str(data_dir / name))


def test_corrupt_tile_names_slide_and_region(data_dir: Path) -> None:
    path = data_dir / "unreadable.svs"
    backend = TiledTiffBackend(str(path))
    with pytest.raises(SlideReadError, match=r"level 0 window at \(2, 3\) size 10x8") as info:
        read_backend(backend, 0, 2, 3, 10, 8)
    assert info.value.path == str(path)
    backend.close()


def test_reading_a_closed_slide_fails(synthetic_svs: Path) -> None:
    backend = TiledTiffBackend(str(synthetic_svs))
    backend.close()
    with pytest.raises(SlideReadError, match="closed"):
        read_backend(backend, 0, 0, 0, 10, 10)


# ---------------------------------------------------------------------- cache and threads
def test_overlapping_reads_decode_each_tile_once(synthetic_svs: Path) -> None:
    backend = TiledTiffBackend(str(synthetic_svs))
    touched: list[tuple[int, int]] = []
    for x, y in [(100, 100), (200, 150), (300, 120), (130, 300)]:
        read_backend(backend, 0, x, y, 256, 256)
        touched += [
            (tx, ty) for tx in (x // 256, (x + 255) // 256) for ty in (y // 256, (y + 255) // 256)
        ]
    hits, misses = backend.tile_cache.stats
    assert misses == len(set(touched))
    assert hits == len(touched) - len(set(touched))
    backend.close()


def test_cache_stays_within_its_budget(synthetic_svs: Path) -> None:
    tile_bytes = 256 * 256 * 3
    backend = TiledTiffBackend(str(synthetic_svs), cache_bytes=3 * tile_bytes)
    whole = read_backend(backend, 0, 0, 0, 3000, 2200)
    assert backend.tile_cache.nbytes <= 3 * tile_bytes
    again = read_backend(backend, 0, 0, 0, 3000, 2200)
    assert np.array_equal(whole, again)
    backend.close()


def test_threads_share_tiles_and_get_the_same_pixels(synthetic_svs: Path) -> None:
    backend = TiledTiffBackend(str(synthetic_svs))
    rng = np.random.default_rng(3)
    boxes = [(int(x), int(y)) for x, y in rng.integers(0, 1500, size=(64, 2))]
    serial_backend = TiledTiffBackend(str(synthetic_svs))
    expected = [read_backend(serial_backend, 0, x, y, 300, 300) for x, y in boxes]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda b: read_backend(backend, 0, b[0], b[1], 300, 300), boxes))
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a, b)
    # every tile decoded at most once, however the threads raced
    assert backend.tile_cache.stats[1] == serial_backend.tile_cache.stats[1]
    backend.close()
    serial_backend.close()


def test_tile_cache_decodes_a_tile_in_flight_once() -> None:
    cache = TileCache(max_bytes=1 << 20)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_load() -> npt.NDArray[np.uint8]:
        calls.append(1)
        started.set()
        release.wait(5)
        return np.ones((4, 4, 3), dtype=np.uint8)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(cache.get, "tile", slow_load)
        started.wait(5)
        second = pool.submit(cache.get, "tile", slow_load)
        release.set()
        assert first.result() is second.result()
    assert calls == [1]


def test_tile_cache_does_not_keep_failures() -> None:
    cache = TileCache(max_bytes=1 << 20)

    def broken() -> npt.NDArray[np.uint8]:
        raise ValueError("bad tile")

    with pytest.raises(ValueError, match="bad tile"):
        cache.get("k", broken)
    tile = cache.get("k", lambda: np.zeros((2, 2, 3), dtype=np.uint8))
    assert tile.shape == (2, 2, 3) and not tile.flags.writeable


def test_tile_aligned_windows_bypass_the_cache_and_equal_openslide(synthetic_svs: Path) -> None:
    backend = TiledTiffBackend(str(synthetic_svs))
    ref = openslide.OpenSlide(str(synthetic_svs))
    for x, y in [(0, 0), (512, 256), (2560, 1792)]:
        got = read_backend(backend, 0, x, y, 256, 256)
        assert max_diff(got, read_openslide(ref, 0, x, y, 256, 256)) <= JPEG_TOLERANCE
    assert backend.tile_cache.stats == (0, 0)
    read_backend(backend, 0, 300, 10, 40, 100)  # caches tile (1, 0)
    assert np.array_equal(
        read_backend(backend, 0, 256, 0, 256, 256), read_openslide(ref, 0, 256, 0, 256, 256)
    )
    assert backend.tile_cache.stats == (1, 1)
    backend.close()
    ref.close()


def test_limit_tile_cache_shrinks_a_slide_cache_and_keeps_pixels(synthetic_svs: Path) -> None:
    tile_bytes = 256 * 256 * 3
    backend = TiledTiffBackend(str(synthetic_svs))
    slide = Slide(path=str(synthetic_svs), backend=backend)
    whole = slide.read_region((0, 0), 0, (3000, 2200))
    assert backend.tile_cache.nbytes > 3 * tile_bytes
    slide.limit_tile_cache(3 * tile_bytes)  # drops the oldest tiles at once ...
    assert backend.tile_cache.nbytes <= 3 * tile_bytes
    np.testing.assert_array_equal(slide.read_region((0, 0), 0, (3000, 2200)), whole)
    assert backend.tile_cache.nbytes <= 3 * tile_bytes  # ... and stays within the new bound
    with pytest.raises(ValueError):
        backend.tile_cache.resize(-1)
    slide.close()
