"""Fixtures for location tests: hand-made masks on the real slide, a synthetic slide."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from slidepatch.annotations import AnnotationPolygon


@pytest.fixture(scope="session")
def full_mask() -> npt.NDArray[np.bool_]:
    """A level-0 mask of the real slide: a disc plus a rectangle (2967 x 2220)."""
    yy, xx = np.mgrid[0:2967, 0:2220]
    disc = (xx - 1100) ** 2 + (yy - 1500) ** 2 < 800**2
    rect = (xx > 100) & (xx < 700) & (yy > 100) & (yy < 500)
    return np.asarray(disc | rect)


@pytest.fixture(scope="session")
def polygons() -> list[AnnotationPolygon]:
    return [
        AnnotationPolygon(
            points=[(300, 700), (1900, 700), (1900, 2300), (300, 2300)],
            label="tumor",
            holes=[[(800, 1200), (1400, 1200), (1400, 1800), (800, 1800)]],
        ),
        AnnotationPolygon(
            points=[(900, 1300), (1300, 1300), (1300, 1700), (900, 1700)], label="normal"
        ),
    ]


@pytest.fixture(scope="session")
def synthetic_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    synthetic = pytest.importorskip("slidepatch.testing.synthetic")
    path = tmp_path_factory.mktemp("synth") / "synth.svs"
    return Path(
        synthetic.write_synthetic_slide(path, width=3072, height=2048, downsamples=(1, 4, 16))
    )
