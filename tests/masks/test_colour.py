"""Colour: sRGB to CIE L*a*b* against reference values."""

from __future__ import annotations

import numpy as np
import pytest

from slidepatch.masks import (
    lab_a_star,
    srgb_to_lab,
)


def test_srgb_to_lab_reference_values() -> None:
    rgb = np.array(
        [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [128, 128, 128], [0, 0, 0]]],
        dtype=np.uint8,
    )
    lab = srgb_to_lab(rgb)
    expected = [
        (53.24, 80.09, 67.20),  # red
        (87.73, -86.18, 83.18),  # green
        (32.30, 79.19, -107.86),  # blue
        (100.0, 0.0, 0.0),  # white
        (53.59, 0.0, 0.0),  # mid grey
        (0.0, 0.0, 0.0),  # black
    ]
    assert lab.dtype == np.float32
    assert lab[0] == pytest.approx(np.array(expected), abs=0.5)
    assert lab_a_star(rgb)[0] == pytest.approx(lab[0, :, 1], abs=1e-4)
    with pytest.raises(ValueError, match="uint8"):
        srgb_to_lab(rgb.astype(np.float32))
