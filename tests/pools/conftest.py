"""Fixtures for the pool tests: two small synthetic pyramidal slides, the real CMU slide,
PatchSets on them, and a check that no shared-memory segment is left behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from slidepatch.locations.patchset import PatchSet
from slidepatch.pools._shm import block_name_prefix
from slidepatch.testing.synthetic import write_synthetic_slide


def _shm_names() -> set[str]:
    """Shared-memory segments made by this (test) process."""
    if not os.path.isdir("/dev/shm"):
        return set()
    return {n for n in os.listdir("/dev/shm") if n.startswith(block_name_prefix())}


@pytest.fixture
def no_shm_leak() -> Iterator[None]:
    """Fail if the test leaves a shared-memory segment in /dev/shm."""
    before = _shm_names()
    yield
    left = _shm_names() - before
    assert not left, f"shared memory left behind: {sorted(left)}"


@pytest.fixture(scope="session")
def synthetic_slides(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two 2048x1536 SVS slides, levels 1/4, 0.25 µm/px, different tissue."""
    root = tmp_path_factory.mktemp("pool_slides")
    return [
        write_synthetic_slide(
            root / f"slide{i}.svs", width=2048, height=1536, downsamples=(1, 4), seed=i
        )
        for i in range(2)
    ]


def _grid_patch_set(
    path: Path | str,
    *,
    level_or_mpp: int | float = 0,
    size: int = 128,
    step: int = 384,
    labels: tuple[str, ...] = ("tumor", "normal"),
    limit: tuple[int, int] = (2048, 1536),
) -> PatchSet:
    """A grid of patches, labels alternating."""
    data = []
    k = 0
    for y in range(0, limit[1] - size, step):
        for x in range(0, limit[0] - size, step):
            data.append(((x, y), (size, size), labels[k % len(labels)]))
            k += 1
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=level_or_mpp, patch_data=data)


@pytest.fixture(scope="session")
def patch_sets(synthetic_slides: list[Path], cmu_small: Path) -> list[PatchSet]:
    """Three slides: two synthetic (level 0 and level 1) and the real CMU slide."""
    return [
        _grid_patch_set(synthetic_slides[0]),
        _grid_patch_set(synthetic_slides[1], level_or_mpp=1, size=64),
        _grid_patch_set(cmu_small, size=96, step=500, limit=(2220, 2967)),
    ]


@pytest.fixture(scope="session")
def make_grid() -> object:
    """The grid PatchSet builder, for tests that need their own sets."""
    return _grid_patch_set
