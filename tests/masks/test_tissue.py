"""WSITissueMask: the tissue mask of a real slide, saved and loaded back; the L*a*b* mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mask_helpers import CMU

from slidepatch.errors import MaskError
from slidepatch.masks import (
    WSITissueMask,
    load_mask,
)


def test_tissue_mask_on_real_slide(cmu_small: Path, tmp_path: Path) -> None:
    mask = WSITissueMask(wsi_file=cmu_small, level_or_minsize=0)
    assert mask.array.shape == (2967, 2220)
    assert 0.2 < mask.array.mean() < 0.6  # the section covers about a third of the field
    assert not mask.array[:20, :20].any()  # glass in the top-left corner
    mask.save_png(tmp_path / "m.png")
    mask.save_array(tmp_path / "m.npz")
    for source in (tmp_path / "m.png", tmp_path / "m.npz", str(tmp_path / "m.png")):
        loaded = load_mask(source, slide_dimensions=CMU)
        assert np.array_equal(loaded.array, mask.array)
    assert load_mask(mask, slide_dimensions=CMU) is mask


def test_lab_mode_on_real_slide(cmu_small: Path, cmu_mask: WSITissueMask) -> None:
    lab = WSITissueMask(wsi_file=cmu_small, level_or_minsize=0, mode="lab").array
    assert 0.25 < lab.mean() < 0.45  # measured 0.342; the default mode finds 0.354
    assert not lab[:20, :20].any()
    default = cmu_mask.array
    iou = (lab & default).sum() / (lab | default).sum()
    assert iou > 0.93  # measured 0.958
    with pytest.raises(MaskError, match=r"CMU-1-Small-Region.*'lab'"):
        WSITissueMask(wsi_file=cmu_small, level_or_minsize=0, mode="rgb")  # type: ignore[arg-type]
