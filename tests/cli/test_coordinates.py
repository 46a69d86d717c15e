"""``slidepatch locate`` writes coordinate files; ``extract --coords`` extracts them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

h5py = pytest.importorskip("h5py")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slidepatch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _locations(out: Path) -> set[tuple[int, int]]:
    names = (p.name for p in out.glob("*.png"))
    return {
        (int(m[1]), int(m[2]))
        for m in (re.search(r"_x(-?\d+)_y(-?\d+)\.png$", n) for n in names)
        if m
    }


SAMPLING = ("--mpp", "0.5", "--patch-size", "128", "--foreground-ratio", "0.5", "--procs", "1")


def test_locate_then_extract_coords_is_extract(synthetic_svs: Path, tmp_path: Path) -> None:
    coords = tmp_path / "coords"
    result = run_cli(
        "locate", synthetic_svs, "--out", coords, "--coords-format", "trident", *SAMPLING
    )
    assert result.returncode == 0, result.stderr
    h5 = coords / "20x_128px_0px_overlap" / "patches" / "synthetic_patches.h5"
    assert h5.is_file()
    with h5py.File(h5, "r") as f:
        n = f["coords"].shape[0]
        assert f["coords"].attrs["patch_size_level0"] == 256  # 128 px at 0.5 on 0.25 µm/px
    assert n > 0 and f"{n} patch locations from 1 of 1 slides" in result.stdout

    via = tmp_path / "via-coords"
    extracted = run_cli(
        "extract", synthetic_svs, "--out", via, "--coords", coords, "--resample", "tile",
        "--procs", "1", "--threads", "2",
    )  # fmt: skip
    assert extracted.returncode == 0, extracted.stderr
    direct = tmp_path / "direct"
    plain = run_cli("extract", synthetic_svs, "--out", direct, "--resample", "tile", *SAMPLING)
    assert plain.returncode == 0, plain.stderr
    assert len(_locations(via)) == n
    assert _locations(via) == _locations(direct)


@pytest.mark.parametrize(
    ("fmt", "relative"),
    [("hs2p", "tiles/synthetic.coordinates.npz")],  # every layout: tests/locations/coordinates
)
def test_locate_lays_files_out_as_each_tool(
    fmt: str, relative: str, synthetic_svs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    result = run_cli(
        "locate", synthetic_svs, "--out", out, "--coords-format", fmt, "--level", "1",
        "--patch-size", "64", "--foreground-ratio", "0.5", "--procs", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (out / relative).is_file()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["locate", "a.svs", "--out", "o"], "--coords-format"),
        (["extract", "a.svs", "--out", "o", "--coords", "c", "--mask", "m.png"], "--coords"),
        (["extract", "a.svs", "--out", "o", "--coords-format", "csv"], "--coords"),
    ],
)
def test_coordinate_usage_errors_exit_2(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_extract_coords_without_a_file_for_the_slide_exits_1(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli(
        "extract", synthetic_svs, "--out", tmp_path / "o", "--coords", tmp_path / "empty"
    )
    assert result.returncode == 1
    assert "no coordinate file" in result.stderr and str(synthetic_svs) in result.stderr
    skipped = run_cli(
        "extract", synthetic_svs, "--out", tmp_path / "o", "--coords", tmp_path / "empty",
        "--skip-failed", "--procs", "1",
    )  # fmt: skip
    assert skipped.returncode == 1 and "Traceback" not in skipped.stderr
    assert f"skipped: {synthetic_svs}: no coordinate file" in skipped.stderr
    assert "0 patches from 0 of 1 slides" in skipped.stdout


def test_locate_help() -> None:
    result = run_cli("locate", "--help")
    assert result.returncode == 0
    assert "usage: slidepatch locate" in result.stdout and "--coords-format" in result.stdout


def test_extract_coords_into_shards_holds_the_files_locations(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    """A coordinate set extracted into WebDataset shards: one sample per coordinate, same x/y."""
    pq = pytest.importorskip("pyarrow.parquet")
    coords = tmp_path / "coords"
    located = run_cli(
        "locate", synthetic_svs, "--out", coords, "--coords-format", "trident", *SAMPLING
    )
    assert located.returncode == 0, located.stderr
    with h5py.File(next(coords.glob("*/patches/synthetic_patches.h5")), "r") as f:
        expected = {(int(x), int(y)) for x, y in f["coords"][:]}
    out = tmp_path / "shards-out"
    extracted = run_cli(
        "extract", synthetic_svs, "--out", out, "--coords", coords, "--resample", "tile",
        "--output-format", "webdataset", "--procs", "1",
    )  # fmt: skip
    assert extracted.returncode == 0, extracted.stderr
    assert list((out / "shards").glob("*.tar"))
    table = pq.read_table(next((out / "index").glob("*.parquet"))).to_pydict()
    assert set(zip(table["x_level0"], table["y_level0"], strict=True)) == expected
    assert len(table["x_level0"]) == len(expected)


def test_locate_finding_no_location_in_any_slide_exits_1_and_writes_nothing(
    white_slide: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    result = run_cli("locate", white_slide, "--out", out, "--coords-format", "trident", *SAMPLING)
    assert result.returncode == 1, result.stderr
    assert "no patch locations" in result.stderr and "Traceback" not in result.stderr
    assert "no patch location in any slide" in result.stderr.strip().splitlines()[-1]
    assert not out.exists()
