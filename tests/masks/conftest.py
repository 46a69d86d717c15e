"""Fixtures of the mask tests: the real slide's tissue mask and its level-0 pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch.masks import WSITissueMask
from slidepatch.slide import Slide


@pytest.fixture(scope="module")
def cmu_mask(cmu_small: Path) -> WSITissueMask:
    return WSITissueMask(wsi_file=cmu_small, level_or_minsize=0)


@pytest.fixture(scope="module")
def cmu_level(cmu_small: Path) -> np.ndarray:
    with Slide.open(cmu_small) as slide:
        return slide.read_level(0)
