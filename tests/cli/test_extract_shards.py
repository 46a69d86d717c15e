"""``slidepatch extract --output-format webdataset`` and the quality-score options."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from slidepatch import open_shards

pytest.importorskip("pyarrow")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slidepatch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_extract_into_shards_with_scores_and_a_filter(cmu_small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("--patch-size", "256", "--foreground-ratio", "0", "--image-type", "jpg", "--quiet")
    done = run_cli(
        "extract", cmu_small, "--out", out, *args, "--output-format", "webdataset",
        "--shard-maxcount", "16", "--drop-white", "0.6",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # --quiet
    everything = run_cli("extract", cmu_small, "--out", tmp_path / "all", *args, "--qc-scores")
    assert everything.returncode == 0, everything.stderr
    (csv_path,) = (tmp_path / "all" / "manifests").glob("*.csv")
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    kept = [r for r in rows if float(r["qc_white"]) <= 0.6]
    assert 0 < len(kept) < len(rows)  # the real slide has background to drop
    dataset = open_shards(out)
    assert len(dataset) == len(kept)
    assert len(list((out / "shards").glob("*.tar"))) == -(-len(kept) // 16)
    assert [m["images"][0]["x_level0"] for _, m in dataset] == [  # type: ignore[index]
        int(r["x_level0"]) for r in kept
    ]
    (txt,) = (out / "manifests").glob("*.txt")
    assert f"'white': {len(rows) - len(kept)}" in txt.read_text()


def test_summary_names_the_shards(cmu_small: Path, tmp_path: Path) -> None:
    args = ("--patch-size", "512", "--foreground-ratio", "0", "--output-format", "webdataset")
    done = run_cli("extract", cmu_small, "--out", tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert f"  shards:        {tmp_path / 'shards'} (index: {tmp_path}/index)" in done.stdout


def test_shards_refuse_subdirs(cmu_small: Path, tmp_path: Path) -> None:
    done = run_cli(
        "extract", cmu_small, "--out", tmp_path, "--output-format", "webdataset", "--subdirs"
    )
    assert done.returncode != 0
    assert "--subdirs and --contact-sheet need --output-format files" in done.stderr


def test_artifact_mask_option(cmu_small: Path, tmp_path: Path) -> None:
    from PIL import Image

    mask = tmp_path / "CMU-1-Small-Region_artifacts.png"
    Image.new("L", (222, 297), 255).save(mask)  # 1/10 of the slide, all artifact
    out = tmp_path / "out"
    args = ("--patch-size", "256", "--foreground-ratio", "0", "--quiet")
    done = run_cli("extract", cmu_small, "--out", out, *args, "--artifact-mask", mask)
    assert done.returncode == 1, done.stderr  # nothing written is a failed run
    assert "no patch to write" in done.stderr
    assert list(out.glob("*.png")) == []
    (txt,) = (out / "manifests").glob("*.txt")
    assert "QC dropped:             {'artifact': " in txt.read_text()
    assert "the quality filters dropped all" in done.stderr
    usage = run_cli("extract", cmu_small, "--out", out, "--max-artifact", "0.5")
    assert "--max-artifact needs --artifact-mask" in usage.stderr


def test_location_masks_give_mask_tissue_scores(cmu_small: Path, tmp_path: Path) -> None:
    from PIL import Image

    mask = tmp_path / "CMU-1-Small-Region_mask.png"
    image = Image.new("L", (222, 297), 0)
    image.paste(255, (0, 0, 111, 297))  # the left half is tissue
    image.save(mask)
    out = tmp_path / "out"
    args = ("--patch-size", "256", "--foreground-ratio", "0.5", "--quiet", "--qc-scores")
    done = run_cli("extract", cmu_small, "--out", out, "--mask", mask, *args)
    assert done.returncode == 0, done.stderr
    (csv_path,) = (out / "manifests").glob("*.csv")
    with open(csv_path, newline="") as f:
        fractions = [float(r["qc_mask_tissue"]) for r in csv.DictReader(f)]
    assert fractions and all(f >= 0.5 for f in fractions)  # as --foreground-ratio chose them


def test_geojson_artifact_mask_option(cmu_small: Path, tmp_path: Path) -> None:
    import json

    # a level-0 rectangle over the slide's left half (2220 x 2967 px): its patches go
    ring = [[0, 0], [1110, 0], [1110, 2967], [0, 2967], [0, 0]]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    mask = tmp_path / "CMU-1-Small-Region_artifacts.geojson"
    mask.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    out = tmp_path / "out"
    args = ("--patch-size", "256", "--foreground-ratio", "0", "--quiet", "--qc-scores")
    done = run_cli("extract", cmu_small, "--out", out, *args, "--artifact-mask", mask)
    assert done.returncode == 0, done.stderr
    (csv_path,) = (out / "manifests").glob("*.csv")
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(int(r["x_level0"]) >= 1110 for r in rows)
    assert all(float(r["qc_artifact"]) == 0 for r in rows)
    (txt,) = (out / "manifests").glob("*.txt")
    dropped = 5 * 11  # columns 0..4 (x < 1110) of the 8 x 11 grid of 256 px patches
    assert f"{{'artifact': {dropped}," in txt.read_text()
