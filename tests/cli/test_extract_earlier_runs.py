"""``slidepatch extract`` into a folder that holds earlier runs, driven in a subprocess:
a plain rerun refuses, ``--overwrite`` replaces, ``--resume`` compares fingerprints (and
finds slides through other paths), a crashed run is never kept silently, a slide listed
twice is extracted once, and ``slidepatch demo`` replaces its own output."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slidepatch.testing import write_synthetic_slide

FAST = ("--procs", "1", "--threads", "2", "--patch-size", "128", "--foreground-ratio", "0.5")


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slidepatch", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slidepatch: error: "), result.stderr
    return lines[0]


def images(out: Path) -> list[str]:
    """Image files under ``out`` with manifest ids blanked (what differs between runs)."""
    return sorted(
        re.sub(r"_[a-z0-9]{8}_", "_ID_", str(p.relative_to(out)))
        for p in out.rglob("*")
        if p.is_file() and p.suffix in (".png", ".jpg") and "manifests" not in p.parts
    )


def manifests(out: Path) -> list[str]:
    return sorted(os.listdir(out / "manifests"))


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six 1024x768 SVS slides (levels 1/4), different tissue each."""
    root = tmp_path_factory.mktemp("cli_earlier_slides")
    return [
        write_synthetic_slide(
            root / f"s{i}.svs", width=1024, height=768, downsamples=(1, 4), seed=40 + i
        )
        for i in range(6)
    ]


@pytest.fixture(scope="module")
def finished(slides: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean run over the first slide, to copy into each test's folder."""
    out = tmp_path_factory.mktemp("cli_earlier_out") / "out"
    result = run_cli("extract", slides[0], "--out", out, *FAST)
    assert result.returncode == 0, result.stderr
    return out


def copy_of(src: Path, dest: Path) -> Path:
    subprocess.run(["cp", "-a", str(src), str(dest)], check=True)
    return dest


def test_a_plain_rerun_refuses_and_writes_nothing(
    slides: list[Path], finished: Path, tmp_path: Path
) -> None:
    out = copy_of(finished, tmp_path / "out")
    before = sorted(p.name for p in out.rglob("*"))
    line = one_line_error(run_cli("extract", slides[0], "--out", out, *FAST))
    assert "already holds 1 finished extraction of s0.svs" in line
    assert "--resume" in line and "--overwrite" in line
    assert sorted(p.name for p in out.rglob("*")) == before
    # other slides in the same folder are fine
    other = run_cli("extract", slides[1], "--out", out, *FAST)
    assert other.returncode == 0, other.stderr


def test_overwrite_replaces_exactly_the_earlier_files(
    slides: list[Path], finished: Path, tmp_path: Path
) -> None:
    out = copy_of(finished, tmp_path / "out")
    clean = images(out)
    (out / "mine.png").write_bytes(b"not a patch")
    result = run_cli("extract", slides[0], "--out", out, *FAST, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert "1 earlier slide extractions were removed" in result.stdout
    assert images(out) == sorted([*clean, "mine.png"])
    assert len(manifests(out)) == 3  # one text, CSV and fingerprint file


@pytest.mark.parametrize(
    ("first", "then", "expected"),
    [
        (["--seed", "1"], ["--seed", "2"], "seed=1, now seed=2"),
        (
            ["--seed", "1"],
            ["--seed", "1", "--image-type", "jpg"],
            "image_type=png, now image_type=jpg",
        ),
        (
            ["--label", "t"],
            ["--label", "t", "--subdirs"],
            "create_subdirs=False, now create_subdirs=True",
        ),
        (["--label", "t"], ["--label", "u"], "weak_label=t, now weak_label=u"),
    ],
)
def test_resume_with_another_parameter_is_an_error(
    slides: list[Path], tmp_path: Path, first: list[str], then: list[str], expected: str
) -> None:
    out = tmp_path / "out"
    sampling = ("--sampling", "random", "--num-patches", "4")
    done = run_cli("extract", slides[0], "--out", out, *FAST, *sampling, *first)
    assert done.returncode == 0, done.stderr
    before = sorted(p.name for p in out.rglob("*"))
    line = one_line_error(
        run_cli("extract", slides[0], "--out", out, *FAST, *sampling, "--resume", *then)
    )
    assert f"s0.svs: finished earlier with {expected}" in line
    assert line.endswith("use --overwrite or another --out")
    assert sorted(p.name for p in out.rglob("*")) == before


def test_resume_through_a_symlinked_folder(
    slides: list[Path], finished: Path, tmp_path: Path
) -> None:
    out = copy_of(finished, tmp_path / "out")
    clean = images(out)
    link = tmp_path / "linked"
    link.symlink_to(slides[0].parent, target_is_directory=True)
    result = run_cli("extract", "linked/s0.svs", "--out", out, *FAST, "--resume", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 slides were already complete" in result.stdout
    assert images(out) == clean and len(manifests(out)) == 3


def test_a_slide_listed_twice_is_extracted_once(slides: list[Path], tmp_path: Path) -> None:
    link = tmp_path / "linked"
    link.symlink_to(slides[0].parent, target_is_directory=True)
    out = tmp_path / "out"
    result = run_cli("extract", slides[0], link / "s0.svs", slides[0], "--out", out, *FAST)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("is listed twice") == 2
    assert "extracting it once" in result.stderr
    assert len(manifests(out)) == 3
    assert "from 1 of 1 slides" in result.stdout


def _wait_for_first_manifest(child: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if folder.is_dir() and any(n.endswith(".txt") for n in os.listdir(folder)):
            return
        time.sleep(0.005)


@pytest.mark.timeout(120)
def test_killed_run_then_rerun(slides: list[Path], tmp_path: Path) -> None:
    args = ("--procs", "2", "--threads", "1", "--patch-size", "64", "--foreground-ratio", "0")
    clean = tmp_path / "clean"
    done = run_cli("extract", *slides, "--out", clean, *args, "--quiet")
    assert done.returncode == 0, done.stderr

    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-m", "slidepatch", "extract", *map(str, slides), "--out", str(out),
         *args, "--quiet"],
        start_new_session=True,
    )  # fmt: skip
    _wait_for_first_manifest(child, out / "manifests")
    os.killpg(child.pid, signal.SIGKILL)  # the command and every worker: nothing tidies up
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    finished = [n for n in manifests(out) if n.endswith(".txt")]
    assert 1 <= len(finished) < len(slides)

    line = one_line_error(run_cli("extract", *slides, "--out", out, *args))
    assert "already holds" in line
    if any(n.startswith(".partial__") for n in manifests(out)):
        assert "unfinished attempt" in line

    resumed = run_cli("extract", *slides, "--out", out, *args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(finished)} slides were already complete" in resumed.stdout
    assert images(out) == images(clean)
    assert len(manifests(out)) == len(manifests(clean)) == 3 * len(slides)
    left = [p.name for p in out.rglob("*") if p.name.endswith(".tmp") or ".partial__" in p.name]
    assert left == []


def test_demo_twice_replaces_its_own_output(tmp_path: Path) -> None:
    first = run_cli("demo", "--out", "demo-out", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "demo-out"
    once = images(out)
    again = run_cli("demo", "--out", "demo-out", "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert images(out) == once
    assert len([n for n in manifests(out) if n.endswith(".txt")]) == 1


def test_resume_and_overwrite_exclude_each_other(slides: list[Path], tmp_path: Path) -> None:
    result = run_cli("extract", slides[0], "--out", tmp_path / "o", "--resume", "--overwrite")
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr
    assert not (tmp_path / "o").exists()
