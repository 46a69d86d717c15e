"""Morphology: small objects removed, holes filled, by size."""

from __future__ import annotations

import numpy as np

from slidepatch.masks import (
    fill_holes,
    remove_small_objects,
)


def test_component_cleanup() -> None:
    arr = np.zeros((20, 20), dtype=bool)
    arr[2:12, 2:12] = True
    arr[5:7, 5:7] = False  # hole of 4 px
    arr[15, 15] = True  # speck
    assert not remove_small_objects(arr, min_size=2)[15, 15]
    assert remove_small_objects(arr, min_size=2)[2, 2]
    assert fill_holes(arr, max_size=4)[5:7, 5:7].all()
    assert not fill_holes(arr, max_size=3)[5:7, 5:7].any()
