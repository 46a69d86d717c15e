"""open_shards: random access and iteration over a run's shards, against the webdataset
library and a torch DataLoader."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import pytest

from slidepatch import (
    DiskPatchExtractorPool,
    EarlierRunWarning,
    OutputError,
    PatchSet,
    open_shards,
)

pytest.importorskip("pyarrow")


def _sets(slides: list[Path]) -> list[PatchSet]:
    out = []
    for s, path in enumerate(slides):
        data = [
            ((x, y), (96, 96), "ab"[(x + y + s) % 2])
            for y in range(0, 1400, 310)
            for x in range(0, 1900, 290)
        ]
        out.append(PatchSet.from_patch_data(slide_path=path, level_or_mpp=0, patch_data=data))
    return out


@pytest.fixture(scope="module")
def run(
    synthetic_svs: Path, cmu_small: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[PatchSet]]:
    out = tmp_path_factory.mktemp("shard_run")
    sets = _sets([synthetic_svs, cmu_small])
    DiskPatchExtractorPool(
        patches_pool=sets,
        proc_num_workers=2,
        thread_num_workers=2,
        output_dir=out,
        image_type="jpg",
        output_format="webdataset",
        shard_maxcount=7,
    )
    return out, sets


def test_random_access_and_iteration(run: tuple[Path, list[PatchSet]]) -> None:
    out, sets = run
    dataset = open_shards(out)
    assert len(dataset) == sum(len(ps) for ps in sets)
    expected = [
        (ps.slide_path, int(ps.x[i]), int(ps.y[i]), ps.labels[i])
        for ps in sorted(sets, key=lambda ps: Path(ps.slide_path).stem)  # by wsi_id
        for i in range(len(ps))
    ]
    got = []
    for image, meta in dataset:
        assert image.shape == (96, 96, 3) and image.dtype == np.uint8  # type: ignore[attr-defined]
        (first,) = meta["images"]  # type: ignore[misc]
        got.append((meta["slide_path"], first["x_level0"], first["y_level0"], meta["label"]))
    assert got == expected
    # random access: any order, negative indices, the same bytes as the JSON member says
    last = dataset[-1]
    np.testing.assert_array_equal(last[0], dataset[len(dataset) - 1][0])  # type: ignore[arg-type]
    raw = dataset.raw(5)
    key = dataset.keys[5]
    assert list(raw) == [f"{key}.jpg", f"{key}.json"]
    assert json.loads(raw[f"{key}.json"])["key"] == key
    with pytest.raises(IndexError, match="out of range"):
        dataset[len(dataset)]


def test_webdataset_library_reads_exactly_the_indexed_samples(
    run: tuple[Path, list[PatchSet]],
) -> None:
    wds = pytest.importorskip("webdataset")
    out, _ = run
    dataset = open_shards(out)
    tars = sorted(glob.glob(str(out / "shards" / "*.tar")))
    assert len(tars) > 2
    seen = {}
    for sample in wds.WebDataset(tars, shardshuffle=False):
        seen[sample["__key__"]] = (sample["jpg"], sample["json"])
    assert list(seen) == dataset.keys
    for i, key in enumerate(dataset.keys):
        raw = dataset.raw(i)
        assert seen[key] == (raw[f"{key}.jpg"], raw[f"{key}.json"])


def test_torch_map_style_dataloader(run: tuple[Path, list[PatchSet]]) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    out, _ = run
    dataset = open_shards(out, transform=lambda a: torch.from_numpy(a).permute(2, 0, 1))
    loader = DataLoader(dataset, batch_size=8, shuffle=False, num_workers=0)  # type: ignore[arg-type]
    images, meta = next(iter(loader))
    assert images.shape == (8, 3, 96, 96) and images.dtype == torch.uint8
    assert list(meta["key"]) == dataset.keys[:8]
    assert sum(len(b[0]) for b in loader) == len(dataset)


def test_open_shards_on_a_folder_without_shards(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="no shard index"):
        open_shards(tmp_path)


def test_two_finished_runs_of_a_slide_are_said(synthetic_svs: Path, tmp_path: Path) -> None:
    ps = _sets([synthetic_svs])[0]
    kw = {"proc_num_workers": 1, "thread_num_workers": 1, "output_dir": tmp_path}
    DiskPatchExtractorPool(patches_pool=[ps], image_type="jpg", output_format="webdataset", **kw)
    with pytest.warns(EarlierRunWarning, match="already holds"):
        DiskPatchExtractorPool(
            patches_pool=[ps], image_type="jpg", output_format="webdataset", **kw
        )
    with pytest.warns(EarlierRunWarning, match="more than one finished extraction of 1 slides"):
        dataset = open_shards(tmp_path)
    assert len(dataset) == 2 * len(ps)
