"""``--mpp-tolerance`` and ``--tile-cache-mb`` reach the locating and extracting workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import manifest_rows, run_cli
from PIL import Image

from slidepatch import Slide
from slidepatch.testing.synthetic import write_synthetic_slide


@pytest.fixture(scope="module")
def scan263(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli263")
    return write_synthetic_slide(
        root / "scan263.svs", width=1024, height=768, downsamples=(1, 4), mpp=0.263, seed=5
    )


def test_a_5_percent_mpp_reads_level_0_with_the_tolerance(scan263: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    flags = ["--mpp-tolerance", "0.06", "--tile-cache-mb", "4", "--procs", "2", "--quiet"]
    sampling = ["--patch-size", "128", "--mpp", "0.25", "--foreground-ratio", "0.3"]
    result = run_cli("extract", scan263, "--out", out, *sampling, *flags)
    assert result.returncode == 0, result.stderr
    rows = manifest_rows(out)
    assert rows
    with Slide.open(scan263) as slide:
        for row in rows[:3]:
            x, y = int(row["x_level0"]), int(row["y_level0"])
            written = np.asarray(Image.open(out / row["path"]).convert("RGB"))
            np.testing.assert_array_equal(written, slide.read_region((x, y), 0, (128, 128)))


def test_without_the_tolerance_the_mpp_needs_resampling(scan263: Path, tmp_path: Path) -> None:
    result = run_cli(
        "extract", scan263, "--out", tmp_path / "o", "--procs", "1",
        "--patch-size", "128", "--mpp", "0.25", "--foreground-ratio", "0.3",
    )  # fmt: skip
    assert result.returncode != 0
    assert "scan263.svs" in result.stderr and "matches no native level" in result.stderr
    assert "--mpp-tolerance" in result.stderr and "resampling_mode" not in result.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--mpp-tolerance", "1"), ("--mpp-tolerance", "x"), ("--tile-cache-mb", "-1")],
)
def test_bad_values_are_usage_errors(scan263: Path, tmp_path: Path, flag: str, value: str) -> None:
    result = run_cli("extract", scan263, "--out", tmp_path / "o", flag, value)
    assert result.returncode == 2
    assert flag in result.stderr
