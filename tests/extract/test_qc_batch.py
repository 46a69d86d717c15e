"""QcBatch: the same scores as qc_scores for real histology patches, a fraction of the
calls; exact blur values on patches computed by hand; threads; scores through the
extractors when batches fill (more than a batch of patches per slide)."""

from __future__ import annotations

import copy
import csv
import json
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile

from slidepatch import PatchSet, Slide, open_shards
from slidepatch.extract import DiskPatchExtractor
from slidepatch.extract.qc import QC_COLUMNS, qc_scores
from slidepatch.extract.qc_batch import QC_BATCH_SIZE, QcBatch, is_scored, read_ahead_count


@pytest.fixture(scope="module")
def texture(cmu_small: Path) -> np.ndarray:
    return np.ascontiguousarray(tifffile.imread(cmu_small, key=0)[:, :, :3])


def _patches(texture: np.ndarray, count: int, size: int = 256) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    h, w = texture.shape[:2]
    out = []
    for _ in range(count):
        y, x = int(rng.integers(0, h - size)), int(rng.integers(0, w - size))
        out.append(np.ascontiguousarray(texture[y : y + size, x : x + size]))
    return out


def test_batched_scores_equal_single_scores(texture: np.ndarray) -> None:
    patches = _patches(texture, 2 * QC_BATCH_SIZE + 5)  # two full batches and a partial one
    odd = [texture[:100, :130], texture[7:307:1, 3:200][::-1], texture[:2, :5]]  # other shapes
    batch = QcBatch()
    got = [batch.add(p, artifact=0.25, mask_tissue=k / 100) for k, p in enumerate(patches + odd)]
    want = [qc_scores(p, artifact=0.25, mask_tissue=k / 100) for k, p in enumerate(patches + odd)]
    assert got == want
    assert len({s.blur for s in want}) > len(want) // 2  # real texture: distinct values
    assert any(s.tissue > 0.5 for s in want) and any(s.white > 0.5 for s in want)


def _dot(row: int, col: int, value: int = 200) -> np.ndarray:
    """A black patch with one bright green pixel at (row, col) of the 4-strided grid."""
    image = np.zeros((256, 256, 3), np.uint8)
    image[4 * row, 4 * col, 1] = value
    return image


def test_blur_is_exact_at_edges_and_between_patches() -> None:
    # grid 64 x 64, Laplacians at the 62 x 62 interior (m = 3844). A dot inside: -800 at
    # it, +200 at its 4 neighbours (sum 0, squares 800,000). A dot on the left edge
    # (row 2, col 0) enters one interior Laplacian (2, 1) only: sum 200, squares 40,000;
    # a dot on the top row likewise. Wrapping rows, or the next patch, must add nothing.
    m = 62 * 62
    inside = round(800_000 / m, 3)
    edge = round(40_000 / m - (200 / m) ** 2, 3)
    patches = [_dot(10, 10), _dot(2, 0), _dot(0, 5), _dot(63, 30), _dot(40, 63)]
    batch = QcBatch()
    got = [batch.add(p).blur for p in patches]
    assert got == [inside, edge, edge, edge, edge]
    assert [qc_scores(p).blur for p in patches] == got


def test_a_score_read_early_scores_its_partial_batch(texture: np.ndarray) -> None:
    patches = _patches(texture, 3)
    batch = QcBatch()
    pending = [batch.add(p) for p in patches]
    assert pending[1].white == qc_scores(patches[1]).white  # reading one fills the batch
    assert [s.values() for s in pending] == [qc_scores(p).values() for p in patches]
    later = batch.add(patches[0])  # a new batch starts after a scored one
    assert pickle.loads(pickle.dumps(later)) == qc_scores(patches[0])  # scored to pickle
    assert copy.copy(batch.add(patches[2])) == qc_scores(patches[2])


def test_threads_add_and_read_concurrently(texture: np.ndarray) -> None:
    patches = _patches(texture, 40, size=128)
    want = [qc_scores(p) for p in patches]
    batch = QcBatch(size=7)
    got: dict[int, object] = {}
    errors: list[BaseException] = []

    def work(start: int) -> None:
        try:
            for k in range(start, len(patches), 4):
                s = batch.add(patches[k])
                if k % 3 == 0:
                    _ = s.blur  # some read at once, the others when their batch fills
                got[k] = s
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [got[k] for k in range(len(patches))] == want


def test_bad_batch_arguments() -> None:
    with pytest.raises(ValueError, match="size and step"):
        QcBatch(size=0)


def test_read_ahead_holds_a_batch_within_a_memory_bound() -> None:
    assert read_ahead_count(256 * 256 * 3) == QC_BATCH_SIZE
    assert 1 < read_ahead_count(2048 * 2048 * 3) < QC_BATCH_SIZE  # 12 MB images: fewer
    assert read_ahead_count(8192 * 8192 * 3) == 1


@pytest.mark.parametrize("output_format", ["files", "webdataset"])
def test_extractor_scores_equal_qc_scores(
    cmu_small: Path, tmp_path: Path, output_format: str
) -> None:
    # 2 x QC_BATCH_SIZE + 6 patches of 128 px: full batches and a partial one, 2 threads
    step = 128
    data = [((x, y), (128, 128), "t") for y in range(0, 1152, step) for x in range(0, 896, step)]
    data = data[: 2 * QC_BATCH_SIZE + 6]
    ps = PatchSet.from_patch_data(slide_path=cmu_small, level_or_mpp=0, patch_data=data)
    DiskPatchExtractor(
        patches=ps,
        num_workers=2,
        output_dir=tmp_path,
        image_type="png",
        qc_scores=True,
        output_format=output_format,
    )
    with Slide.open(cmu_small) as slide:
        want = [
            qc_scores(np.ascontiguousarray(slide.read_region(xy, 0, size)[..., :3])).values()
            for xy, size, _ in data
        ]
    if output_format == "files":
        (csv_path,) = (tmp_path / "manifests").glob("*.csv")
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
        got = [tuple(float(r[c]) if r[c] else None for c in QC_COLUMNS) for r in rows]
    else:
        dataset = open_shards(tmp_path)
        got = [tuple(row[c] for c in QC_COLUMNS) for row in dataset.table.to_pylist()]
        meta = [json.loads(dataset.raw_json(k)) for k in range(len(dataset))]
        assert [tuple(m[c] for c in QC_COLUMNS) for m in meta] == want
    assert got == want


def test_is_scored_says_when_reading_scores_costs_nothing() -> None:
    batch = QcBatch(size=3)
    patch = np.full((32, 32, 3), 128, np.uint8)
    first, second = batch.add(patch), batch.add(patch)
    assert not is_scored(first) and not is_scored(second)
    third = batch.add(patch)  # the batch is full: scored
    assert is_scored(first) and is_scored(second) and is_scored(third)
    alone = batch.add(patch)
    assert not is_scored(alone)
    assert alone.white == 0.0  # reading scores the open batch
    assert is_scored(alone)
    assert is_scored(qc_scores(patch))
