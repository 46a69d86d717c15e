"""Shared fixtures: the real slide, the test data folder, and synthetic pyramidal slides."""

from __future__ import annotations

from pathlib import Path

import pytest

from slidepatch.testing import write_synthetic_slide

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
CMU_SMALL = Path(__file__).resolve().parents[1] / "slidepatch" / "data" / "CMU-1-Small-Region.svs"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def cmu_small() -> Path:
    """The real Aperio scanner slide (2220x2967, 0.499 µm/px, JPEG, 240 px tiles)."""
    return CMU_SMALL


@pytest.fixture(scope="session")
def synthetic_svs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Aperio layout, 3000x2000 at 0.25 µm/px, levels 1/4/16 (level 2 is 188x125: ds 15.96)."""
    folder = tmp_path_factory.mktemp("slide-synthetic")
    return write_synthetic_slide(folder / "synthetic.svs", width=3000, height=2000, seed=11)


@pytest.fixture(scope="session")
def synthetic_tiff(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generic tiled TIFF layout, 2100x1500, 240 px tiles, levels 1/2/8 (non-integer ds)."""
    folder = tmp_path_factory.mktemp("slide-synthetic")
    return write_synthetic_slide(
        folder / "synthetic.tiff",
        width=2100,
        height=1500,
        tile_size=240,
        downsamples=(1, 2, 8),
        layout="tiff",
        mpp=0.5,
        seed=12,
    )
