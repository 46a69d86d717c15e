"""Fixtures for the command line tests: small real-texture slides."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from slidepatch.testing import write_synthetic_slide


@pytest.fixture(scope="session")
def two_slides(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``a.svs`` and ``b.svs``: 1536 x 1024 real texture, 0.25 µm/px, different tissue."""
    folder = tmp_path_factory.mktemp("two-slides")
    a = write_synthetic_slide(folder / "a.svs", width=1536, height=1024, seed=3)
    b = write_synthetic_slide(folder / "b.svs", width=1536, height=1024, seed=4)
    return Path(a), Path(b)


@pytest.fixture(scope="session")
def no_mpp_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1536 x 1024 tiled TIFF without any MPP metadata."""
    folder = tmp_path_factory.mktemp("no-mpp")
    return Path(
        write_synthetic_slide(
            folder / "nompp.tiff", width=1536, height=1024, layout="tiff", mpp=None, seed=5
        )
    )


@pytest.fixture(scope="session")
def white_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A slide with no tissue at all (all white)."""
    folder = tmp_path_factory.mktemp("white")
    return Path(
        write_synthetic_slide(folder / "white.svs", width=1024, height=768, tissue_fraction=0.0)
    )


@pytest.fixture
def copied(tmp_path: Path) -> Callable[[Path, str], Path]:
    """Copy a slide under another name into the test's folder."""

    def copy(slide: Path, name: str) -> Path:
        target = tmp_path / name
        shutil.copyfile(slide, target)
        return target

    return copy
