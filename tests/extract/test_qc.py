"""Quality scores and filters on a slide of known content: white, black, grey, tissue,
blurred tissue (real CMU-1 texture), written with tifffile."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFilter

from slidepatch import DiskPatchExtractorPool, PatchSet, RunMismatchError, open_shards
from slidepatch.extract import DiskPatchExtractor
from slidepatch.extract.qc import QC_COLUMNS, QcFilter, qc_scores

KINDS = ("white", "black", "gray", "tissue", "blurred")
SIZE = 256


def _tiles(cmu_small: Path) -> list[np.ndarray]:
    texture = tifffile.imread(cmu_small, key=0)[1000 : 1000 + SIZE, 1000 : 1000 + SIZE, :3]
    blurred = np.asarray(Image.fromarray(texture).filter(ImageFilter.GaussianBlur(4)))
    flat = np.empty((SIZE, SIZE, 3), np.uint8)
    return [
        np.full_like(flat, 243),
        np.full_like(flat, 12),
        np.full_like(flat, 150),
        np.ascontiguousarray(texture),
        np.ascontiguousarray(blurred),
    ]


@pytest.fixture(scope="module")
def known_slide(cmu_small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qc") / "known.tiff"
    image = np.concatenate(_tiles(cmu_small), axis=1)
    tifffile.imwrite(
        path,
        image,
        tile=(SIZE, SIZE),
        photometric="rgb",
        compression="zlib",
        resolution=(2e4, 2e4),  # pixels per cm: 0.5 µm/px
        resolutionunit="CENTIMETER",
    )
    return path


def _patches(slide: Path) -> PatchSet:
    data = [((SIZE * k, 0), (SIZE, SIZE), kind) for k, kind in enumerate(KINDS)]
    return PatchSet.from_patch_data(slide_path=slide, level_or_mpp=0, patch_data=data)


def test_scores_of_known_content(cmu_small: Path) -> None:
    white, black, gray, tissue, blurred = (qc_scores(t) for t in _tiles(cmu_small))
    assert (white.white, white.black, white.gray, white.tissue) == (1, 0, 0, 0)
    assert (black.white, black.black, black.gray, black.tissue) == (0, 1, 0, 0)
    assert (gray.white, gray.black, gray.gray, gray.tissue) == (0, 0, 1, 0)
    assert white.blur == black.blur == gray.blur == 0
    assert tissue.tissue > 0.5 and tissue.white < 0.5
    assert tissue.blur > 5 * blurred.blur > 0


def _csv(extractor: DiskPatchExtractor) -> list[dict[str, str]]:
    with open(extractor.manifest_paths[1], newline="") as f:
        return list(csv.DictReader(f))


def _pool(ps: PatchSet, out: Path, **kw: object) -> DiskPatchExtractorPool:
    """The one-slide PNG pool these tests run: one process, one thread unless given."""
    args: dict[str, object] = {"thread_num_workers": 1, **kw}
    return DiskPatchExtractorPool(
        patches_pool=[ps], proc_num_workers=1, output_dir=out, image_type="png", **args
    )  # type: ignore[arg-type]


def _manifest_rows(out: Path) -> list[dict[str, str]]:
    """The rows of the one CSV manifest in ``out``."""
    (csv_path,) = (out / "manifests").glob("*.csv")
    with open(csv_path, newline="") as f:
        return list(csv.DictReader(f))


def test_scores_in_csv_index_and_sample_json(known_slide: Path, tmp_path: Path) -> None:
    files, shards = tmp_path / "files", tmp_path / "shards"
    files.mkdir()
    shards.mkdir()
    ps = _patches(known_slide)
    plain = DiskPatchExtractor(patches=ps, num_workers=2, output_dir=files, image_type="png")
    assert not any(c.startswith("qc_") for c in _csv(plain)[0])  # the default is unchanged
    scored = DiskPatchExtractor(
        patches=ps, num_workers=2, output_dir=files, image_type="png", qc_scores=True
    )
    rows = _csv(scored)
    assert [float(r["qc_white"]) for r in rows] == [1, 0, 0, pytest.approx(0, abs=0.5), 0]
    assert float(rows[3]["qc_blur"]) > 5 * float(rows[4]["qc_blur"])
    DiskPatchExtractor(
        patches=ps,
        num_workers=2,
        output_dir=shards,
        image_type="png",
        qc_scores=True,
        output_format="webdataset",
    )
    dataset = open_shards(shards)
    table = dataset.table.to_pylist()
    for k, row in enumerate(rows):
        meta = json.loads(dataset.raw_json(k))
        for column in QC_COLUMNS:
            if column in ("qc_artifact", "qc_mask_tissue"):  # no mask: empty
                assert row[column] == "" and table[k][column] is None and meta[column] is None
                continue
            assert float(row[column]) == pytest.approx(table[k][column])
            assert meta[column] == pytest.approx(table[k][column])


def test_filters_drop_before_encoding_and_count(known_slide: Path, tmp_path: Path) -> None:
    ps = _patches(known_slide)
    tiles_blur = [qc_scores(t).blur for t in _tiles_of(known_slide)]
    threshold = (tiles_blur[3] * tiles_blur[4]) ** 0.5
    qc = {"max_white": 0.5, "max_black": 0.5, "max_gray": 0.5, "min_blur": threshold}
    pool = _pool(ps, tmp_path, thread_num_workers=2, qc=qc)
    assert pool.patch_count == 1
    (row,) = _manifest_rows(tmp_path)
    assert row["label"] == "tissue"
    assert [p.name for p in tmp_path.glob("*.png")] == [Path(row["path"]).name]
    (txt,) = (tmp_path / "manifests").glob("*.txt")
    text = txt.read_text()
    dropped = (
        "{'artifact': 0, 'mask_tissue': 0, 'white': 1, 'black': 1, 'gray': 1, 'tissue': 0, "
        "'blur': 1}"
    )
    assert f"QC dropped:             {dropped}" in text
    assert "Disk file count:        1" in text
    # the thresholds decide the files: resume with others is another run
    with pytest.raises(RunMismatchError, match="qc="):
        _pool(ps, tmp_path, qc={"max_white": 0.9}, resume=True)
    again = _pool(ps, tmp_path, qc=qc, resume=True)
    assert again.resumed_slides == [str(known_slide)] and again.patch_count == 1


def _tiles_of(slide: Path) -> list[np.ndarray]:
    image = tifffile.imread(slide)
    return [image[:, SIZE * k : SIZE * (k + 1)] for k in range(len(KINDS))]


def test_filters_in_shards_drop_samples(known_slide: Path, tmp_path: Path) -> None:
    ex = DiskPatchExtractor(
        patches=_patches(known_slide),
        num_workers=2,
        output_dir=tmp_path,
        image_type="png",
        output_format="webdataset",
        qc={"max_white": 0.5, "max_gray": 0.5},
    )
    assert ex.qc_dropped == {"white": 1, "gray": 1}
    dataset = open_shards(tmp_path)
    assert [dataset.metadata(i)["label"] for i in range(len(dataset))] == [
        "black",
        "tissue",
        "blurred",
    ]


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown threshold"):
        QcFilter.create({"max_whit": 0.5})
    with pytest.raises(ValueError, match="fraction"):
        QcFilter.create({"max_white": 5})
    with pytest.raises(TypeError, match="number"):
        QcFilter.create({"min_blur": "high"})  # type: ignore[dict-item]


def test_artifact_mask_excludes_patches(known_slide: Path, tmp_path: Path) -> None:
    # a mask at 1/16 of the slide (80 x 16 px) marking the left half of the tissue patch
    mask = np.zeros((SIZE // 16, 5 * SIZE // 16), np.uint8)
    mask[:, 3 * SIZE // 16 : 3 * SIZE // 16 + SIZE // 32] = 255
    mask_path = tmp_path / "artifacts.png"
    Image.fromarray(mask).save(mask_path)
    out = tmp_path / "out"
    out.mkdir()
    ps = _patches(known_slide)
    pool = _pool(ps, out, artifact_masks=[mask_path], output_format="webdataset")
    assert pool.patch_count == 4
    dataset = open_shards(out)
    assert [dataset.metadata(i)["label"] for i in range(len(dataset))] == [
        "white",
        "black",
        "gray",
        "blurred",
    ]
    assert all(row["qc_artifact"] == 0 for row in dataset.table.to_pylist())
    (txt,) = (out / "manifests").glob("*.txt")
    assert "{'artifact': 1," in txt.read_text()
    # a looser threshold keeps the half-covered patch and records its score
    loose = tmp_path / "loose"
    loose.mkdir()
    _pool(ps, loose, artifact_masks=[mask_path], qc={"max_artifact": 0.6})
    rows = _manifest_rows(loose)
    assert [float(r["qc_artifact"]) for r in rows] == [0, 0, 0, 0.5, 0]
    # the mask decides the files: resume with another is another run
    other = tmp_path / "other.png"
    Image.fromarray(np.zeros_like(mask)).save(other)
    with pytest.raises(RunMismatchError, match="artifact_mask"):
        _pool(ps, loose, artifact_masks=[other], qc={"max_artifact": 0.6}, resume=True)


def test_tissue_mask_fraction_and_filter(known_slide: Path, tmp_path: Path) -> None:
    # a tissue mask at 1/16 of the slide: tiles 3 and 4 (tissue, blurred), half of tile 2
    mask = np.zeros((SIZE // 16, 5 * SIZE // 16), bool)
    mask[:, 2 * SIZE // 16 + SIZE // 32 :] = True
    ps = _patches(known_slide)
    scored = DiskPatchExtractor(
        patches=ps, num_workers=1, output_dir=tmp_path, image_type="png", tissue_mask=mask
    )
    assert [float(r["qc_mask_tissue"]) for r in _csv(scored)] == [0, 0, 0.5, 1, 1]
    kept = tmp_path / "kept"
    kept.mkdir()
    pool = _pool(
        ps, kept, tissue_masks=[mask], qc={"min_mask_tissue": 0.4}, output_format="webdataset"
    )
    assert pool.patch_count == 3
    dataset = open_shards(kept)
    assert [dataset.metadata(i)["label"] for i in range(3)] == ["gray", "tissue", "blurred"]
    (txt,) = (kept / "manifests").glob("*.txt")
    assert "{'artifact': 0, 'mask_tissue': 2," in txt.read_text()
    again = _pool(
        ps,
        kept,
        tissue_masks=[mask],
        qc={"min_mask_tissue": 0.4},
        output_format="webdataset",
        resume=True,
    )
    assert again.resumed_slides == [str(known_slide)]


def _square_geojson(path: Path, x0: int, y0: int, x1: int, y1: int) -> Path:
    """A QuPath/GrandQC-style FeatureCollection of one level-0 rectangle."""
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"classification": {"name": "Pen"}},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_geojson_artifact_mask(known_slide: Path, tmp_path: Path) -> None:
    from slidepatch import WSIPolygonMask, read_geojson

    # the left half of the tissue patch (level-0 x 768..896), as a GeoJSON export
    geojson = _square_geojson(tmp_path / "pen.geojson", 3 * SIZE, 0, 3 * SIZE + SIZE // 2, SIZE)
    ps = _patches(known_slide)
    polygon_mask = WSIPolygonMask(
        wsi_file=known_slide, level_or_minsize=0, polygons_level0=read_geojson(geojson)
    )
    for name, mask in (("path", geojson), ("polygon-mask", polygon_mask)):
        out = tmp_path / name
        out.mkdir()
        pool = _pool(ps, out, artifact_masks=[mask])
        assert pool.patch_count == 4, name  # the covered patch is dropped ...
        assert len(list(out.glob("*.png"))) == 4, name
        labels = [r["label"] for r in _manifest_rows(out)]
        assert labels == ["white", "black", "gray", "blurred"], name
        (txt,) = (out / "manifests").glob("*.txt")
        assert "{'artifact': 1," in txt.read_text(), name  # ... and counted
        loose = tmp_path / f"{name}-loose"
        loose.mkdir()
        _pool(ps, loose, artifact_masks=[mask], qc={"max_artifact": 0.6})
        rows = _manifest_rows(loose)
        assert [float(r["qc_artifact"]) for r in rows] == [0, 0, 0, 0.5, 0], name
