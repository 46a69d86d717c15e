"""The ``slidepatch`` command, driven as a user would: in a subprocess."""

from __future__ import annotations

import csv
import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from slidepatch import Slide
from slidepatch.testing.annotation_files import (
    blob,
    qupath_feature,
    write_asap_xml,
    write_layers_xml,
    write_qupath_geojson,
)

TUMOR_STROMA = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"classification": {"name": name}},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x0, 0], [x1, 0], [x1, 2000], [x0, 2000], [x0, 0]]],
            },
        }
        for name, x0, x1 in (("tumor", 0, 1500), ("stroma", 1500, 3000))
    ],
}


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slidepatch", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("slidepatch: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def manifest_rows(out: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for manifest in sorted((out / "manifests").glob("*.csv")):
        with open(manifest, newline="") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


# ------------------------------------------------------------------ help and usage errors
def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("slidepatch ")


@pytest.mark.parametrize("command", [[], ["info"], ["extract"], ["demo"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "usage: slidepatch" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "COMMAND"),
        (["frobnicate"], "frobnicate"),
        (["extract", "a.svs"], "--out"),
        (["extract", "a.svs", "--out", "o", "--level", "1", "--mpp", "0.5"], "--mpp"),
        (["extract", "a.svs", "--out", "o", "--levels", "0", "zz"], "'zz'"),
        (["extract", "a.svs", "--out", "o", "--patch-size", "0"], "--patch-size"),
        (["extract", "a.svs", "--out", "o", "--sampling", "random"], "--num-patches"),
        (["extract", "a.svs", "b.svs", "--out", "o", "--mask", "m.png"], "pair with the slides"),
        (["extract", "a.svs", "--out", "o", "--include", "tumor"], "--annotations"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], expected: str, tmp_path: Path) -> None:
    line = assert_one_line_error(run_cli(*args, cwd=tmp_path), 2)
    assert expected in line
    assert not (tmp_path / "o").exists()


def test_resume_skips_finished_slides(synthetic_svs: Path, tmp_path: Path) -> None:
    from slidepatch.pools import DiskPatchExtractorPool

    out = tmp_path / "o"
    args = ("extract", synthetic_svs, "--out", out, "--procs", "1", "--resume")
    if "resume" not in inspect.signature(DiskPatchExtractorPool).parameters:
        line = assert_one_line_error(run_cli(*args), 2)
        assert "not supported yet" in line
        return
    first = run_cli(*args, "--foreground-ratio", "0.5")
    assert first.returncode == 0, first.stderr
    files = sorted(out.glob("synthetic_*.png"))
    again = run_cli(*args, "--foreground-ratio", "0.5")
    assert again.returncode == 0, again.stderr
    assert "1 slides were already complete" in again.stdout
    assert sorted(out.glob("synthetic_*.png")) == files
    assert len(list((out / "manifests").glob("*.csv"))) == 1


# ------------------------------------------------------------------ failures
@pytest.mark.parametrize("command", ["info", "extract"])
def test_missing_slide_exit_1_names_the_path(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-slide.svs"
    extra = ["--out", str(tmp_path / "o")] if command == "extract" else []
    line = assert_one_line_error(run_cli(command, missing, *extra), 1)
    assert str(missing) in line


def test_unopenable_slide_is_one_line(data_dir: Path) -> None:
    line = assert_one_line_error(run_cli("info", data_dir / "unopenable.tiff"), 1)
    assert "unopenable.tiff" in line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run_cli("info", tmp_path / "missing.svs", "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_skip_failed_goes_on_and_exits_1(
    synthetic_svs: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    bad = data_dir / "unopenable.tiff"
    result = run_cli(
        "extract", bad, synthetic_svs, "--out", out, "--procs", "1", "--skip-failed",
        "--foreground-ratio", "0.5",
    )  # fmt: skip
    assert result.returncode == 1
    assert "unopenable.tiff" in result.stderr
    rows = manifest_rows(out)
    assert rows and {Path(r["slide_path"]).name for r in rows} == {"synthetic.svs"}


# ------------------------------------------------------------------ info
def test_info_on_the_real_slide(cmu_small: Path) -> None:
    result = run_cli("info", cmu_small)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "2220 x 2967" in text
    assert "0.499" in text
    assert "aperio" in text
    assert "240x240" in text
    assert "metadata" in text


def test_info_json_lists_levels(synthetic_svs: Path) -> None:
    result = run_cli("info", synthetic_svs, "--json")
    assert result.returncode == 0, result.stderr
    (info,) = json.loads(result.stdout)
    assert info["dimensions"] == [3000, 2000]
    assert [lv["dimensions"] for lv in info["levels"]][:2] == [[3000, 2000], [750, 500]]
    assert info["levels"][0]["mpp"] == pytest.approx(0.25)


# ------------------------------------------------------------------ demo
def test_demo_writes_patches_manifest_preview_and_sheet(tmp_path: Path) -> None:
    result = run_cli("demo", "--out", "demo-out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "demo-out"
    rows = manifest_rows(out)
    patches = sorted(out.glob("CMU-1-Small-Region_*.png"))
    assert 100 <= len(patches) <= 300
    assert len(rows) == len(patches)
    assert {r["path"] for r in rows} == {p.name for p in patches}
    assert len(list((out / "manifests").glob("*.txt"))) == 1
    assert (out / "previews" / "CMU-1-Small-Region.png").is_file()
    assert (out / "contact_sheet.png").is_file()
    assert f"{len(patches)} patches" in result.stdout
    assert str(out / "previews" / "CMU-1-Small-Region.png") in result.stdout
    assert "manifest__" in result.stdout


# ------------------------------------------------------------------ extract
def test_extract_grid_level0_pixels_match_the_slide(synthetic_svs: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = run_cli(
        "extract", synthetic_svs, "--out", out, "--procs", "1", "--threads", "2",
        "--patch-size", "256", "--level", "0", "--foreground-ratio", "0.5",
        "--preview", "--contact-sheet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    assert len(rows) == len(list(out.glob("synthetic_*.png"))) > 0
    assert f"{len(rows)} patches" in result.stdout
    assert (out / "previews" / "synthetic.png").is_file()
    assert (out / "contact_sheet.png").is_file()
    with Slide.open(synthetic_svs) as slide:
        for row in rows[:3]:
            x, y = int(row["x_level0"]), int(row["y_level0"])
            assert x % 256 == (int(rows[0]["x_level0"]) % 256)
            expected = slide.read_region((x, y), 0, (256, 256))
            written = np.asarray(Image.open(out / row["path"]).convert("RGB"))
            np.testing.assert_array_equal(written, expected)


def test_extract_multires_levels(synthetic_svs: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = run_cli(
        "extract", synthetic_svs, "--out", out, "--procs", "1", "--threads", "2",
        "--patch-size", "128", "--stride", "2", "--foreground-ratio", "0.5",
        "--levels", "0", "1", "--contact-sheet", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    rows = manifest_rows(out)
    set_dirs = sorted(p for p in out.iterdir() if p.name.startswith("set"))
    assert set_dirs and len(rows) == 2 * len(set_dirs)
    for set_dir in set_dirs:
        files = sorted(set_dir.iterdir())
        assert len(files) == 2
        assert all(Image.open(f).size == (128, 128) for f in files)
    assert {r["level_or_mpp"] for r in rows} == {"0", "1"}
    assert (out / "contact_sheet.png").is_file()


def test_extract_inside_annotations_with_include(synthetic_svs: Path, tmp_path: Path) -> None:
    annotations = tmp_path / "synthetic.geojson"
    annotations.write_text(json.dumps(TUMOR_STROMA))
    out = tmp_path / "o"
    result = run_cli(
        "extract", synthetic_svs, "--out", out, "--procs", "1", "--annotations", annotations,
        "--include", "tumor", "--foreground-ratio", "0.5", "--image-type", "jpg",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    assert rows
    assert {r["label"] for r in rows} == {"tumor"}
    assert all(int(r["x_level0"]) + 256 <= 1500 for r in rows)
    assert all(r["path"].endswith(".jpg") for r in rows)


def _patch_boxes(rows: list[dict[str, str]], size: int) -> np.ndarray:
    xy = np.array([(int(r["x_level0"]), int(r["y_level0"])) for r in rows], dtype=float)
    return shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + size, xy[:, 1] + size)


def test_extract_camelyon16_splines_with_cut_out(synthetic_svs: Path, tmp_path: Path) -> None:
    """The README's CAMELYON16 recipe on a spline-only ASAP file with an exclusion group."""
    tumor = [blob(900, 1000, 600, n=60, seed=1), blob(2300, 1000, 500, n=60, seed=2)]
    exclusion = blob(900, 1000, 250, seed=3)
    xml = write_asap_xml(
        tmp_path / "synthetic.xml",
        [("Spline", "_0", tumor[0]), ("Spline", "_1", tumor[1]), ("Spline", "_2", exclusion)],
    )
    common = ["--procs", "1", "--annotations", xml, "--include", "_0", "_1",
              "--patch-size", "128", "--stride", "0.5", "--foreground-ratio", "0",
              "--image-type", "jpg", "--quiet"]  # fmt: skip
    cut = run_cli("extract", synthetic_svs, "--out", tmp_path / "cut", *common, "--cut-out", "_2")
    plain = run_cli("extract", synthetic_svs, "--out", tmp_path / "plain", *common)
    assert cut.returncode == 0 and plain.returncode == 0, cut.stderr + plain.stderr
    excluded = shapely.Polygon(exclusion)
    cut_rows, plain_rows = manifest_rows(tmp_path / "cut"), manifest_rows(tmp_path / "plain")
    assert {r["label"] for r in cut_rows} == {"_0", "_1"}
    over = shapely.area(shapely.intersection(_patch_boxes(cut_rows, 128), excluded)) / 128**2
    assert over.max() <= 0.05 + 1e-9
    before = shapely.area(shapely.intersection(_patch_boxes(plain_rows, 128), excluded))
    assert before.max() == pytest.approx(128**2)  # without --cut-out: patches over excluded tissue
    assert len(plain_rows) > len(cut_rows) > 50


def test_extract_qupath_export_with_cells_keeps_the_annotation(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    """Cells of the annotation's class used to be cut out of it as holes: 0 patches."""
    square = [(200.0, 200.0), (1480.0, 200.0), (1480.0, 1480.0), (200.0, 1480.0)]
    features = [qupath_feature([square], classification={"name": "Tumor"})]
    features += [
        qupath_feature(
            [blob(float(x), float(y), 7, n=16, seed=int(x + y))],
            classification={"name": "Tumor"},
            object_type="cell",
        )
        for x in range(220, 1480, 20)
        for y in range(220, 1480, 20)
    ]
    path = write_qupath_geojson(tmp_path / "synthetic.geojson", features)
    out = tmp_path / "o"
    result = run_cli(
        "extract", synthetic_svs, "--out", out, "--procs", "1", "--annotations", path,
        "--include", "Tumor", "--foreground-ratio", "0", "--image-type", "jpg", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "slidepatch: warning:" in result.stderr and "3969 cell objects" in result.stderr
    rows = manifest_rows(out)
    assert len(rows) == 25 and {r["label"] for r in rows} == {"Tumor"}  # 5 x 5 patches of 256


def test_extract_object_types_takes_qupath_tiles_too(synthetic_svs: Path, tmp_path: Path) -> None:
    def square(x: float, side: float) -> list[tuple[float, float]]:
        return [(x, 200.0), (x + side, 200.0), (x + side, 200.0 + side), (x, 200.0 + side)]

    features = [qupath_feature([square(200, 512)], classification="Tumor")]
    features += [
        qupath_feature([square(x, 256)], classification="Tile", object_type="tile")
        for x in (1500.0, 1756.0)
    ]
    path = write_qupath_geojson(tmp_path / "synthetic.geojson", features)
    common = ["--procs", "1", "--annotations", path, "--foreground-ratio", "0", "--quiet"]
    default = run_cli("extract", synthetic_svs, "--out", tmp_path / "a", *common)
    tiles = run_cli(
        "extract", synthetic_svs, "--out", tmp_path / "b", *common,
        "--object-types", "annotation", "tile",
    )  # fmt: skip
    assert default.returncode == 0 and tiles.returncode == 0, default.stderr + tiles.stderr
    assert "2 tile objects" in default.stderr and "tile objects" not in tiles.stderr
    assert sorted(r["label"] for r in manifest_rows(tmp_path / "a")) == ["Tumor"] * 4
    assert sorted(r["label"] for r in manifest_rows(tmp_path / "b")) == ["Tile"] * 2 + ["Tumor"] * 4


@pytest.mark.parametrize("flavour", ["imagescope", "halo"])
def test_extract_imagescope_and_halo_layers_with_a_negative_region(
    synthetic_svs: Path, tmp_path: Path, flavour: str
) -> None:
    outer = [(100.0, 100.0), (1700.0, 100.0), (1700.0, 1700.0), (100.0, 1700.0)]
    hole = [(600.0, 600.0), (1200.0, 600.0), (1200.0, 1200.0), (600.0, 1200.0)]
    kind = "0" if flavour == "imagescope" else "Polygon"
    layers = [("Tumor", [(kind, False, outer), (kind, True, hole)])]
    path = write_layers_xml(tmp_path / "synthetic.xml", layers, flavour=flavour)
    out = tmp_path / "o"
    result = run_cli(
        "extract", synthetic_svs, "--out", out, "--procs", "1", "--annotations", path,
        "--include", "Tumor", "--foreground-ratio", "0", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    holed = shapely.Polygon(outer, [hole])
    inside = shapely.area(shapely.intersection(_patch_boxes(rows, 256), holed)) / 256**2
    assert rows and inside.min() >= 0.95 - 1e-9 and {r["label"] for r in rows} == {"Tumor"}


def test_extract_outside_spline_tumour(synthetic_svs: Path, tmp_path: Path) -> None:
    """Splines used to be dropped, so "normal" patches were taken inside the tumour."""
    tumor = blob(1500, 1000, 600, n=60, seed=8)
    xml = write_asap_xml(tmp_path / "synthetic.xml", [("Spline", "_0", tumor)])
    out = tmp_path / "o"
    result = run_cli(
        "extract", synthetic_svs, "--out", out, "--procs", "1", "--annotations", xml,
        "--outside", "--label", "normal", "--foreground-ratio", "0.5", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    inside = shapely.area(shapely.intersection(_patch_boxes(rows, 256), shapely.Polygon(tumor)))
    assert rows and {r["label"] for r in rows} == {"normal"}
    assert inside.max() <= 0.05 * 256**2 + 1e-6


def test_cut_out_needs_annotations(tmp_path: Path) -> None:
    result = run_cli("extract", "a.svs", "--out", tmp_path / "o", "--cut-out", "_2")
    assert "--cut-out needs --annotations" in assert_one_line_error(result, 2)


def test_extract_with_a_mask_file_per_slide(synthetic_svs: Path, tmp_path: Path) -> None:
    mask = np.zeros((125, 188), dtype=np.uint8)  # 1/16 of 3000x2000
    mask[:, :32] = 255  # only the left 32 mask columns = 512 level-0 pixels
    mask_file = tmp_path / "synthetic_mask.png"  # paired with synthetic.svs by name
    Image.fromarray(mask).save(mask_file)
    out = tmp_path / "o"
    result = run_cli(
        "extract", synthetic_svs, "--out", out, "--procs", "1", "--mask", mask_file,
        "--patch-size", "256", "--foreground-ratio", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    assert rows
    assert all(int(r["x_level0"]) + 256 <= 512 for r in rows)


def test_extract_label_from_takes_qupath_names(synthetic_svs: Path, tmp_path: Path) -> None:
    """``--label-from name``: labels from each annotation's name, not its classification."""
    square = [(0.0, 0.0), (1500.0, 0.0), (1500.0, 2000.0), (0.0, 2000.0)]
    other = [(1500.0, 0.0), (3000.0, 0.0), (3000.0, 2000.0), (1500.0, 2000.0)]
    geojson = write_qupath_geojson(
        tmp_path / "synthetic.geojson",
        [
            qupath_feature([square], classification={"name": "Tumor"}, name="region-a"),
            qupath_feature([other], classification={"name": "Tumor"}, name="region-b"),
        ],
    )
    common = ["--procs", "1", "--annotations", geojson, "--foreground-ratio", "0.5"]
    named = run_cli(
        "extract", synthetic_svs, "--out", tmp_path / "named", *common,
        "--label-from", "name", "--include", "region-a",
    )  # fmt: skip
    assert named.returncode == 0, named.stderr
    rows = manifest_rows(tmp_path / "named")
    assert rows and {r["label"] for r in rows} == {"region-a"}
    assert all(int(r["x_level0"]) + 256 <= 1500 for r in rows)
    # The default source is the classification: both regions are "Tumor".
    default = run_cli("extract", synthetic_svs, "--out", tmp_path / "default", *common)
    assert default.returncode == 0, default.stderr
    assert {r["label"] for r in manifest_rows(tmp_path / "default")} == {"Tumor"}


def test_label_from_on_a_format_with_one_label_source_is_an_error(tmp_path: Path) -> None:
    from slidepatch.annotations import read_annotations
    from slidepatch.errors import AnnotationError

    xml = write_asap_xml(tmp_path / "a.xml", [("Polygon", "_0", blob(500, 500, 100))])
    assert [p.label for p in read_annotations(xml)] == ["_0"]
    with pytest.raises(AnnotationError, match=r"label_from='name' applies to QuPath GeoJSON"):
        read_annotations(xml, label_from="name")
