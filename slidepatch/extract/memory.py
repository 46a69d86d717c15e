"""In-memory extractors: stream a slide's patches, in order, with bounded read-ahead."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from slidepatch.extract.base import PatchExtractorBase
from slidepatch.extract.multires import check_resolutions, multires_locations
from slidepatch.extract.reader import read_one_patch
from slidepatch.locations.patchset import LevelOrMpp
from slidepatch.resolution import Resolution
from slidepatch.slide.slide import ResamplingMode, Slide

ImageFormat = Literal["numpy", "pil"]
IMAGE_FORMATS = ("numpy", "pil")


def check_image_format(value: object) -> ImageFormat:
    if value not in IMAGE_FORMATS:
        raise ValueError(f"image_format must be 'numpy' or 'pil', got {value!r}")
    return value  # type: ignore[return-value]


class _MemBase(PatchExtractorBase):
    def __init__(
        self,
        *,
        patches: object,
        num_workers: int,
        mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        inference_mode: bool = False,
        image_format: ImageFormat = "numpy",
    ) -> None:
        super().__init__(
            patches=patches,
            num_workers=num_workers,
            mp_chunksize=mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
        )
        self._inference_mode = bool(inference_mode)
        self._image_format = check_image_format(image_format)
        self._stream: Iterator[Any] = self._generate()

    @property
    def patch_stream(self) -> Iterator[Any]:
        """One-shot iterator over the patches, in ``patch_data`` order.

        Reading starts when iteration starts; resolution errors (an MPP without a
        resampling mode, a slide without MPP) are raised by the first ``next``.
        """
        return self._stream

    def _item(self, image: npt.NDArray[np.uint8], index: int) -> tuple[Any, ...]:
        out: Any = image
        if self._image_format == "pil":
            from PIL import Image

            out = Image.fromarray(image)
        label = self._patch_set.labels[index]
        return (out, label, index) if self._inference_mode else (out, label)

    def _generate(self) -> Iterator[Any]:
        raise NotImplementedError


class MemPatchExtractor(_MemBase):
    """Reads one slide's patches into memory.

    ``patch_stream`` yields ``(image, label)`` — or ``(image, label, index)`` with
    ``inference_mode=True``, ``index`` being the position in ``patch_data`` — in
    ``patch_data`` order. Images are ``(h, w, 3)`` uint8 RGB arrays, or PIL images with
    ``image_format="pil"``.
    """

    def _generate(self) -> Iterator[tuple[Any, ...]]:
        ps = self._patch_set
        with self._open_slide() as slide:
            slide.plan(ps.resolution, resampling_mode=self._resampling_mode)

            def read(chunk: list[int]) -> list[npt.NDArray[np.uint8]]:
                return [
                    read_one_patch(
                        slide=slide,
                        index=i,
                        location=(int(ps.x[i]), int(ps.y[i])),
                        size=(int(ps.width[i]), int(ps.height[i])),
                        resolution=ps.resolution,
                        resampling_mode=self._resampling_mode,
                    )
                    for i in chunk
                ]

            index = 0
            for images in self._run_chunks(range(len(ps)), read):
                for image in images:
                    yield self._item(image, index)
                    index += 1


class MultiResMemPatchExtractor(_MemBase):
    """Reads one slide's patches at several levels/MPPs, all centred on the base patch.

    ``patch_stream`` yields one list per base patch with one item per entry of
    ``levels_or_mpps`` (in that order), each ``(image, label)`` or
    ``(image, label, index)``. ``patch_count`` counts images (patches x entries).
    """

    def __init__(
        self,
        *,
        patches: object,
        levels_or_mpps: Sequence[LevelOrMpp | Resolution],
        num_workers: int,
        mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        inference_mode: bool = False,
        image_format: ImageFormat = "numpy",
    ) -> None:
        self._levels_or_mpps = check_resolutions(levels_or_mpps)
        super().__init__(
            patches=patches,
            num_workers=num_workers,
            mp_chunksize=mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
            inference_mode=inference_mode,
            image_format=image_format,
        )

    @property
    def levels_or_mpps(self) -> list[LevelOrMpp]:
        return [r.value for r in self._levels_or_mpps]

    @property
    def patch_count(self) -> int:
        return len(self._patch_set) * len(self._levels_or_mpps)

    def _generate(self) -> Iterator[list[tuple[Any, ...]]]:
        ps = self._patch_set
        entries = self._levels_or_mpps
        with self._open_slide() as slide:
            for entry in entries:
                slide.plan(entry, resampling_mode=self._resampling_mode)
            locs = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=entries)

            def read(chunk: list[int]) -> list[list[npt.NDArray[np.uint8]]]:
                return [read_set(slide, i) for i in chunk]

            def read_set(slide: Slide, i: int) -> list[npt.NDArray[np.uint8]]:
                size = (int(ps.width[i]), int(ps.height[i]))
                return [
                    read_one_patch(
                        slide=slide,
                        index=i,
                        location=(int(locs[i, j, 0]), int(locs[i, j, 1])),
                        size=size,
                        resolution=entry,
                        resampling_mode=self._resampling_mode,
                    )
                    for j, entry in enumerate(entries)
                ]

            index = 0
            for sets in self._run_chunks(range(len(ps)), read):
                for images in sets:
                    yield [self._item(image, index) for image in images]
                    index += 1
