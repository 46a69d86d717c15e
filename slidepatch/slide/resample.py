"""Reads at an MPP that matches no native level ("tile" and "wsi" resampling modes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from slidepatch.slide.slide import ReadPlan, ResamplingMode, Slide


def read_resampled(
    slide: Slide,
    plan: ReadPlan,
    location: tuple[int, int],
    size: tuple[int, int],
    out: npt.NDArray[np.uint8],
    mode: ResamplingMode,
) -> None:
    """Placeholder until resampling lands: nearest-finer level, Lanczos resize."""
    from PIL import Image

    w, h = size
    src_w = max(1, round(w * plan.scale))
    src_h = max(1, round(h * plan.scale))
    src = np.empty((src_h, src_w, 3), dtype=np.uint8)
    slide._read_level(plan.level, location, src_w, src_h, src)
    out[...] = np.asarray(Image.fromarray(src).resize((w, h), Image.Resampling.LANCZOS))
