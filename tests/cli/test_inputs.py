"""Which file goes with which slide: by name, from folders, from a slide table (through the CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cli_helpers import geojson, labels_by_slide, manifest_rows, run_cli
from PIL import Image


def _write_annotations(folder: Path) -> tuple[Path, Path]:
    a = folder / "a.geojson"
    b = folder / "b.geojson"
    a.write_text(geojson(("tumor", 0, 0, 1536, 1024)))
    b.write_text(geojson(("stroma", 0, 0, 1536, 1024)))
    return a, b


def test_swapped_annotation_files_pair_by_name(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a_notes, b_notes = _write_annotations(tmp_path)
    out = tmp_path / "o"
    result = run_cli(
        "extract", *two_slides, "--out", out, "--procs", "1", "--quiet",
        "--annotations", b_notes, a_notes,  # the wrong order: pairing is by name
        "--foreground-ratio", "0.3", "--patch-size", "128",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert labels_by_slide(manifest_rows(out)) == {"a.svs": {"tumor"}, "b.svs": {"stroma"}}


def test_an_unpaired_annotation_file_is_an_error_naming_both_sides(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a_notes, _ = _write_annotations(tmp_path)
    other = tmp_path / "c.geojson"
    other.write_text(geojson(("tumor", 0, 0, 100, 100)))
    result = run_cli(
        "extract", *two_slides, "--out", tmp_path / "o", "--annotations", a_notes, other
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "slides without a file: b.svs" in line
    assert "files matching no slide: c.geojson" in line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_annotations_and_mask_folders(two_slides: tuple[Path, Path], tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    _write_annotations(notes)
    (notes / "README.txt").write_text("other files in the folder are ignored")
    masks = tmp_path / "masks"
    masks.mkdir()
    for name in ("a", "b"):
        mask = np.zeros((64, 96), np.uint8)  # 1/16 of 1536 x 1024
        mask[:, :32] = 255  # the left third only: level-0 x < 512
        Image.fromarray(mask).save(masks / f"{name}_mask.png")
    out = tmp_path / "o"
    result = run_cli(
        "extract", *two_slides, "--out", out, "--procs", "1", "--quiet",
        "--annotations-dir", notes, "--mask-dir", masks,
        "--foreground-ratio", "1", "--patch-size", "128",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    assert labels_by_slide(rows) == {"a.svs": {"tumor"}, "b.svs": {"stroma"}}
    assert all(int(r["x_level0"]) + 128 <= 512 for r in rows)


def test_a_folder_missing_a_slide_is_an_error(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.geojson").write_text(geojson(("tumor", 0, 0, 100, 100)))
    result = run_cli("extract", *two_slides, "--out", tmp_path / "o", "--annotations-dir", notes)
    assert result.returncode == 2, result.stderr
    assert "no file for slides b.svs" in result.stderr


def test_slide_table_with_mpp_annotations_and_label_columns(
    two_slides: tuple[Path, Path],
    no_mpp_slide: Path,
    tmp_path: Path,
) -> None:
    a, _ = two_slides
    (tmp_path / "a.geojson").write_text(geojson(("tumor", 0, 0, 1536, 1024)))
    (tmp_path / "n.geojson").write_text(geojson(("stroma", 0, 0, 1536, 1024)))
    table = tmp_path / "slides.csv"
    table.write_text(
        "slide,mpp,annotations,label\n"
        f"{a},,a.geojson,\n"  # relative paths are relative to the table
        f"{no_mpp_slide},0.25,n.geojson,\n"
    )
    out = tmp_path / "o"
    result = run_cli(
        "extract", "--slides", table, "--out", out, "--procs", "2", "--quiet", "--mpp", "0.5",
        "--resample", "tile", "--foreground-ratio", "0.3", "--patch-size", "128",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    assert labels_by_slide(rows) == {"a.svs": {"tumor"}, "nompp.tiff": {"stroma"}}
    assert {float(r["mpp_read"]) for r in rows} == {0.5}
    some = next(r for r in rows if r["slide_path"].endswith("nompp.tiff"))
    assert Image.open(out / some["path"]).size == (128, 128)
    assert int(some["width_level0"]) == 256  # 128 px at 0.5 µm/px of a 0.25 µm/px slide


def test_slide_table_label_column_labels_whole_slide_patches(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_slides
    table = tmp_path / "slides.csv"
    table.write_text(f"slide,label\n{a},case1\n{b},\n")
    out = tmp_path / "o"
    result = run_cli(
        "extract", "--slides", table, "--out", out, "--procs", "1", "--quiet",
        "--label", "other", "--foreground-ratio", "0.3", "--patch-size", "256",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert labels_by_slide(manifest_rows(out)) == {"a.svs": {"case1"}, "b.svs": {"other"}}


def test_slide_table_errors_name_the_line_and_column(tmp_path: Path) -> None:
    table = tmp_path / "slides.csv"
    table.write_text("slide,annotation\nx.svs,x.geojson\n")
    result = run_cli("extract", "--slides", table, "--out", tmp_path / "o")
    assert result.returncode == 2
    assert "unknown columns annotation" in result.stderr
    table.write_text("slide,mpp\nx.svs,fast\n")
    result = run_cli("extract", "--slides", table, "--out", tmp_path / "o")
    assert result.returncode == 2
    assert "line 2: mpp 'fast'" in result.stderr
    result = run_cli("extract", "a.svs", "--slides", table, "--out", tmp_path / "o")
    assert result.returncode == 2
    assert "not both" in result.stderr


def test_slide_mpp_for_a_slide_without_mpp(no_mpp_slide: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    args = ("extract", no_mpp_slide, "--out", out, "--procs", "1", "--quiet")
    args += ("--foreground-ratio", "0.3", "--patch-size", "128", "--mpp", "0.5")
    refused = run_cli(*args, "--resample", "tile")
    assert refused.returncode == 1
    assert "--slide-mpp" in refused.stderr
    assert "slide_mpp=" not in refused.stderr and "Slide.open" not in refused.stderr
    result = run_cli(*args, "--slide-mpp", "0.25", "--levels", "0.5", "1.0", "--resample", "tile")
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    assert rows and {r["level_or_mpp"] for r in rows} == {"0.5", "1.0"}
    widths = {r["level_or_mpp"]: int(r["width_level0"]) for r in rows}
    assert widths == {"0.5": 256, "1.0": 512}  # the extraction workers used 0.25 µm/px


def test_locate_command_pairs_by_name_too(two_slides: tuple[Path, Path], tmp_path: Path) -> None:
    a_notes, b_notes = _write_annotations(tmp_path)
    out = tmp_path / "coords"
    result = run_cli(
        "locate", *two_slides, "--out", out, "--coords-format", "csv", "--procs", "1",
        "--annotations", b_notes, a_notes, "--foreground-ratio", "0.3", "--max-patches", "5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name, label in (("a", "tumor"), ("b", "stroma")):
        lines = (out / f"{name}.csv").read_text().splitlines()
        assert len(lines) == 1 + 5
        assert {line.split(",")[4] for line in lines[1:]} == {label}
