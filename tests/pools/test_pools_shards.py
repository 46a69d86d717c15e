"""Disk pools with output_format="webdataset": resume, overwrite, fingerprint, and a killed
run resumed ends with exactly the samples of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slidepatch import (
    DiskPatchExtractorPool,
    MultiResDiskPatchExtractorPool,
    PatchSet,
    RunMismatchError,
    open_shards,
)
from slidepatch.testing import write_synthetic_slide

pytest.importorskip("pyarrow")

Samples = list[tuple[str, dict[str, bytes]]]


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("shard_slides")
    return [
        write_synthetic_slide(
            root / f"s{i}.svs", width=1024, height=768, downsamples=(1, 4), seed=40 + i
        )
        for i in range(4)
    ]


def _sets(slides: list[Path]) -> list[PatchSet]:
    data = [
        ((x, y), (64, 64), "ab"[(x // 96) % 2])
        for y in range(0, 700, 96)
        for x in range(0, 960, 96)
    ]
    return [PatchSet.from_patch_data(slide_path=p, level_or_mpp=0, patch_data=data) for p in slides]


def _pool(sets: list[PatchSet], out: Path, **kw: object) -> DiskPatchExtractorPool:
    out.mkdir(exist_ok=True)
    return DiskPatchExtractorPool(
        patches_pool=sets,
        proc_num_workers=2,
        thread_num_workers=1,
        output_dir=out,
        image_type="png",
        **({"output_format": "webdataset", "shard_maxcount": 20} | kw),  # type: ignore[arg-type]
    )


def _samples(out: Path) -> Samples:
    """Every sample of the finished slides, manifest ids replaced, bytes as stored."""
    dataset = open_shards(out)
    found = []
    for i in range(len(dataset)):
        mid = str(dataset.metadata(i)["manifest_id"])
        raw = {
            k.replace(mid, "ID"): v.replace(mid.encode(), b"ID") for k, v in dataset.raw(i).items()
        }
        found.append((dataset.keys[i].replace(mid, "ID"), raw))
    return found


def _leftovers(out: Path) -> list[str]:
    """Files no finished slide lists: temporaries, journals, shards or indexes of others."""
    dataset = open_shards(out)
    listed = {str(p) for p in dataset.table.column("path").to_pylist()}
    ids = {str(m) for m in dataset.table.column("manifest_id").to_pylist()}
    left = []
    for folder, _, names in os.walk(out):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), out)
            top = rel.split(os.sep)[0]
            if top == "shards" and rel in listed:
                continue
            mine = any(f"__{m}__" in name for m in ids)
            if top in ("index", "manifests") and mine and not name.startswith("."):
                continue
            left.append(rel)
    return sorted(left)


@pytest.fixture(scope="module")
def reference(slides: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Samples:
    out = tmp_path_factory.mktemp("reference") / "out"
    _pool(_sets(slides), out)
    return _samples(out)


def test_resume_skips_finished_slides_and_counts_their_patches(
    slides: list[Path], tmp_path: Path, reference: Samples
) -> None:
    out = tmp_path / "out"
    sets = _sets(slides)
    first = _pool(sets[:2], out)
    again = _pool(sets, out, resume=True)
    assert again.resumed_slides == [ps.slide_path for ps in sets[:2]]
    assert again.manifest_ids[:2] == first.manifest_ids[:2]
    assert again.patch_count == sum(len(ps) for ps in sets)
    assert _samples(out) == reference
    assert _leftovers(out) == []
    # other shard limits are another run: refused before anything changes
    with pytest.raises(RunMismatchError, match="shard_maxcount=20, now shard_maxcount=5"):
        _pool(sets, out, resume=True, shard_maxcount=5)


def test_resume_redoes_a_slide_whose_shard_was_deleted(
    slides: list[Path], tmp_path: Path, reference: Samples
) -> None:
    out = tmp_path / "out"
    sets = _sets(slides)
    first = _pool(sets, out)
    victim = next(n for n in os.listdir(out / "shards") if n.startswith("s1_"))
    os.unlink(out / "shards" / victim)
    again = _pool(sets, out, resume=True)
    assert len(again.resumed_slides) == 3
    assert again.manifest_ids[1] != first.manifest_ids[1]
    assert _samples(out) == reference
    assert _leftovers(out) == []


def test_overwrite_removes_earlier_shards_and_index(
    slides: list[Path], tmp_path: Path, reference: Samples
) -> None:
    out = tmp_path / "out"
    sets = _sets(slides)
    first = _pool(sets, out)
    again = _pool(sets, out, overwrite=True)
    assert sorted(again.replaced_manifest_ids) == sorted(m for m in first.manifest_ids if m)
    assert _samples(out) == reference
    assert _leftovers(out) == []


def test_multires_pool_into_shards(slides: list[Path], tmp_path: Path) -> None:
    pool = MultiResDiskPatchExtractorPool(
        patches_pool=_sets(slides[:2]),
        levels_or_mpps=[0, 1],
        proc_num_workers=2,
        thread_num_workers=1,
        output_dir=tmp_path,
        image_type="jpg",
        output_format="webdataset",
    )
    dataset = open_shards(tmp_path)
    assert pool.patch_count == 2 * len(dataset)
    image, meta = dataset[len(dataset) // 2 + 1]
    assert image.shape == (2, 64, 64, 3)  # type: ignore[attr-defined]
    n = len(_sets(slides[:1])[0])
    assert meta["set_id"] == f"set{n + 2}"  # the pool's global set numbering
    assert [im["level_or_mpp"] for im in meta["images"]] == ["0", "1"]  # type: ignore[attr-defined]


_CHILD = """
import json, sys
from slidepatch import DiskPatchExtractorPool, PatchSet
spec = json.loads(sys.argv[1])
sets = [PatchSet.from_patch_data(slide_path=p, level_or_mpp=0, patch_data=spec["data"])
        for p in spec["slides"]]
DiskPatchExtractorPool(patches_pool=sets, proc_num_workers=2, thread_num_workers=1,
                       output_dir=spec["out"], image_type="png", output_format="webdataset",
                       shard_maxcount=20)
"""


@pytest.mark.timeout(120)
def test_killed_run_resumed_ends_as_an_uninterrupted_run(
    slides: list[Path], tmp_path: Path, reference: Samples
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    sets = _sets(slides)
    data = [
        ((int(x), int(y)), (64, 64), lab)
        for x, y, lab in zip(sets[0].x, sets[0].y, sets[0].labels, strict=True)
    ]
    spec = {"slides": [str(p) for p in slides], "data": data, "out": str(out)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, json.dumps(spec)], start_new_session=True
    )
    manifests = out / "manifests"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if manifests.is_dir() and any(n.endswith(".txt") for n in os.listdir(manifests)):
            break
        time.sleep(0.002)
    os.killpg(child.pid, signal.SIGKILL)  # parent and workers: nothing tidies up
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    done = [n for n in os.listdir(manifests) if n.endswith(".txt")]
    assert 1 <= len(done) < len(slides)
    assert len(open_shards(out)) == len(done) * len(sets[0])  # only finished slides count
    pool = _pool(sets, out, resume=True)
    assert len(pool.resumed_slides) == len(done)
    assert _samples(out) == reference
    assert _leftovers(out) == []
