"""PatchSet: the plain value that carries one slide's patch locations to the extractors.

A PatchSet is small and picklable (paths, numbers and numpy arrays, never an open
slide), so pools can ship it to worker processes, which open the slide themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike, fspath
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from slidepatch.options import DEFAULT_READ_OPTIONS, BackendName, ReadOptions, read_options_of
from slidepatch.resolution import LevelOrMpp as LevelOrMpp  # re-exported
from slidepatch.resolution import Resolution, resolution_of
from slidepatch.resolution import check_level_or_mpp as check_level_or_mpp

if TYPE_CHECKING:
    from slidepatch.locations.coordinates.files import CoordinateFormat

PatchTuple = tuple[tuple[int, int], tuple[int, int], str]
PatchItem = tuple[tuple[float, float], tuple[float, float], str]
"""One patch as the reference's ``patch_data`` gives it: ``((x0, y0), (w, h), label)``
(numbers are truncated to ints)."""


class PatchSource(Protocol):
    """One item of a pool's ``patches_pool``: a PatchSet, a location object, or anything
    shaped like the reference's location classes (``wsi_file``, ``patch_data``,
    ``level_or_mpp``)."""

    @property
    def wsi_file(self) -> str: ...

    @property
    def level_or_mpp(self) -> LevelOrMpp: ...

    @property
    def patch_data(self) -> Sequence[PatchItem]: ...


@dataclass(frozen=True, eq=False)
class PatchSet:
    """The patch locations of one slide.

    ``x``/``y`` are level-0 top-left corners; ``width``/``height`` are sizes in pixels at
    the resolution being read. ``level_or_mpp`` (the reference's int level or float MPP)
    is parsed once, here, into ``resolution`` (a :class:`Level` or :class:`Mpp`), which
    everything inside uses. ``read_options`` (backend, MPP
    override, tolerance, fill, tile cache) travel with the set so that workers open the
    slide the same way the parent did.
    ``wsi_id`` optionally replaces the slide's file stem in the names of everything
    written for it (patch files, manifests, shards); None keeps the stem.
    """

    slide_path: str
    level_or_mpp: LevelOrMpp
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    width: npt.NDArray[np.int64]
    height: npt.NDArray[np.int64]
    labels: tuple[str, ...]
    class_name: str = "PatchSet"
    param_info: Mapping[str, object] = field(default_factory=dict)
    label_names: tuple[str, ...] = ()
    read_options: ReadOptions = DEFAULT_READ_OPTIONS
    wsi_id: str | None = None
    resolution: Resolution = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.read_options, ReadOptions):
            raise TypeError(
                f"PatchSet for {self.slide_path}: read_options must be a ReadOptions, "
                f"got {type(self.read_options).__name__}"
            )
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
        resolution = resolution_of(self.level_or_mpp)
        object.__setattr__(self, "resolution", resolution)
        object.__setattr__(self, "level_or_mpp", resolution.value)
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
        patch_data: Sequence[PatchItem],
        class_name: str = "PatchSet",
        param_info: Mapping[str, object] | None = None,
        label_names: Sequence[str] = (),
        read_options: ReadOptions | None = None,
        slide_mpp: float | None = None,
        backend: BackendName | None = None,
    ) -> PatchSet:
        """Build a PatchSet from the reference's ``((x0, y0), (w, h), label)`` tuples.

        ``slide_mpp`` and ``backend`` are shorthands for those fields of ``read_options``.
        """
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
            read_options=read_options_of(read_options, backend=backend, mpp=slide_mpp),
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle default read options as nothing: a PatchSet crosses to every worker."""
        state = dict(self.__dict__)
        if state.get("read_options") == DEFAULT_READ_OPTIONS:
            del state["read_options"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "resolution" not in state:  # pickled before PatchSet carried its resolution
            state = {**state, "resolution": resolution_of(state["level_or_mpp"])}
        self.__dict__.update({"read_options": DEFAULT_READ_OPTIONS, **state})

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def slide_mpp(self) -> float | None:
        """The MPP override the slide is read with (``read_options.mpp``)."""
        return self.read_options.mpp

    @property
    def backend(self) -> BackendName:
        """The backend the slide is read with (``read_options.backend``)."""
        return self.read_options.backend

    @property
    def patch_count(self) -> int:
        return len(self.labels)

    def with_read_options(self, read_options: ReadOptions | None) -> PatchSet:
        """This set read with ``read_options`` (a pool's); the set's own MPP override is
        kept when ``read_options`` has none, since its locations were computed with it."""
        if read_options is None or read_options == self.read_options:
            return self
        if read_options.mpp is None and self.read_options.mpp is not None:
            read_options = replace(read_options, mpp=self.read_options.mpp)
        return replace(self, read_options=read_options)

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
            read_options=self.read_options,
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
