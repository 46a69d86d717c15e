"""WebDataset shards from the single-slide extractors: layout, keys, bytes, index, limits."""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch import ExtractionError, PatchSet, Slide, open_shards
from slidepatch.extract import DiskPatchExtractor, MultiResDiskPatchExtractor

pq = pytest.importorskip("pyarrow.parquet")


def _grid(path: Path, *, size: int = 128, step: int = 256, limit: int = 1500) -> PatchSet:
    data = [
        ((x, y), (size, size), "tumor" if k % 3 else "normal")
        for k, (y, x) in enumerate(
            (y, x) for y in range(0, limit, step) for x in range(0, limit, step)
        )
    ]
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=0, patch_data=data)


def _members(tar_path: str) -> list[tuple[str, bytes]]:
    with tarfile.open(tar_path) as tar:
        assert all(m.isfile() for m in tar.getmembers())
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def _csv_rows(extractor: DiskPatchExtractor) -> list[dict[str, str]]:
    with open(extractor.manifest_paths[1], newline="") as f:
        return list(csv.DictReader(f))


def test_shard_layout_keys_and_bytes_equal_files(cmu_small: Path, tmp_path: Path) -> None:
    ps = _grid(cmu_small)
    files, shards = tmp_path / "files", tmp_path / "shards"
    files.mkdir()
    shards.mkdir()
    plain = DiskPatchExtractor(patches=ps, num_workers=2, output_dir=files, image_type="png")
    ex = DiskPatchExtractor(
        patches=ps,
        num_workers=2,
        output_dir=shards,
        image_type="png",
        output_format="webdataset",
        shard_maxcount=10,
    )
    mid, n = ex.manifest_id, len(ps)
    tars = sorted(glob.glob(str(shards / "shards" / "*.tar")))
    assert [os.path.basename(t) for t in tars] == [
        f"CMU-1-Small-Region_{mid}-{k:06d}.tar" for k in range((n + 9) // 10)
    ]
    assert sorted(os.listdir(shards)) == ["index", "manifests", "shards"]
    assert os.listdir(shards / "index") == [f"manifest__{mid}__CMU-1-Small-Region.parquet"]
    members = [m for t in tars for m in _members(t)]
    keys = [f"CMU-1-Small-Region_{mid}_{i:06d}" for i in range(n)]
    assert [name for name, _ in members] == [k + e for k in keys for e in (".png", ".json")]
    assert all("." not in k for k in keys)
    # the image bytes are those the per-file writer writes, in patch order
    images = [data for name, data in members if name.endswith(".png")]
    assert images == [(files / p).read_bytes() for p in plain.written_paths]
    meta = [json.loads(data) for name, data in members if name.endswith(".json")]
    assert [(m["x_level0"], m["y_level0"], m["label"]) for m in meta] == [
        (int(ps.x[i]), int(ps.y[i]), ps.labels[i]) for i in range(n)
    ]
    assert meta[3]["slide_path"] == str(cmu_small)
    assert meta[3]["width_read_px"] == 128 and meta[3]["width_level0"] == 128
    assert meta[3]["level_or_mpp"] == 0 and meta[3]["mpp_read"] == pytest.approx(0.499)
    # the fingerprint and text manifest say what was written; files runs record no format
    fingerprint = json.loads(Path(ex.manifest_paths[0][:-4] + ".json").read_text())
    assert fingerprint["output_format"] == "webdataset" and fingerprint["shard_maxcount"] == 10
    plain_fp = json.loads(Path(plain.manifest_paths[0][:-4] + ".json").read_text())
    assert "output_format" not in plain_fp
    text = Path(ex.manifest_paths[0]).read_text()
    assert f"Disk file count:        {len(tars) + 1}" in text
    assert "output_format: webdataset" in text
    assert "output_format" not in Path(plain.manifest_paths[0]).read_text()


def test_index_equals_csv_manifest_and_offsets(cmu_small: Path, tmp_path: Path) -> None:
    ex = DiskPatchExtractor(
        patches=_grid(cmu_small),
        num_workers=2,
        output_dir=tmp_path,
        image_type="jpg",
        output_format="webdataset",
    )
    rows = _csv_rows(ex)
    table = pq.read_table(
        tmp_path / "index" / f"manifest__{ex.manifest_id}__CMU-1-Small-Region.parquet"
    )
    assert table.column_names == list(rows[0])
    assert table.num_rows == len(rows) == len(ex.written_paths)
    for row, indexed in zip(rows, table.to_pylist(), strict=True):
        for name, value in row.items():
            got = indexed[name]
            if isinstance(got, float):
                assert got == pytest.approx(float(value))
            else:
                assert str(got) == value, name
        with open(tmp_path / row["path"], "rb") as f:
            f.seek(int(row["offset"]))
            data = f.read(int(row["size"]))
        assert data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
    # the run's indexes read as one pyarrow dataset
    import pyarrow.dataset as ds

    assert ds.dataset(str(tmp_path / "index"), format="parquet").count_rows() == len(rows)


def test_maxsize_splits_and_a_big_sample_gets_its_own_shard(
    cmu_small: Path, tmp_path: Path
) -> None:
    ex = DiskPatchExtractor(
        patches=_grid(cmu_small),
        num_workers=1,
        output_dir=tmp_path,
        image_type="png",
        output_format="webdataset",
        shard_maxsize=60_000,
    )
    rows = _csv_rows(ex)
    tars = sorted(glob.glob(str(tmp_path / "shards" / "*.tar")))
    assert len(tars) > 2
    for t in tars:
        listed = [r for r in rows if r["path"] == os.path.relpath(t, tmp_path)]
        assert listed  # no empty shard
        if len(listed) > 1:
            assert os.path.getsize(t) <= 60_000
    assert len(rows) == len(set(r["key"] for r in rows))


def test_multires_sets_one_sample_with_a_member_per_level(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    ps = _grid(synthetic_svs, size=64, step=400, limit=1800)
    files, shards = tmp_path / "files", tmp_path / "shards"
    files.mkdir()
    shards.mkdir()
    levels = [0, 1, 0.5]
    plain = MultiResDiskPatchExtractor(
        patches=ps,
        levels_or_mpps=levels,
        num_workers=2,
        output_dir=files,
        image_type="png",
        resampling_mode="tile",
    )
    ex = MultiResDiskPatchExtractor(
        patches=ps,
        levels_or_mpps=levels,
        num_workers=2,
        output_dir=shards,
        image_type="png",
        resampling_mode="tile",
        output_format="webdataset",
    )
    (tar,) = glob.glob(str(shards / "shards" / "*.tar"))
    members = _members(tar)
    key0 = members[0][0].partition(".")[0]
    assert [m for m, _ in members[:4]] == [
        f"{key0}.level0.png",
        f"{key0}.level1.png",
        f"{key0}.mpp0.5.png",
        f"{key0}.json",
    ]
    images = [data for name, data in members if name.endswith(".png")]
    assert images == [(files / p).read_bytes() for p in plain.written_paths]
    meta = json.loads(members[3][1])
    assert meta["set_id"] == "set1"
    assert [im["level_or_mpp"] for im in meta["images"]] == levels
    assert ex.patch_count == len(ps) * 3 == len(_csv_rows(ex))
    dataset = open_shards(shards)
    assert len(dataset) == len(ps)
    image, info = dataset[1]
    assert image.shape == (3, 64, 64, 3)  # type: ignore[attr-defined]
    assert info["set_id"] == "set2" and len(info["images"]) == 3  # type: ignore[arg-type]


def test_jpeg_passthrough_bytes_are_the_stored_tiles(cmu_small: Path, tmp_path: Path) -> None:
    # CMU-1-Small-Region: 240 px JPEG tiles at level 0
    data = [((240 * tx, 240 * ty), (240, 240), "t") for ty in range(3) for tx in range(4)]
    ps = PatchSet.from_patch_data(slide_path=cmu_small, level_or_mpp=0, patch_data=data)
    DiskPatchExtractor(
        patches=ps,
        num_workers=2,
        output_dir=tmp_path,
        image_type="jpg",
        jpeg_passthrough=True,
        output_format="webdataset",
    )
    dataset = open_shards(tmp_path)
    with Slide.open(cmu_small) as slide:
        for i, ((x, y), size, _) in enumerate(data):
            stored, _ = dataset.raw(i).values()
            assert stored == slide.raw_jpeg_tile_for((x, y), 0, size)
            meta = json.loads(dataset.raw_json(i))
            assert meta["jpeg_passthrough"] is True


def test_webdataset_options_are_checked(cmu_small: Path, tmp_path: Path) -> None:
    ps = _grid(cmu_small)
    with pytest.raises(ValueError, match="output_format"):
        DiskPatchExtractor(
            patches=ps, num_workers=1, output_dir=tmp_path, image_type="png", output_format="tar"
        )
    with pytest.raises(ValueError, match="create_subdirs"):
        DiskPatchExtractor(
            patches=ps,
            num_workers=1,
            output_dir=tmp_path,
            image_type="png",
            output_format="webdataset",
            create_subdirs=True,
        )
    with pytest.raises(ValueError, match="shard_maxcount"):
        DiskPatchExtractor(
            patches=ps,
            num_workers=1,
            output_dir=tmp_path,
            image_type="png",
            output_format="webdataset",
            shard_maxcount=0,
        )
    assert os.listdir(tmp_path) == []


def test_decoded_images_equal_read_region(cmu_small: Path, tmp_path: Path) -> None:
    ps = _grid(cmu_small, step=700)
    DiskPatchExtractor(
        patches=ps, num_workers=2, output_dir=tmp_path, image_type="png", output_format="webdataset"
    )
    dataset = open_shards(tmp_path)
    with Slide.open(cmu_small) as slide:
        for i in (0, len(ps) - 1):
            image, _ = dataset[i]
            expected = slide.read_region((int(ps.x[i]), int(ps.y[i])), 0, (128, 128))
            np.testing.assert_array_equal(image, expected)
            png, _ = dataset.raw(i).values()
            with Image.open(io.BytesIO(png)) as im:
                np.testing.assert_array_equal(np.asarray(im.convert("RGB")), expected)


def test_a_failure_mid_slide_leaves_no_shard(cmu_small: Path, tmp_path: Path) -> None:
    good = [((96 * k, 0), (64, 64), "a") for k in range(9)]
    ps = PatchSet.from_patch_data(
        slide_path=cmu_small, level_or_mpp=0, patch_data=[*good, ((99999, 0), (64, 64), "a")]
    )
    with pytest.raises(ExtractionError, match=r"patch 9 at level-0 \(99999, 0\)"):
        DiskPatchExtractor(
            patches=ps,
            num_workers=2,
            output_dir=tmp_path,
            image_type="png",
            output_format="webdataset",
            shard_maxcount=2,  # four shards were complete when patch 9 failed
        )
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == []
