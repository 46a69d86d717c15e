"""The locating phase through the CLI: why a slide gives no patch, caps, dry runs, Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import geojson, labels_by_slide, manifest_rows, run_cli


def _patch_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*.png") if "previews" not in p.parts] if out.exists() else []


# ------------------------------------------------------------------ zero patches is never silent
def test_label_typo_names_the_labels_the_file_has(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = two_slides
    notes = tmp_path / "a.geojson"
    notes.write_text(geojson(("tumor", 0, 0, 700, 1024), ("stroma", 700, 0, 1536, 1024)))
    out = tmp_path / "o"
    result = run_cli(
        "extract", a, "--out", out, "--procs", "1", "--annotations", notes, "--include", "Tumor"
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "a.svs: no patches: no polygon has an included label 'Tumor'" in result.stderr
    assert "the annotations have labels 'stroma', 'tumor'" in result.stderr
    assert "'Tumor' differs from 'tumor' only in case" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("slidepatch: error: no patch to")
    assert _patch_files(out) == []


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (("--include", "tumor", "Stroma"), "--include label 'Stroma'"),
        (("--outside", "--include", "Tumor"), "--include label 'Tumor'"),
        (("--exclude", "Stroma"), "--exclude label 'Stroma'"),
    ],
)
def test_a_label_filter_matching_no_polygon_is_a_warning(
    flags: tuple[str, ...], named: str, two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = two_slides
    notes = tmp_path / "a.geojson"
    notes.write_text(geojson(("tumor", 0, 0, 700, 1024), ("stroma", 700, 0, 1536, 1024)))
    result = run_cli(
        "extract", a, "--out", tmp_path / "o", "--procs", "1", "--annotations", notes,
        "--foreground-ratio", "0.3", "--patch-size", "128", *flags,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"slidepatch: warning: {a}: no polygon has the {named}" in result.stderr
    assert "the annotations have labels 'stroma', 'tumor'" in result.stderr
    assert "differs from" in result.stderr and "only in case" in result.stderr


def test_all_white_slide_says_the_mask_has_no_tissue(white_slide: Path, tmp_path: Path) -> None:
    result = run_cli("extract", white_slide, "--out", tmp_path / "o", "--procs", "1")
    assert result.returncode == 1
    assert "white.svs: no patches: the mask has no tissue" in result.stderr


def test_patch_bigger_than_the_slide(two_slides: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = two_slides
    result = run_cli("extract", a, "--out", tmp_path / "o", "--procs", "1", "--patch-size", "2048")
    assert result.returncode == 1
    assert "is larger than the slide (1536 x 1024 level-0 px)" in result.stderr


def test_every_candidate_failing_foreground_ratio(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = two_slides
    result = run_cli(
        "extract", a, "--out", tmp_path / "o", "--procs", "1", "--patch-size", "1000",
        "--foreground-ratio", "1",
    )  # fmt: skip
    assert result.returncode == 1
    assert "candidate patches failed foreground_ratio=1" in result.stderr


def test_one_empty_slide_among_others_is_a_warning_not_a_failure(
    two_slides: tuple[Path, Path], white_slide: Path, tmp_path: Path
) -> None:
    a, _ = two_slides
    out = tmp_path / "o"
    result = run_cli(
        "extract", a, white_slide, "--out", out, "--procs", "1", "--foreground-ratio", "0.3"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "slidepatch: warning: " in result.stderr
    assert "white.svs: no patches: the mask has no tissue" in result.stderr
    assert "no patches:    1 slides" in result.stdout
    assert {Path(r["slide_path"]).name for r in manifest_rows(out)} == {"a.svs"}


# ------------------------------------------------------------------ --max-patches, --dry-run
@pytest.mark.parametrize(
    "sampling",
    [
        ("--sampling", "grid", "--stride", "0.5"),
        ("--sampling", "random", "--num-patches", "40"),
        ("--sampling", "poisson", "--spacing", "100"),
    ],
)
def test_max_patches_caps_every_sampling(
    sampling: tuple[str, ...], two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = two_slides
    common = ("--procs", "1", "--quiet", "--patch-size", "128", "--foreground-ratio", "0.3")
    runs = []
    for name in ("o1", "o2") if sampling[1] == "grid" else ("o1",):
        out = tmp_path / name
        result = run_cli(
            "extract", a, "--out", out, *common, *sampling, "--seed", "3", "--max-patches", "7"
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        runs.append(sorted((r["x_level0"], r["y_level0"]) for r in manifest_rows(out)))
    assert len(runs[0]) == 7
    assert runs[0] == runs[-1]  # seeded: the same subset every time
    full = run_cli("extract", a, "--out", tmp_path / "full", *common, *sampling, "--seed", "3")
    assert full.returncode == 0, full.stderr
    everything = {(r["x_level0"], r["y_level0"]) for r in manifest_rows(tmp_path / "full")}
    assert len(everything) > 7
    assert set(runs[0]) <= everything


def test_dry_run_prints_counts_per_slide_and_label_and_writes_nothing(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_slides
    (tmp_path / "a.geojson").write_text(
        geojson(("tumor", 0, 0, 700, 1024), ("stroma", 700, 0, 1536, 1024))
    )
    (tmp_path / "b.geojson").write_text(geojson(("tumor", 0, 0, 1536, 1024)))
    out = tmp_path / "o"
    args = ("extract", a, b, "--out", out, "--procs", "2", "--patch-size", "128")
    args += ("--annotations", tmp_path / "a.geojson", tmp_path / "b.geojson")
    args += ("--foreground-ratio", "0.3", "--preview", "--contact-sheet")
    dry = run_cli(*args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert not out.exists()
    real = run_cli(*args, "--quiet")
    assert real.returncode == 0, real.stderr
    rows = manifest_rows(out)
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (Path(row["slide_path"]).name, row["label"])
        counts[key] = counts.get(key, 0) + 1
    lines = dry.stdout.splitlines()
    assert lines[0] == f"dry run: {len(rows)} patches from 2 of 2 slides (nothing written)"
    a_total = counts[("a.svs", "stroma")] + counts[("a.svs", "tumor")]
    assert (
        f"  {a}: {a_total} patches (stroma {counts[('a.svs', 'stroma')]}, "
        f"tumor {counts[('a.svs', 'tumor')]})" in lines
    )
    assert f"  {b}: {counts[('b.svs', 'tumor')]} patches (tumor {counts[('b.svs', 'tumor')]})" in (
        lines
    )
    assert labels_by_slide(rows) == {"a.svs": {"stroma", "tumor"}, "b.svs": {"tumor"}}


def test_dry_run_with_no_patch_exits_1(white_slide: Path, tmp_path: Path) -> None:
    result = run_cli("extract", white_slide, "--out", tmp_path / "o", "--dry-run")
    assert result.returncode == 1
    assert f"  {white_slide}: 0 patches: the mask has no tissue" in result.stdout
    assert "no tissue" in result.stderr
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ Ctrl-C while locating
def _group_gone(pgid: int, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and SIGINT")
@pytest.mark.parametrize("procs", ["1", "3"])
def test_ctrl_c_while_locating_prints_one_line_and_exits_130(
    procs: str, two_slides: tuple[Path, Path], white_slide: Path, tmp_path: Path
) -> None:
    a, b = two_slides
    slides = [shutil.copyfile(s, tmp_path / s.name) for s in (a, b, white_slide)]
    # Poisson-disk points 1 px apart on the whole slide: locating a and b takes far longer
    # than this test; the white slide is done at once, so with 3 processes one worker is
    # idle, waiting for work, when Ctrl-C comes.
    command = [sys.executable, "-m", "slidepatch", "extract", *map(str, slides)]
    command += ["--out", str(tmp_path / "o"), "--procs", procs, "--sampling", "poisson"]
    command += ["--spacing", "1", "--foreground-ratio", "0"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "o").exists() and time.monotonic() < deadline:  # made, then locating
        time.sleep(0.05)
    time.sleep(2.0)  # workers and masks started, the white slide done, Poisson sampling running
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: SIGINT to the whole group
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr
    assert stderr.strip().splitlines() == ["slidepatch: interrupted"]
    assert stdout == ""
    assert _group_gone(proc.pid, timeout=10), "worker processes outlived the command"
    assert not list((tmp_path / "o").glob("*.png"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and SIGINT")
def test_ctrl_c_in_the_locate_command_prints_one_line_and_exits_130(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    from worker_faults import descendants

    command = [sys.executable, "-m", "slidepatch", "locate", *map(str, two_slides)]
    command += ["--out", str(tmp_path / "o"), "--coords-format", "csv", "--procs", "2"]
    command += ["--sampling", "poisson", "--spacing", "1", "--foreground-ratio", "0"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while len(descendants(proc.pid)) < 2 and time.monotonic() < deadline:  # both workers up
        time.sleep(0.05)
    time.sleep(2.0)  # masks built, Poisson sampling running in both workers
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip().splitlines() == ["slidepatch: interrupted"]
    assert stdout == ""
    assert _group_gone(proc.pid, timeout=10), "worker processes outlived the command"
    assert not (tmp_path / "o").exists()  # nothing written


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and SIGINT")
def test_ctrl_c_while_writing_patches_prints_one_line_and_exits_130(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "o"
    # ~25,000 tiny overlapping patches per slide: writing takes far longer than this test.
    command = [sys.executable, "-m", "slidepatch", "extract", *map(str, two_slides)]
    command += ["--out", str(out), "--procs", "2", "--threads", "1", "--patch-size", "16"]
    command += ["--stride", "0.5", "--foreground-ratio", "0", "--mask-min-size", "100"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not any(out.glob("*.png")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == ["slidepatch: interrupted"]
    assert _group_gone(proc.pid, timeout=10), "worker processes outlived the command"


@pytest.mark.timeout(60)
def test_a_killed_locating_worker_fails_its_slide_only(
    two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    from worker_faults import KillWorkerOn, workers_left

    from slidepatch import PatchSet
    from slidepatch.cli.locate import Located, LocateJob, locate_all

    victim = tmp_path / "stalled.svs"
    os.mkfifo(victim)  # its worker hangs opening it and is killed from outside
    paths = [str(two_slides[0]), str(victim), str(two_slides[1])]
    jobs = [
        LocateJob(
            slide_path=p,
            sampling="grid",
            patch_size=256,
            level_or_mpp=0,
            foreground_ratio=0.0,
            overlap_ratio=1.0,
        )
        for p in paths
    ]
    seen: list[tuple[int, Located]] = []
    stalled = PatchSet.from_patch_data(slide_path=victim, level_or_mpp=0, patch_data=[])
    with KillWorkerOn(stalled) as killer:
        results = locate_all(jobs, processes=2, on_done=lambda i, r: seen.append((i, r)))
    assert [r.slide_path for r in results] == paths
    assert results[0].patch_set is not None and len(results[0].patch_set) > 0
    assert results[2].patch_set is not None and len(results[2].patch_set) > 0
    assert results[1].patch_set is None and results[1].error is not None
    assert results[1].error.startswith(str(victim))
    assert f"pid {killer.killed}" in results[1].error and "SIGKILL" in results[1].error
    assert sorted(i for i, _ in seen) == [0, 1, 2]
    assert workers_left() == []
