"""Slides for the extractor tests: the real CMU slide and small synthetic pyramids."""

from __future__ import annotations

from pathlib import Path

import pytest

from slidepatch.testing import write_synthetic_slide


@pytest.fixture(scope="session")
def h1_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like the Appendix's ``h1.svs``: 0.25 µm/px, downsamples 1, 4, 16, wide enough for
    patches at x = 5888..6656."""
    folder = tmp_path_factory.mktemp("h1")
    return write_synthetic_slide(folder / "h1.svs", width=6656, height=1024, seed=1)


@pytest.fixture(scope="session")
def no_mpp_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generic tiled TIFF without MPP metadata (levels 1, 4)."""
    folder = tmp_path_factory.mktemp("nompp")
    return write_synthetic_slide(
        folder / "nompp.tiff",
        width=2048,
        height=1536,
        layout="tiff",
        mpp=None,
        magnification=None,
        downsamples=(1, 4),
        seed=2,
    )
