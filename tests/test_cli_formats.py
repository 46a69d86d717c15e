"""``slidepatch extract`` on real-world layouts, and ``--backend``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile

from slidepatch.testing.synthetic import render_synthetic_region


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slidepatch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ome_channels(path: Path) -> Path:
    """An OME-TIFF with R, G, B as separate channel pages and a SubIFD level."""
    rgb = render_synthetic_region(width=768, height=512, downsample=1, box=(0, 0, 768, 512))
    planes = np.ascontiguousarray(np.moveaxis(rgb, -1, 0))
    meta = {"axes": "CYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25}
    with tifffile.TiffWriter(path) as tif:
        tif.write(planes, subifds=1, tile=(256, 256), compression="zlib", metadata=meta)
        tif.write(planes[:, ::2, ::2].copy(), subfiletype=1, tile=(256, 256), compression="zlib")
    return path


def test_extract_ome_multiresolution_with_backend(tmp_path: Path) -> None:
    slide = _ome_channels(tmp_path / "rgb.ome.tif")
    for backend in ("auto", "tiled_tiff"):
        out = tmp_path / backend
        result = _run(
            "extract", slide, "--out", out, "--procs", "1", "--patch-size", "64",
            "--levels", "0", "1", "--foreground-ratio", "0.5", "--backend", backend,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert len(list(out.rglob("*.png"))) > 0


def test_backend_that_would_be_wrong_is_a_one_line_error(tmp_path: Path) -> None:
    slide = _ome_channels(tmp_path / "rgb.ome.tif")
    result = _run("extract", slide, "--out", tmp_path / "o", "--backend", "openslide")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "separate pages" in lines[0], result.stderr


def test_unknown_backend_is_a_usage_error(tmp_path: Path) -> None:
    result = _run("extract", "x.svs", "--out", tmp_path / "o", "--backend", "vips")
    assert result.returncode == 2 and "--backend" in result.stderr
