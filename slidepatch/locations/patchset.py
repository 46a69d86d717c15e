"""PatchSet: the plain value that carries one slide's patch locations to the extractors.

A PatchSet is small and picklable (paths, numbers and numpy arrays, never an open
slide), so pools can ship it to worker processes, which open the slide themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike, fspath
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from slidepatch.locations.coordinates.files import CoordinateFormat

LevelOrMpp = int | float
PatchTuple = tuple[tuple[int, int], tuple[int, int], str]


def check_level_or_mpp(value: object) -> LevelOrMpp:
    """Validate the reference's ``level_or_mpp`` convention: ``int`` = level, ``float`` = MPP.

    numpy scalars are accepted and converted (the reference rejected numpy integers);
    ``bool`` is rejected because ``True`` silently meaning level 1 is a trap.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"level_or_mpp must be an int level or a float MPP, not {value!r}")
    if isinstance(value, (int, np.integer)):
        if int(value) < 0:
            raise ValueError(f"level_or_mpp: level must be >= 0, got {value!r}")
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or float(value) <= 0.0:
            raise ValueError(f"level_or_mpp: MPP must be a positive number, got {value!r}")
        return float(value)
    raise ValueError(
        f"level_or_mpp must be an int (pyramid level) or a float (microns per pixel), "
        f"got {type(value).__name__} {value!r}"
    )


@dataclass(frozen=True, eq=False)
class PatchSet:
    """The patch locations of one slide.

    ``x``/``y`` are level-0 top-left corners; ``width``/``height`` are sizes in pixels at
    the resolution being read (``level_or_mpp``). ``slide_mpp`` optionally overrides the
    slide's MPP metadata, and travels with the set so that workers open the slide the
    same way the parent did. ``wsi_id`` optionally replaces the slide's file stem in the
    names of everything written for it (patch files, manifests, shards); None keeps the stem.
    """

    slide_path: str
    level_or_mpp: LevelOrMpp
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    width: npt.NDArray[np.int64]
    height: npt.NDArray[np.int64]
    labels: tuple[str, ...]
    class_name: str = "PatchSet"
    param_info: Mapping[str, Any] = field(default_factory=dict)
    label_names: tuple[str, ...] = ()
    slide_mpp: float | None = None
    backend: str = "auto"
    wsi_id: str | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        for name in ("x", "y", "width", "height"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.int64).reshape(-1)
            if arr.shape[0] != n:
                raise ValueError(
                    f"PatchSet for {self.slide_path}: {name} has {arr.shape[0]} entries, "
                    f"labels has {n}"
                )
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))
        object.__setattr__(self, "level_or_mpp", check_level_or_mpp(self.level_or_mpp))
        if n and (int(self.width.min()) <= 0 or int(self.height.min()) <= 0):
            raise ValueError(f"PatchSet for {self.slide_path}: patch sizes must be positive")
        names = self.label_names or tuple(sorted(set(self.labels)))
        object.__setattr__(self, "label_names", tuple(sorted(set(names))))

    @classmethod
    def from_patch_data(
        cls,
        *,
        slide_path: str | PathLike[str],
        level_or_mpp: LevelOrMpp,
        patch_data: Sequence[Sequence[Any]],
        class_name: str = "PatchSet",
        param_info: Mapping[str, Any] | None = None,
        label_names: Sequence[str] = (),
        slide_mpp: float | None = None,
        backend: str = "auto",
    ) -> PatchSet:
        """Build a PatchSet from the reference's ``((x0, y0), (w, h), label)`` tuples."""
        xs, ys, ws, hs, labels = [], [], [], [], []
        for i, item in enumerate(patch_data):
            try:
                (px, py), (pw, ph), label = item
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{fspath(slide_path)}: patch_data[{i}] must be ((x, y), (w, h), label), "
                    f"got {item!r}"
                ) from exc
            xs.append(int(px))
            ys.append(int(py))
            ws.append(int(pw))
            hs.append(int(ph))
            labels.append(str(label))
        return cls(
            slide_path=fspath(slide_path),
            level_or_mpp=level_or_mpp,
            x=np.asarray(xs, dtype=np.int64),
            y=np.asarray(ys, dtype=np.int64),
            width=np.asarray(ws, dtype=np.int64),
            height=np.asarray(hs, dtype=np.int64),
            labels=tuple(labels),
            class_name=class_name,
            param_info=dict(param_info or {}),
            label_names=tuple(label_names),
            slide_mpp=slide_mpp,
            backend=backend,
        )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def patch_count(self) -> int:
        return len(self.labels)

    @property
    def patch_data(self) -> list[PatchTuple]:
        """The reference's tuple view: ``((x0, y0), (w, h), label)`` per patch."""
        return [
            ((int(x), int(y)), (int(w), int(h)), label)
            for x, y, w, h, label in zip(
                self.x, self.y, self.width, self.height, self.labels, strict=True
            )
        ]

    @property
    def patch_labels(self) -> list[str]:
        """Sorted distinct labels (including declared labels that have no patch)."""
        return list(self.label_names)

    @property
    def patch_info(self) -> dict[str, int]:
        """Patch count per label, sorted by label, zero entries kept."""
        counts = dict.fromkeys(self.label_names, 0)
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def wsi_file(self) -> str:
        return self.slide_path

    def select(
        self, indices: npt.ArrayLike, *, label_names: Sequence[str] | None = None
    ) -> PatchSet:
        """A PatchSet holding only the patches at ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        return PatchSet(
            slide_path=self.slide_path,
            level_or_mpp=self.level_or_mpp,
            x=self.x[idx],
            y=self.y[idx],
            width=self.width[idx],
            height=self.height[idx],
            labels=tuple(self.labels[i] for i in idx),
            class_name=self.class_name,
            param_info=self.param_info,
            label_names=self.label_names if label_names is None else tuple(label_names),
            slide_mpp=self.slide_mpp,
            backend=self.backend,
            wsi_id=self.wsi_id,
        )


class PatchSetOutputs:
    """The reference's output properties, for classes that hold their result as a PatchSet."""

    _patch_set: PatchSet

    @property
    def patch_set(self) -> PatchSet:
        """The plain value that extractors consume."""
        return self._patch_set

    @property
    def patch_data(self) -> list[PatchTuple]:
        return self._patch_set.patch_data

    @property
    def patch_count(self) -> int:
        return self._patch_set.patch_count

    @property
    def patch_info(self) -> dict[str, int]:
        return self._patch_set.patch_info

    @property
    def patch_labels(self) -> list[str]:
        return self._patch_set.patch_labels

    def save_coordinates(
        self,
        path_or_dir: str | PathLike[str],
        *,
        format: CoordinateFormat,
        trident_magnification: Literal["bucket", "exact"] = "bucket",
    ) -> str:
        """Write the coordinates as a TRIDENT, CLAM or hs2p file or a CSV; return its path.

        A folder gets the tool's own layout (``<mag>x_<size>px_<overlap>px_overlap/patches/
        <slide>_patches.h5``, ``patches/<slide>.h5``, ``tiles/<slide>.coordinates.npz``,
        ``<slide>.csv``); a file name is used as it is.
        """
        from slidepatch.locations.coordinates import files

        return files.save(
            self._patch_set,
            path_or_dir,
            format=format,
            trident_magnification=trident_magnification,
        )


def as_patchset(obj: object) -> PatchSet:
    """Turn a location object, a PatchSet or any reference-style patches object into a PatchSet.

    Accepted: a ``PatchSet``; anything with a ``patch_set`` attribute (slidepatch location
    classes); anything with ``wsi_file``, ``patch_data`` and ``level_or_mpp`` (the
    reference's location classes and ``PatchesMock``).
    """
    if isinstance(obj, PatchSet):
        return obj
    inner = getattr(obj, "patch_set", None)
    if isinstance(inner, PatchSet):
        return inner
    if all(hasattr(obj, name) for name in ("wsi_file", "patch_data", "level_or_mpp")):
        return PatchSet.from_patch_data(
            slide_path=obj.wsi_file,  # type: ignore[attr-defined]
            level_or_mpp=obj.level_or_mpp,  # type: ignore[attr-defined]
            patch_data=obj.patch_data,  # type: ignore[attr-defined]
            class_name=str(getattr(obj, "class_name", type(obj).__name__)),
            param_info=dict(getattr(obj, "param_info", {}) or {}),
            label_names=tuple(getattr(obj, "patch_labels", ()) or ()),
        )
    raise TypeError(
        "expected a PatchSet, a location object or an object with wsi_file, patch_data and "
        f"level_or_mpp; got {type(obj).__name__}"
    )
