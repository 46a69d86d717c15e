"""In-memory extractors: order, items, pixels, labels, multi-resolution sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch import ExtractionError, PatchSet, ResamplingRequiredError, Slide
from slidepatch.extract import MemPatchExtractor, MultiResMemPatchExtractor

DATA = [
    ((0, 0), (128, 128), "area1"),
    ((512, 256), (128, 128), "area2"),
    ((2000, 2800), (128, 128), "area3"),
    ((1024, 1024), (128, 128), "area1"),
    ((128, 1500), (128, 128), ""),
]


@pytest.fixture(scope="module")
def cmu_set(cmu_small: Path) -> PatchSet:
    return PatchSet.from_patch_data(slide_path=cmu_small, level_or_mpp=0, patch_data=DATA)


@pytest.mark.parametrize(("num_workers", "chunk"), [(1, 1), (3, 2)])
def test_stream_in_order_with_exact_pixels(
    cmu_set: PatchSet, cmu_small: Path, num_workers: int, chunk: int
) -> None:
    ext = MemPatchExtractor(patches=cmu_set, num_workers=num_workers, mp_chunksize=chunk)
    items = list(ext.patch_stream)
    assert ext.patch_count == 5
    assert [label for _, label in items] == [d[2] for d in DATA]
    with Slide.open(cmu_small) as slide:
        for (image, _), (xy, size, _) in zip(items, DATA, strict=True):
            assert isinstance(image, np.ndarray)
            assert np.array_equal(image, slide.read_region(xy, 0, size))
    assert list(ext.patch_stream) == []  # one-shot, like the reference


def test_inference_mode_and_pil(cmu_set: PatchSet) -> None:
    ext = MemPatchExtractor(
        patches=cmu_set,
        num_workers=2,
        inference_mode=True,
        image_format="pil",
        included_labels=["area1", "area3"],
    )
    items = list(ext.patch_stream)
    assert [(type(i).__name__, lab, idx) for i, lab, idx in items] == [
        ("Image", "area1", 0),
        ("Image", "area3", 1),
        ("Image", "area1", 2),
    ]
    assert all(isinstance(i, Image.Image) and i.mode == "RGB" for i, _, _ in items)


@pytest.mark.parametrize(
    ("included", "excluded", "count", "labels"),
    [
        ([], [], 5, ["", "area1", "area2", "area3"]),
        (None, None, 5, ["", "area1", "area2", "area3"]),
        (["area1", "area3"], [], 3, ["area1", "area3"]),
        ([""], None, 1, [""]),
        (None, ["area1"], 3, ["", "area2", "area3"]),
        ([], [""], 4, ["area1", "area2", "area3"]),
        (None, ["", "area1", "area2", "area3"], 0, []),
    ],
)
def test_label_filtering(
    cmu_set: PatchSet, included: list | None, excluded: list | None, count: int, labels: list
) -> None:
    ext = MemPatchExtractor(
        patches=cmu_set, num_workers=1, included_labels=included, excluded_labels=excluded
    )
    assert ext.patch_count == count
    assert ext.patch_labels == labels
    assert len(ext.patch_data) == count
    assert len(list(ext.patch_stream)) == count


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"included_labels": ["a"], "excluded_labels": ["b"]}, ValueError),
        ({"included_labels": [""], "excluded_labels": [""]}, ValueError),
        ({"mp_chunksize": None}, TypeError),
        ({"mp_chunksize": 0}, ValueError),
        ({"num_workers": 0}, ValueError),
        ({"resampling_mode": "bilinear"}, ValueError),
        ({"image_format": "cv2"}, ValueError),
        ({"included_labels": "area1"}, TypeError),
    ],
)
def test_bad_arguments(cmu_set: PatchSet, kwargs: dict, error: type) -> None:
    args = {"patches": cmu_set, "num_workers": 1, **kwargs}
    with pytest.raises(error):
        MemPatchExtractor(**args)
    with pytest.raises(error):
        MultiResMemPatchExtractor(levels_or_mpps=[0], **args)


def test_mpp_without_mode_raises_on_iteration(cmu_small: Path) -> None:
    ps = PatchSet.from_patch_data(slide_path=cmu_small, level_or_mpp=0.3, patch_data=DATA[:1])
    ext = MemPatchExtractor(patches=ps, num_workers=1)
    with pytest.raises(ResamplingRequiredError):
        next(iter(ext.patch_stream))
    ext = MemPatchExtractor(patches=ps, num_workers=1, resampling_mode="tile")
    assert next(iter(ext.patch_stream))[0].shape == (128, 128, 3)


def test_read_error_names_patch(cmu_small: Path) -> None:
    ps = PatchSet.from_patch_data(
        slide_path=cmu_small, level_or_mpp=0, patch_data=[*DATA[:2], ((9000, 0), (8, 8), "x")]
    )
    stream = MemPatchExtractor(patches=ps, num_workers=2).patch_stream
    assert next(stream)[1] == "area1"
    with pytest.raises(ExtractionError, match=r"patch 2 at level-0 \(9000, 0\)"):
        list(stream)


def test_stream_can_be_abandoned(cmu_set: PatchSet) -> None:
    stream = MemPatchExtractor(patches=cmu_set, num_workers=2).patch_stream
    next(stream)
    stream.close()  # type: ignore[attr-defined]  # cancels pending reads, closes the slide


def test_multires_sets(h1_slide: Path) -> None:
    data = [((5888, 0), (256, 256), "tumor"), ((1000, 500), (64, 32), "stroma")]
    ps = PatchSet.from_patch_data(slide_path=h1_slide, level_or_mpp=0, patch_data=data)
    ext = MultiResMemPatchExtractor(
        patches=ps,
        levels_or_mpps=[0, 1, 0.5],
        num_workers=2,
        inference_mode=True,
        resampling_mode="tile",
    )
    assert ext.patch_count == 6
    sets = list(ext.patch_stream)
    assert len(sets) == 2 and all(len(s) == 3 for s in sets)
    with Slide.open(h1_slide) as slide:
        expected = {
            0: [((5888, 0), 0), ((5504, -384), 1), ((5760, -128), 0.5)],
            1: [((1000, 500), 0), ((904, 452), 1), ((968, 484), 0.5)],
        }
        for i, items in enumerate(sets):
            for (image, label, index), (xy, res) in zip(items, expected[i], strict=True):
                assert (label, index) == (data[i][2], i)
                assert image.shape == (data[i][1][1], data[i][1][0], 3)
                assert np.array_equal(
                    image, slide.read_region(xy, res, data[i][1], resampling_mode="tile")
                )
    # padding with the fill colour above the slide's top edge at level 1
    level1 = sets[0][1][0]
    assert (level1[:96] == 255).all() and not (level1[96:] == 255).all()


def test_multires_mpp_without_mode(h1_slide: Path) -> None:
    ps = PatchSet.from_patch_data(
        slide_path=h1_slide, level_or_mpp=0, patch_data=[((256, 256), (64, 64), "a")]
    )
    ext = MultiResMemPatchExtractor(patches=ps, levels_or_mpps=[0, 0.3], num_workers=1)
    with pytest.raises(ResamplingRequiredError):
        list(ext.patch_stream)
    ext = MultiResMemPatchExtractor(
        patches=ps, levels_or_mpps=[0.3, 0.28], num_workers=1, resampling_mode="tile"
    )
    assert [len(s) for s in ext.patch_stream] == [2]


def test_wsi_mode_with_integer_levels_reads_natively(h1_slide: Path) -> None:
    ps = PatchSet.from_patch_data(
        slide_path=h1_slide, level_or_mpp=1, patch_data=[((1024, 256), (64, 64), "a")]
    )
    single = MemPatchExtractor(patches=ps, num_workers=1, resampling_mode="wsi")
    multi = MultiResMemPatchExtractor(
        patches=ps, levels_or_mpps=[1, 2], num_workers=1, resampling_mode="wsi"
    )
    with Slide.open(h1_slide) as slide:
        expected = slide.read_region((1024, 256), 1, (64, 64))
    assert np.array_equal(next(single.patch_stream)[0], expected)
    assert np.array_equal(next(multi.patch_stream)[0][0], expected)
