"""One row per TIFF layout: the direct reader against a plain OpenSlide (or tiffslide) loop.

    python benchmarks/bench_formats.py [--patches N] [--size W H]

Writes each layout from the same synthetic CMU-1 texture (default 6000 x 4000 px, 256 px
tiles, a 2x pyramid) in the benchmark cache folder: a generic JPEG pyramid (the baseline
layout), OME-TIFF interleaved JPEG and with R, G, B channel pages (deflate), a planar
SubIFD pyramid (deflate), vips ``--subifd`` JPEG (when pyvips is installed), a striped LZW
single-level TIFF and an Aperio JPEG 2000 (33003) SVS. Then, one thread in this process,
times N random unaligned 256 px patches at level 0 through ``Slide.read_region`` (auto)
and through a plain loop over OpenSlide's ``read_region`` (tiffslide where OpenSlide cannot
open the file), the same locations for both, and prints patches/s and the ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
PATCH = 256
TILE = 256


def _pyramid(image: Image) -> list[Image]:
    levels = [image]
    while min(levels[-1].shape[:2]) > 512:
        b = levels[-1]
        levels.append(np.ascontiguousarray(b[: b.shape[0] // 2 * 2 : 2, : b.shape[1] // 2 * 2 : 2]))
    return levels


def _planes(image: Image) -> Image:
    return np.ascontiguousarray(np.moveaxis(image, -1, 0))


def write_generic(path: Path, image: Image) -> None:
    import tifffile

    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        for i, lv in enumerate(_pyramid(image)):
            tif.write(
                lv,
                tile=(TILE, TILE),
                photometric="rgb",
                compression="jpeg",
                subfiletype=1 if i else 0,
                resolution=(1e4 / 0.25 / 2**i,) * 2,
                resolutionunit="CENTIMETER",
                metadata=None,
            )


def write_ome(path: Path, image: Image, *, channels: bool) -> None:
    import tifffile

    levels = _pyramid(image)
    data = [_planes(lv) for lv in levels] if channels else levels
    kw: dict[str, object] = (
        {"photometric": "minisblack", "compression": "zlib"}
        if channels
        else {"photometric": "rgb", "compression": "jpeg"}
    )
    meta = {"axes": "CYX" if channels else "YXS", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25}
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(data[0], subifds=len(data) - 1, tile=(TILE, TILE), metadata=meta, **kw)  # type: ignore[arg-type]
        for lv in data[1:]:
            tif.write(lv, subfiletype=1, tile=(TILE, TILE), **kw)  # type: ignore[arg-type]


def write_planar(path: Path, image: Image) -> None:
    import tifffile

    data = [_planes(lv) for lv in _pyramid(image)]
    kw: dict[str, object] = {
        "photometric": "rgb",
        "planarconfig": "separate",
        "compression": "zlib",
    }
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(data[0], subifds=len(data) - 1, tile=(TILE, TILE), metadata=None, **kw)  # type: ignore[arg-type]
        for lv in data[1:]:
            tif.write(lv, subfiletype=1, tile=(TILE, TILE), **kw)  # type: ignore[arg-type]


def write_vips(path: Path, image: Image) -> None:
    import pyvips

    v = pyvips.Image.new_from_array(image, interpretation="srgb").copy(xres=4000.0, yres=4000.0)
    v.tiffsave(str(path), tile=True, pyramid=True, subifd=True, compression="jpeg", Q=85)


def write_striped(path: Path, image: Image) -> None:
    import tifffile

    tifffile.imwrite(path, image, photometric="rgb", compression="lzw", rowsperstrip=64)


def write_j2k(path: Path, image: Image) -> None:
    import imagecodecs
    import tifffile

    a = image.astype(np.float32)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    ycc = np.stack(
        [
            0.299 * r + 0.587 * g + 0.114 * b,
            128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
            128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
        ],
        -1,
    )
    ycc = np.clip(np.rint(ycc), 0, 255).astype(np.uint8)
    h, w = image.shape[:2]

    def tiles():  # type: ignore[no-untyped-def]
        for y in range(0, h, TILE):
            for x in range(0, w, TILE):
                t = np.full((TILE, TILE, 3), 255, np.uint8)
                block = ycc[y : y + TILE, x : x + TILE]
                t[: block.shape[0], : block.shape[1]] = block
                yield imagecodecs.jpeg2k_encode(t, level=40, codecformat="J2K", mct=False)

    desc = f"Aperio Image Library v12.0.15 \r\n{w}x{h} [0,0 {w}x{h}] ({TILE}x{TILE}) J2K|MPP = 0.25"
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(
            tiles(),
            shape=image.shape,
            dtype=np.uint8,
            tile=(TILE, TILE),
            compression=33003,
            photometric="rgb",
            description=desc,
            metadata=None,
        )


LAYOUTS: dict[str, Callable[[Path, Image], None]] = {
    "generic-jpeg.tif": write_generic,
    "ome-jpeg.ome.tif": lambda p, i: write_ome(p, i, channels=False),
    "ome-channels-deflate.ome.tif": lambda p, i: write_ome(p, i, channels=True),
    "planar-subifd-deflate.tif": write_planar,
    "vips-subifd-jpeg.tif": write_vips,
    "striped-lzw.tif": write_striped,
    "aperio-j2k-33003.svs": write_j2k,
}


def time_slidepatch(path: Path, points: list[tuple[int, int]]) -> tuple[float, str]:
    from slidepatch import Slide

    with Slide.open(path) as slide:
        out = np.empty((PATCH, PATCH, 3), np.uint8)
        start = time.perf_counter()
        for x, y in points:
            slide.read_region((x, y), 0, (PATCH, PATCH), out=out)
        return len(points) / (time.perf_counter() - start), slide.backend_name


def time_plain_loop(path: Path, points: list[tuple[int, int]]) -> tuple[float, str] | None:
    """OpenSlide's read_region to RGB arrays; tiffslide where OpenSlide cannot open it."""
    try:
        import openslide

        os_slide = openslide.OpenSlide(str(path))
        start = time.perf_counter()
        for x, y in points:
            np.asarray(os_slide.read_region((x, y), 0, (PATCH, PATCH)).convert("RGB"))
        return len(points) / (time.perf_counter() - start), "openslide"
    except Exception:  # OpenSlide does not read striped or 33004 TIFF
        pass
    try:
        import tiffslide

        ts = tiffslide.TiffSlide(str(path))
        start = time.perf_counter()
        for x, y in points:
            ts.read_region((x, y), 0, (PATCH, PATCH), as_array=True)
        return len(points) / (time.perf_counter() - start), "tiffslide"
    except Exception:  # tiffslide has no planar (SYX) series
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, nargs=2, default=(6000, 4000), metavar=("W", "H"))
    args = parser.parse_args(argv)
    from slidepatch.testing.synthetic import render_synthetic_region

    width, height = args.size
    folder = Path(
        os.environ.get("SLIDEPATCH_BENCH_DIR", Path(tempfile.gettempdir()) / "slidepatch-bench")
    )
    folder = folder / f"formats-{width}x{height}"
    folder.mkdir(parents=True, exist_ok=True)
    image: Image | None = None
    rng = np.random.default_rng(0)
    points = [
        (int(x), int(y))
        for x, y in zip(
            rng.integers(0, width - PATCH, args.patches),
            rng.integers(0, height - PATCH, args.patches),
            strict=True,
        )
    ]
    print(
        f"{args.patches} random unaligned {PATCH} px patches at level 0 of {width} x {height}, "
        f"one thread; median of {args.rounds} rounds, the two readers alternating\n"
    )
    print("| layout | slidepatch (backend) | plain loop (reader) | ratio |")
    print("|---|---|---|---|")
    for name, writer in LAYOUTS.items():
        path = folder / name
        if not path.exists():
            if image is None:
                image = render_synthetic_region(
                    width=width, height=height, downsample=1, box=(0, 0, width, height)
                )
            try:
                writer(path, image)
            except ImportError as exc:
                print(f"| {name} | skipped: {exc} | | |")
                continue
        fast_rates: list[float] = []
        plain_rates: list[float] = []
        reader = ""
        for _ in range(args.rounds):
            fast, backend = time_slidepatch(path, points)
            fast_rates.append(fast)
            plain = time_plain_loop(path, points)
            if plain is not None:
                plain_rates.append(plain[0])
                reader = plain[1]
        fast = float(np.median(fast_rates))
        if not plain_rates:
            print(f"| {name} | {fast:,.0f}/s ({backend}) | no plain reader opens it | |")
            continue
        rate = float(np.median(plain_rates))
        if "channels" in name and reader == "openslide":
            reader += ", grey: first channel page only"
        row = f"{fast:,.0f}/s ({backend}) | {rate:,.0f}/s ({reader}) | {fast / rate:.1f}x"
        print(f"| {name} | {row} |")


if __name__ == "__main__":
    main()
