"""Shared fixtures: the real slides shipped with the package and the test data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

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
