"""An empty result says why: a NoPatchesWarning naming the slide, and ``empty_reason``."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from slidepatch import (
    AnnotationPolygon,
    NoPatchesWarning,
    PolygonRegionGridPatches,
    PolygonRegionRandomPatches,
    WholeImageGridPatches,
    WholeImageInvertedGridPatches,
    WholeImageRandomPatches,
)

SIZE = (2967, 2220)  # the real slide, (height, width)


def _polygons() -> list[AnnotationPolygon]:
    return [
        AnnotationPolygon(points=[(0, 0), (1000, 0), (1000, 1000), (0, 1000)], label="tumor"),
        AnnotationPolygon(
            points=[(1000, 0), (2000, 0), (2000, 1000), (1000, 1000)], label="stroma"
        ),
    ]


def _full() -> npt.NDArray[np.bool_]:
    return np.ones(SIZE, dtype=bool)


def test_included_label_in_another_case(cmu_small: Path) -> None:
    with pytest.warns(NoPatchesWarning, match="CMU-1-Small-Region.svs: no patch locations") as w:
        loc = PolygonRegionGridPatches(
            wsi_file=cmu_small, mask_data=_full(), polygon_data=_polygons(),
            included_labels=["Tumor"],
        )  # fmt: skip
    assert loc.patch_count == 0 and loc.patch_data == []  # the reference's empty result
    reason = loc.empty_reason
    assert reason is not None and reason.kind == "labels"
    assert reason.labels == ("stroma", "tumor")
    assert "'Tumor' differs from 'tumor' only in case" in str(w[0].message)
    assert "the annotations have labels 'stroma', 'tumor'" in reason.message


def test_excluded_labels_removing_every_polygon(cmu_small: Path) -> None:
    with pytest.warns(NoPatchesWarning, match="excluded labels 'tumor', 'stroma' remove every"):
        loc = PolygonRegionRandomPatches(
            wsi_file=cmu_small, mask_data=_full(), polygon_data=_polygons(), num_patches=5,
            excluded_labels=["tumor", "stroma"],
        )  # fmt: skip
    assert loc.empty_reason is not None and loc.empty_reason.kind == "labels"


def test_a_mask_without_tissue(cmu_small: Path) -> None:
    with pytest.warns(NoPatchesWarning, match="the mask has no tissue"):
        loc = WholeImageGridPatches(wsi_file=cmu_small, mask_data=np.zeros(SIZE, bool))
    assert loc.empty_reason is not None and loc.empty_reason.kind == "no_tissue"


def test_polygons_covering_all_the_tissue(cmu_small: Path) -> None:
    mask = np.zeros(SIZE, bool)
    mask[100:900, 100:900] = True
    with pytest.warns(NoPatchesWarning, match="cover all of the mask's tissue"):
        loc = WholeImageInvertedGridPatches(
            wsi_file=cmu_small, mask_data=mask, polygon_data=_polygons(), patch_size=64
        )
    assert loc.empty_reason is not None and loc.empty_reason.kind == "no_tissue"


def test_a_patch_larger_than_the_slide(cmu_small: Path) -> None:
    with pytest.warns(NoPatchesWarning, match=r"is larger than the slide \(2220 x 2967"):
        loc = WholeImageGridPatches(wsi_file=cmu_small, mask_data=_full(), patch_size=3000)
    assert loc.empty_reason is not None and loc.empty_reason.kind == "patch_too_large"


def test_every_candidate_failing_the_foreground_ratio(cmu_small: Path) -> None:
    mask = np.zeros(SIZE, bool)
    mask[::2] = True  # every other row: 50 % tissue everywhere
    with pytest.warns(NoPatchesWarning, match=r"failed foreground_ratio=0.95 \(the most tissue"):
        loc = WholeImageGridPatches(wsi_file=cmu_small, mask_data=mask)
    assert loc.empty_reason is not None and loc.empty_reason.kind == "foreground"
    assert "50%" in loc.empty_reason.message


def test_num_patches_zero(cmu_small: Path) -> None:
    with pytest.warns(NoPatchesWarning, match="num_patches is 0"):
        loc = WholeImageRandomPatches(wsi_file=cmu_small, mask_data=_full(), num_patches=0)
    assert loc.empty_reason is not None and loc.empty_reason.kind == "none_asked"


def test_a_result_with_patches_has_no_reason_and_no_warning(cmu_small: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoPatchesWarning)
        loc = WholeImageGridPatches(wsi_file=cmu_small, mask_data=_full())
    assert loc.patch_count > 0
    assert loc.empty_reason is None
