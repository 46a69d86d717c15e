"""Slides for the coordinate-file tests: a 0.263 µm/px scanner-like slide and its locations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch import WholeImageGridPatches
from slidepatch.testing import write_synthetic_slide

MPP_263 = 0.263


@pytest.fixture(scope="session")
def slide_263(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3000 x 2000 at 0.263 µm/px (TRIDENT calls it 40x), levels with downsamples 1, 2, 4."""
    folder = tmp_path_factory.mktemp("coords-slides")
    return write_synthetic_slide(
        folder / "scan263.svs", width=3000, height=2000, mpp=MPP_263, downsamples=(1, 2, 4), seed=5
    )


@pytest.fixture(scope="session")
def grid_mpp(slide_263: Path) -> WholeImageGridPatches:
    """256 px patches at 0.5 µm/px (matching no level: 487 level-0 px each)."""
    return WholeImageGridPatches(
        wsi_file=slide_263,
        mask_data=np.ones((20, 30), bool),
        patch_size=256,
        level_or_mpp=0.5,
        weak_label="tissue",
    )


@pytest.fixture(scope="session")
def grid_level1(slide_263: Path) -> WholeImageGridPatches:
    """128 px patches at level 1 (downsample 2), half-overlapping."""
    return WholeImageGridPatches(
        wsi_file=slide_263,
        mask_data=np.ones((20, 30), bool),
        patch_size=128,
        level_or_mpp=1,
        patch_stride=0.5,
        weak_label="stroma",
    )
