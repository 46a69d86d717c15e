"""Locations computed elsewhere: ``CustomPatches`` and the reference's ``PatchesMock``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike, fspath
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

from slidepatch.errors import LocationError
from slidepatch.locations.patchset import LevelOrMpp, PatchItem, PatchSet, PatchSetOutputs
from slidepatch.options import ReadOptions

if TYPE_CHECKING:
    from slidepatch.locations.coordinates.files import CoordinateFormat

T = TypeVar("T", bound="CustomPatches")


class CustomPatches(PatchSetOutputs):
    """Patches given directly: ``patch_data`` tuples, or level-0 ``points`` with ``labels``.

    ``labels`` is one string for every point or one per point. ``patch_labels`` declares the
    allowed labels (kept in ``patch_info`` with zero counts); with ``check_location`` two
    patches at the same location raise. No mask and no pixels are read.
    """

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        patch_data: Sequence[PatchItem] | None = None,
        points: Sequence[Sequence[float]] | None = None,
        labels: str | Sequence[str] = "",
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        patch_labels: Sequence[str] = (),
        check_location: bool = True,
        slide_mpp: float | None = None,
        class_name: str | None = None,
        class_params: Mapping[str, object] | None = None,
        read_options: ReadOptions | None = None,
    ) -> None:
        path = fspath(wsi_file)
        if (patch_data is None) == (points is None):
            raise LocationError(path, "give exactly one of patch_data and points")
        if points is not None:
            pts = list(points)
            if isinstance(labels, str):
                point_labels = [labels] * len(pts)
            else:
                point_labels = [str(x) for x in labels]
                if len(point_labels) != len(pts):
                    raise LocationError(
                        path, f"labels has {len(point_labels)} entries, points has {len(pts)}"
                    )
            patch_data = [
                ((p[0], p[1]), (patch_size, patch_size), lab)
                for p, lab in zip(pts, point_labels, strict=True)
            ]
        name = class_name or type(self).__name__
        params = (
            dict(class_params)
            if class_params
            else {
                "wsi_file": path,
                "level_or_mpp": level_or_mpp,
                "patch_labels": list(patch_labels),
                "check_location": check_location,
                "slide_mpp": slide_mpp,
            }
        )
        try:
            patch_set = PatchSet.from_patch_data(
                slide_path=path,
                level_or_mpp=level_or_mpp,
                patch_data=patch_data or [],
                class_name=name,
                param_info=params,
                label_names=tuple(patch_labels),
                read_options=read_options,
                slide_mpp=slide_mpp,
            )
        except ValueError as exc:
            if isinstance(exc, LocationError):
                raise
            raise LocationError(path, str(exc)) from exc
        check_patch_set(patch_set, patch_labels, check_location)
        self._patch_set = patch_set

    @classmethod
    def from_patch_set(cls: type[T], patch_set: PatchSet) -> T:
        """Wrap an existing PatchSet (no checks repeated)."""
        obj = cls.__new__(cls)
        obj._patch_set = patch_set
        return obj

    @classmethod
    def from_coordinates(
        cls: type[T],
        path: str | PathLike[str],
        *,
        wsi_file: str | PathLike[str],
        format: CoordinateFormat | Literal["auto"] = "auto",
        level_or_mpp: LevelOrMpp | None = None,
        patch_size: int | None = None,
        label: str = "",
        slide_mpp: float | None = None,
        check_location: bool = True,
        read_options: ReadOptions | None = None,
    ) -> T:
        """Patches from a TRIDENT, CLAM or hs2p coordinate file, a CSV or a Parquet table.

        ``format="auto"`` tells the format from the file; ``level_or_mpp``, ``patch_size``
        and ``label`` fill in what a file does not say (a plain CSV). The file must have been
        made for a slide of ``wsi_file``'s size (``CoordinateFileError`` otherwise).
        """
        from slidepatch.locations.coordinates import read_coordinates

        patch_set = read_coordinates(
            path,
            wsi_file=wsi_file,
            format=format,
            level_or_mpp=level_or_mpp,
            patch_size=patch_size,
            label=label,
            slide_mpp=slide_mpp,
            read_options=read_options,
        )
        check_patch_set(patch_set, (), check_location)
        return cls.from_patch_set(patch_set)

    @property
    def param_info(self) -> dict[str, object]:
        return dict(self._patch_set.param_info)

    @property
    def class_name(self) -> str:
        return self._patch_set.class_name

    @property
    def wsi_file(self) -> str:
        return self._patch_set.slide_path

    @property
    def level_or_mpp(self) -> LevelOrMpp:
        return self._patch_set.level_or_mpp

    @property
    def slide_mpp(self) -> float | None:
        return self._patch_set.slide_mpp

    def __repr__(self) -> str:
        return f"{self.class_name}({self.wsi_file!r}, {self.patch_count} patches)"


def check_patch_set(patch_set: PatchSet, patch_labels: Sequence[str], check_location: bool) -> None:
    """Raise ``LocationError`` for labels outside ``patch_labels`` or (with
    ``check_location``) two patches at one location."""
    path = patch_set.slide_path
    if patch_labels:
        allowed = {str(x) for x in patch_labels}
        bad = sorted({lab for lab in patch_set.labels if lab not in allowed})
        if bad:
            raise LocationError(path, f"labels {bad} are not in patch_labels {sorted(allowed)}")
    if check_location and patch_set.patch_count > 1:
        keys = np.stack([patch_set.x, patch_set.y], axis=1)
        uniq, counts = np.unique(keys, axis=0, return_counts=True)
        if (counts > 1).any():
            x, y = uniq[np.argmax(counts > 1)]
            raise LocationError(
                path,
                f"two patches share the location ({int(x)}, {int(y)}); "
                "pass check_location=False to allow it",
            )


class PatchesMock(CustomPatches):
    """The reference's transport class: ``patch_data`` tuples computed elsewhere."""

    def __init__(
        self,
        *,
        patch_data: Sequence[PatchItem],
        wsi_file: str | PathLike[str],
        level_or_mpp: LevelOrMpp,
        patch_labels: Sequence[str] = (),
        check_location: bool = True,
        class_name: str | None = None,
        class_params: Mapping[str, object] | None = None,
        slide_mpp: float | None = None,
        read_options: ReadOptions | None = None,
    ) -> None:
        # Without class_params, param_info lists every init argument, as the reference's.
        params = (
            dict(class_params)
            if class_params
            else {
                "patch_data": [tuple(d) for d in patch_data],
                "wsi_file": fspath(wsi_file),
                "level_or_mpp": level_or_mpp,
                "patch_labels": list(patch_labels),
                "check_location": check_location,
                "class_name": class_name,
                "class_params": dict(class_params or {}),
            }
        )
        if slide_mpp is not None:
            params["slide_mpp"] = slide_mpp
        super().__init__(
            wsi_file=wsi_file,
            patch_data=patch_data,
            level_or_mpp=level_or_mpp,
            patch_labels=patch_labels,
            check_location=check_location,
            slide_mpp=slide_mpp,
            read_options=read_options,
            class_name=class_name or "PatchesMock",
            class_params=params,
        )
