"""Location pools: one location class run over many slides, in worker processes.

Each worker receives only its own slide's arguments (paths, arrays, polygons) and returns
a PatchSet; results keep the INPUT order and the pool can be iterated any number of times.
Iteration yields :class:`PatchesMock` objects (they carry ``patch_set``), which extractor
pools consume directly.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from os import PathLike, fspath
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from slidepatch.engine import Executor, RunPolicy, Task, check_start_method, make_executor
from slidepatch.locations import classes as cl
from slidepatch.locations.custom import PatchesMock
from slidepatch.locations.patchset import PatchSet
from slidepatch.options import ReadOptions

if TYPE_CHECKING:
    from distributed import Client

    from slidepatch.locations.coordinates.files import CoordinateFormat

RESERVED_ARGS = ("wsi_file", "mask_data", "polygon_data", "points")
LABEL_LIST_ARGS = ("included_labels", "excluded_labels")


def expand_patches_args(patches_args: Mapping[str, Any], n_slides: int) -> list[dict[str, Any]]:
    """Per-slide keyword arguments from the pool's ``patches_args`` (reference rules).

    A list value must have one entry per slide (nest per-polygon lists inside it);
    ``included_labels``/``excluded_labels`` may be a flat list (every slide) or a list of
    lists (one per slide). Scalars and mappings go to every slide unchanged.
    """
    for key in RESERVED_ARGS:
        if key in patches_args:
            raise ValueError(f"patches_args may not contain {key!r}: the pool supplies it")
    per_slide: list[dict[str, Any]] = [{} for _ in range(n_slides)]
    for key, value in patches_args.items():
        if key in LABEL_LIST_ARGS:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"patches_args[{key!r}] must be a list, got {value!r}")
            if any(isinstance(v, (list, tuple)) for v in value):
                if len(value) != n_slides:
                    raise ValueError(
                        f"patches_args[{key!r}]: nested lists need one entry per slide "
                        f"({n_slides}), got {len(value)}"
                    )
                values = [list(v) for v in value]
            else:
                values = [list(value)] * n_slides
        elif isinstance(value, (list, tuple)):
            if len(value) != n_slides:
                raise ValueError(
                    f"patches_args[{key!r}]: a list needs one entry per slide ({n_slides}), "
                    f"got {len(value)}; nest per-polygon lists inside it"
                )
            values = list(value)
        else:
            values = [value] * n_slides
        for i in range(n_slides):
            per_slide[i][key] = values[i]
    return per_slide


def preview_file_name(image_file: str | PathLike[str], wsi_file: str, *, index: int | None) -> str:
    """``<dir>/<wsi_id>_<basename>``; ``index`` disambiguates slides with the same id."""
    image = fspath(image_file)
    wsi_id = os.path.splitext(os.path.basename(wsi_file))[0]
    if index is not None:
        wsi_id = f"{wsi_id}_{index}"
    base = os.path.basename(image)
    sep = "" if base.startswith("_") else "_"
    return os.path.join(os.path.dirname(image), f"{wsi_id}{sep}{base}")


def _compute_one(
    class_name: str, kwargs: dict[str, Any], preview: dict[str, Any] | None
) -> tuple[PatchSet, int]:
    """Worker entry point: build one slide's locations (and preview); return its PatchSet."""
    location_class = getattr(cl, class_name)
    locations = location_class(**kwargs)
    if preview is not None:
        args = dict(preview)
        image_file = args.pop("image_file")
        locations.save_preview_image(image_file, **args)
    return locations.patch_set, os.getpid()


_SlideTask = tuple[str, dict[str, Any], dict[str, Any] | None]


def _compute_chunk(tasks: list[_SlideTask]) -> list[tuple[PatchSet, int]]:
    """Worker entry point of one engine task: ``mp_chunksize`` slides, in order."""
    return [_compute_one(*task) for task in tasks]


def _run_on_engine(
    tasks: Sequence[_SlideTask],
    wsi_files: Sequence[str],
    *,
    chunksize: int,
    executor: Executor,
) -> list[tuple[PatchSet, int]]:
    """Every slide's result, in input order, computed by ``executor`` in chunks; the first
    error is raised as the worker raised it (a dead worker: WorkerDiedError naming the
    chunk's slides) and the other chunks are cancelled."""
    starts = range(0, len(tasks), chunksize)
    engine_tasks = [
        Task(
            index=k,
            slide_paths=tuple(wsi_files[start : start + chunksize]),
            func=_compute_chunk,
            payload=list(tasks[start : start + chunksize]),
        )
        for k, start in enumerate(starts)
    ]
    policy = RunPolicy(on_error="raise", doing="locating", wrap_errors=False)
    done, _failed = executor.run(engine_tasks, policy=policy)  # no failure returns
    return [result for k in range(len(engine_tasks)) for result in done[k]]


class LocationsPool:
    """Runs one location class over many slides; see the concrete ``*Pool`` classes.

    With ``client=`` (a ``dask.distributed.Client``) or ``scheduler_address=``, slides run
    as Dask tasks on the cluster's workers instead of local processes; ``executor`` (a
    :class:`~slidepatch.Executor`) runs them instead of ``proc_num_workers`` processes.
    ``read_options`` (a :class:`~slidepatch.ReadOptions`) is given to every slide's
    location class.
    """

    _location_class: ClassVar[str] = ""

    def __init__(
        self,
        *,
        wsi_file_list: Sequence[str | PathLike[str]],
        mask_data_list: Sequence[Any],
        patches_args: Mapping[str, Any],
        proc_num_workers: int = 1,
        mp_chunksize: int = 1,
        save_preview_image_args: Mapping[str, Any] | None = None,
        polygon_data_list: Sequence[Any] | None = None,
        points_list: Sequence[Any] | None = None,
        start_method: str | None = None,
        client: Client | None = None,
        scheduler_address: str | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        wsi_files = [fspath(p) for p in wsi_file_list]
        n = len(wsi_files)
        inputs: dict[str, Sequence[Any]] = {"mask_data_list": mask_data_list}
        if polygon_data_list is not None:
            inputs["polygon_data_list"] = polygon_data_list
        if points_list is not None:
            inputs["points_list"] = points_list
        for name, values in inputs.items():
            if len(values) != n:
                raise ValueError(f"{name} has {len(values)} entries, wsi_file_list has {n}")
        if (
            isinstance(proc_num_workers, bool)
            or not isinstance(proc_num_workers, int)
            or (proc_num_workers < 1)
        ):
            raise ValueError(f"proc_num_workers must be an int >= 1, got {proc_num_workers!r}")
        if isinstance(mp_chunksize, bool) or not isinstance(mp_chunksize, int) or mp_chunksize < 1:
            raise ValueError(f"mp_chunksize must be an int >= 1, got {mp_chunksize!r}")
        start_method = check_start_method(start_method)
        engine = make_executor(
            client=client,
            scheduler_address=scheduler_address,
            num_processes=min(proc_num_workers, -(-n // mp_chunksize)),
            start_method=start_method,
            inline=True,  # one process would do: run in this one
            executor=executor,
        )
        per_slide = expand_patches_args(patches_args, n)
        ids = Counter(os.path.splitext(os.path.basename(p))[0] for p in wsi_files)
        tasks = []
        for i, wsi in enumerate(wsi_files):
            kwargs = dict(per_slide[i], wsi_file=wsi, mask_data=mask_data_list[i])
            if read_options is not None:
                kwargs["read_options"] = read_options
            if polygon_data_list is not None:
                kwargs["polygon_data"] = polygon_data_list[i]
            if points_list is not None:
                kwargs["points"] = points_list[i]
            preview = None
            if save_preview_image_args:
                preview = dict(save_preview_image_args)
                if "image_file" not in preview:
                    raise ValueError("save_preview_image_args needs 'image_file'")
                wsi_id = os.path.splitext(os.path.basename(wsi))[0]
                preview["image_file"] = preview_file_name(
                    preview["image_file"], wsi, index=i if ids[wsi_id] > 1 else None
                )
            tasks.append((self._location_class, kwargs, preview))
        results = _run_on_engine(tasks, wsi_files, chunksize=mp_chunksize, executor=engine)
        self._patch_sets = [r[0] for r in results]
        self._pids = [r[1] for r in results]
        self._items = [PatchesMock.from_patch_set(ps) for ps in self._patch_sets]

    def __iter__(self) -> Iterator[PatchesMock]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> PatchesMock:
        return self._items[index]

    @property
    def patch_sets(self) -> list[PatchSet]:
        return list(self._patch_sets)

    @property
    def patch_count(self) -> int:
        return sum(ps.patch_count for ps in self._patch_sets)

    @property
    def patch_info(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for ps in self._patch_sets:
            for label, count in ps.patch_info.items():
                total[label] = total.get(label, 0) + count
        return dict(sorted(total.items()))

    @property
    def patch_labels(self) -> list[str]:
        return sorted({label for ps in self._patch_sets for label in ps.patch_labels})

    @property
    def patch_details(self) -> list[tuple[str, dict[str, int]]]:
        """``(wsi_file, patch_info)`` per slide, in input order."""
        return [(ps.slide_path, ps.patch_info) for ps in self._patch_sets]

    @property
    def pids(self) -> list[int]:
        """The process id that computed each slide, in input order."""
        return list(self._pids)

    def save_coordinates(
        self,
        output_dir: str | PathLike[str],
        *,
        format: CoordinateFormat,
        trident_magnification: Literal["bucket", "exact"] = "bucket",
    ) -> list[str]:
        """Write every slide's coordinates into ``output_dir`` in the tool's own layout
        (see ``PatchesMock.save_coordinates``); return the paths, in input order."""
        from slidepatch.locations.coordinates import files

        return files.save_many(
            self._patch_sets,
            output_dir,
            format=format,
            trident_magnification=trident_magnification,
        )


class _WholeImagePool(LocationsPool):
    def __init__(
        self,
        *,
        wsi_file_list: Sequence[str | PathLike[str]],
        mask_data_list: Sequence[Any],
        patches_args: Mapping[str, Any],
        proc_num_workers: int = 1,
        mp_chunksize: int = 1,
        save_preview_image_args: Mapping[str, Any] | None = None,
        start_method: str | None = None,
        client: Client | None = None,
        scheduler_address: str | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(
            wsi_file_list=wsi_file_list,
            mask_data_list=mask_data_list,
            patches_args=patches_args,
            proc_num_workers=proc_num_workers,
            mp_chunksize=mp_chunksize,
            save_preview_image_args=save_preview_image_args,
            start_method=start_method,
            client=client,
            scheduler_address=scheduler_address,
            read_options=read_options,
            executor=executor,
        )


class _PolygonPool(LocationsPool):
    def __init__(
        self,
        *,
        wsi_file_list: Sequence[str | PathLike[str]],
        mask_data_list: Sequence[Any],
        polygon_data_list: Sequence[Any],
        patches_args: Mapping[str, Any],
        proc_num_workers: int = 1,
        mp_chunksize: int = 1,
        save_preview_image_args: Mapping[str, Any] | None = None,
        start_method: str | None = None,
        client: Client | None = None,
        scheduler_address: str | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(
            wsi_file_list=wsi_file_list,
            mask_data_list=mask_data_list,
            polygon_data_list=polygon_data_list,
            patches_args=patches_args,
            proc_num_workers=proc_num_workers,
            mp_chunksize=mp_chunksize,
            save_preview_image_args=save_preview_image_args,
            start_method=start_method,
            client=client,
            scheduler_address=scheduler_address,
            read_options=read_options,
            executor=executor,
        )


class WholeImageRandomPatchesPool(_WholeImagePool):
    _location_class = "WholeImageRandomPatches"


class WholeImagePoissonDiskPatchesPool(_WholeImagePool):
    _location_class = "WholeImagePoissonDiskPatches"


class WholeImageGridPatchesPool(_WholeImagePool):
    _location_class = "WholeImageGridPatches"


class WholeImageInvertedRandomPatchesPool(_PolygonPool):
    _location_class = "WholeImageInvertedRandomPatches"


class WholeImageInvertedPoissonDiskPatchesPool(_PolygonPool):
    _location_class = "WholeImageInvertedPoissonDiskPatches"


class WholeImageInvertedGridPatchesPool(_PolygonPool):
    _location_class = "WholeImageInvertedGridPatches"


class PolygonRegionRandomPatchesPool(_PolygonPool):
    _location_class = "PolygonRegionRandomPatches"


class PolygonRegionPoissonDiskPatchesPool(_PolygonPool):
    _location_class = "PolygonRegionPoissonDiskPatches"


class PolygonRegionGridPatchesPool(_PolygonPool):
    _location_class = "PolygonRegionGridPatches"


class WholeImageCustomPatchesPool(LocationsPool):
    """Needs ``points_list`` (one list of level-0 points per slide)."""

    _location_class = "WholeImageCustomPatches"


class WholeImageInvertedCustomPatchesPool(LocationsPool):
    """Needs ``polygon_data_list`` and ``points_list``."""

    _location_class = "WholeImageInvertedCustomPatches"


class PolygonRegionCustomPatchesPool(LocationsPool):
    """Needs ``polygon_data_list`` and ``points_list``."""

    _location_class = "PolygonRegionCustomPatches"
