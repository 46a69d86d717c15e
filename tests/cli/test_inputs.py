"""Which file goes with which slide: by name, from folders, from a slide table (through the CLI)."""

from __future__ import annotations

import subprocess
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


def _id_table(tmp_path: Path, rows: str) -> Path:
    table = tmp_path / "slides.csv"
    table.write_text("slide,slide_id\n" + rows)
    return table


def _extract_table(table: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "extract", "--slides", table, "--out", out, "--procs", "1", "--quiet",
        "--foreground-ratio", "0.3", "--patch-size", "256", *extra,
    )  # fmt: skip


def test_slide_id_column_names_files_manifests_and_previews(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_slides
    table = _id_table(tmp_path, f"{a},case-01\n{b},\n")
    out = tmp_path / "o"
    result = _extract_table(table, out, "--preview")
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    ids: dict[str, set[str]] = {}
    for r in rows:
        ids.setdefault(Path(r["slide_path"]).name, set()).add(r["wsi_id"])
    assert ids == {"a.svs": {"case-01"}, "b.svs": {"b"}}
    a_files = [r["path"] for r in rows if r["slide_path"].endswith("a.svs")]
    assert a_files and all(Path(p).name.startswith("case-01_") for p in a_files)
    assert all((out / p).is_file() for p in a_files)
    assert any(p.name.endswith("__case-01.txt") for p in (out / "manifests").iterdir())
    assert (out / "previews" / "case-01.png").is_file()
    assert (out / "previews" / "b.png").is_file()

    manifests = sorted(p.name for p in (out / "manifests").iterdir())
    again = _extract_table(table, out, "--resume")  # the same table: nothing to redo
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (out / "manifests").iterdir()) == manifests
    assert sorted(r["path"] for r in manifest_rows(out)) == sorted(r["path"] for r in rows)

    renamed = _id_table(tmp_path, f"{a},case-02\n{b},\n")
    changed = _extract_table(renamed, out, "--resume")
    assert changed.returncode != 0
    assert "wsi_id=case-01, now wsi_id=case-02" in changed.stderr
    assert "Traceback" not in changed.stderr


def test_slide_ids_must_be_unique_and_file_name_safe(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_slides
    out = tmp_path / "o"
    for rows, expected in (
        (f"{a},x1\n{b},x1\n", "line 3: slide id 'x1' is also the id of line 2"),
        (f"{a},b\n{b},\n", "line 3: slide id 'b' is also the id of line 2"),
        (f"{a},ok\n{b},../up\n", "line 3: slide id '../up' is not file-name safe"),
        (f"{a},has space\n", "line 2: slide id 'has space' is not file-name safe"),
        (f"{a},x1\n{a},x2\n", "listed twice"),
    ):
        result = _extract_table(_id_table(tmp_path, rows), out)
        assert result.returncode == 2, (rows, result.stderr)
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert not out.exists()


def test_slide_ids_tell_apart_same_named_slides_in_two_folders(tmp_path: Path) -> None:
    from slidepatch.testing.synthetic import write_synthetic_slide

    paths = []
    for folder, seed in (("site1", 3), ("site2", 4)):
        (tmp_path / folder).mkdir()
        paths.append(
            write_synthetic_slide(tmp_path / folder / "h1.svs", width=1024, height=768, seed=seed)
        )
    table = _id_table(tmp_path, f"{paths[0]},site1-h1\n{paths[1]},site2-h1\n")
    out = tmp_path / "o"
    result = _extract_table(table, out)
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    ids = {r["wsi_id"]: Path(r["slide_path"]).parent.name for r in rows}
    assert ids == {"site1-h1": "site1", "site2-h1": "site2"}
    assert len({r["path"] for r in rows}) == len(rows)
    for r in rows:
        assert Path(r["path"]).name.startswith(r["wsi_id"] + "_")
        assert (out / r["path"]).is_file()
