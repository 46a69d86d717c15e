"""Location pools on a Dask cluster give the same PatchSets, in input order, as locally."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from slidepatch.annotations import AnnotationPolygon
from slidepatch.errors import SlideError
from slidepatch.locations import PolygonRegionRandomPatchesPool, WholeImageGridPatchesPool

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as c,
    ):
        yield c


def test_grid_pool_equals_local(
    client: Any,
    cmu_small: Path,
    synthetic_slide: Path,
    full_mask: npt.NDArray[np.bool_],
    tmp_path: Path,
) -> None:
    synth_mask = np.ones((2048 // 16, 3072 // 16), dtype=bool)
    kwargs: dict[str, Any] = {
        "wsi_file_list": [synthetic_slide, cmu_small, synthetic_slide],
        "mask_data_list": [synth_mask, full_mask, synth_mask],
        "patches_args": {"patch_size": 128, "weak_label": ["s", "c", "s2"]},
    }
    local = WholeImageGridPatchesPool(**kwargs)
    on_dask = WholeImageGridPatchesPool(
        **kwargs, client=client, save_preview_image_args={"image_file": tmp_path / "p.png"}
    )
    assert [i.patch_data for i in on_dask] == [i.patch_data for i in local]
    assert on_dask.patch_details == local.patch_details
    assert set(on_dask.pids) <= set(client.run(os.getpid).values())
    names = sorted(p.name for p in tmp_path.iterdir())  # previews written by the workers
    assert names == ["CMU-1-Small-Region_p.png", "synth_0_p.png", "synth_2_p.png"]


def test_polygon_pool_by_address_equals_local(
    client: Any,
    cmu_small: Path,
    full_mask: npt.NDArray[np.bool_],
    polygons: list[AnnotationPolygon],
) -> None:
    kwargs: dict[str, Any] = {
        "wsi_file_list": [cmu_small, cmu_small],
        "mask_data_list": [full_mask, full_mask],
        "polygon_data_list": [polygons, polygons],
        "patches_args": {"num_patches": [[3, 1], [2, 2]], "seed": 5, "patch_size": 64},
    }
    local = PolygonRegionRandomPatchesPool(**kwargs)
    address = client.scheduler.address
    on_dask = PolygonRegionRandomPatchesPool(**kwargs, scheduler_address=address)
    assert [i.patch_data for i in on_dask] == [i.patch_data for i in local]


def test_failing_slide_is_raised(
    client: Any, cmu_small: Path, full_mask: npt.NDArray[np.bool_], tmp_path: Path
) -> None:
    with pytest.raises(SlideError) as info:
        WholeImageGridPatchesPool(
            wsi_file_list=[cmu_small, tmp_path / "gone.svs"],
            mask_data_list=[full_mask, full_mask],
            patches_args={"patch_size": 256},
            client=client,
        )
    assert info.value.path == str(tmp_path / "gone.svs")
