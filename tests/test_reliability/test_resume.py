"""Resume: complete slides are skipped, unfinished ones redone, and the output ends exactly
as an uninterrupted run's — no duplicate patch under another manifest id, no leftovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from slidepatch import DiskPatchExtractor, DiskPatchExtractorPool, EarlierRunWarning, PatchSet
from slidepatch.extract.resume import write_journal

Snapshot = dict[str, bytes]


def _pool(sets: list[PatchSet], out: Path, **kw: object) -> DiskPatchExtractorPool:
    out.mkdir(exist_ok=True)
    return DiskPatchExtractorPool(
        patches_pool=sets,
        proc_num_workers=2,
        thread_num_workers=1,
        output_dir=out,
        image_type="png",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def reference(
    small_sets: list[PatchSet],
    tmp_path_factory: pytest.TempPathFactory,
    snapshot: Callable[[Path], Snapshot],
) -> Snapshot:
    """The output of one uninterrupted run over all six slides."""
    out = tmp_path_factory.mktemp("reference") / "out"
    _pool(small_sets, out)
    return snapshot(out)


def test_resume_skips_complete_slides(
    small_sets: list[PatchSet], tmp_path: Path, reference: Snapshot, snapshot: Callable
) -> None:
    out = tmp_path / "out"
    first = _pool(small_sets[:4], out)
    written = {p: os.stat(out / p).st_mtime_ns for p in os.listdir(out) if p.endswith(".png")}
    again = _pool(small_sets, out, resume=True)
    assert again.resumed_slides == [ps.slide_path for ps in small_sets[:4]]
    assert again.pids[:4] == [None] * 4 and None not in again.pids[4:]
    assert again.manifest_ids[:4] == first.manifest_ids[:4]
    assert again.patch_count == sum(len(ps) for ps in small_sets)
    # the complete slides' files were not rewritten
    assert all(os.stat(out / p).st_mtime_ns == t for p, t in written.items())
    assert snapshot(out) == reference


def _simulate_killed_attempt(ps: PatchSet, out: Path, scratch: Path) -> None:
    """What a worker SIGKILLed mid-slide leaves: its journal, some renamed images, a
    temporary file, and the CSV manifest without the text manifest (the marker)."""
    scratch.mkdir()
    done = DiskPatchExtractor(patches=ps, num_workers=1, output_dir=scratch, image_type="png")
    paths = done.written_paths
    write_journal(
        output_dir=str(out),
        manifest_id=done.manifest_id,
        slide_path=ps.slide_path,
        rel_paths=paths,
        set_dirs=[],
    )
    for rel in paths[: len(paths) // 2]:
        os.replace(scratch / rel, out / rel)
    (out / f".{paths[-1]}.0123abcd.tmp").write_bytes(b"\x89PNG truncated")
    _txt, csv = done.manifest_paths
    os.replace(csv, out / "manifests" / os.path.basename(csv))


def test_resume_redoes_an_interrupted_slide_without_duplicates(
    small_sets: list[PatchSet],
    tmp_path: Path,
    reference: Snapshot,
    snapshot: Callable,
    find_leftovers: Callable,
) -> None:
    out = tmp_path / "out"
    _pool(small_sets[:3], out)
    _simulate_killed_attempt(small_sets[3], out, tmp_path / "scratch")
    assert find_leftovers(out)  # the simulated crash is visible
    pool = _pool(small_sets, out, resume=True)
    assert pool.resumed_slides == [ps.slide_path for ps in small_sets[:3]]
    assert find_leftovers(out) == []
    assert snapshot(out) == reference


def test_resume_redoes_a_slide_whose_files_were_deleted(
    small_sets: list[PatchSet], tmp_path: Path, snapshot: Callable
) -> None:
    out = tmp_path / "out"
    first = _pool(small_sets[:2], out)
    expected = snapshot(out)
    victim = next(p for p in os.listdir(out) if p.endswith(".png") and "slide1" in p)
    os.unlink(out / victim)
    again = _pool(small_sets[:2], out, resume=True)
    assert again.resumed_slides == [small_sets[0].slide_path]
    assert again.manifest_ids[1] != first.manifest_ids[1]
    # the stale manifest and the rest of its files are gone: one copy of each patch
    assert snapshot(out) == expected


_CHILD = """
import json, sys
from slidepatch import DiskPatchExtractorPool, PatchSet
spec = json.loads(sys.argv[1])
sets = [PatchSet.from_patch_data(slide_path=p, level_or_mpp=0, patch_data=spec["data"])
        for p in spec["slides"]]
DiskPatchExtractorPool(patches_pool=sets, proc_num_workers=2, thread_num_workers=1,
                       output_dir=spec["out"], image_type="png")
"""


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return kids


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_half_way(small_sets: list[PatchSet], out: Path) -> list[str]:
    """Run a pool over every slide in a child process, SIGKILL it once a slide is finished;
    return the finished slides' text manifests."""
    out.mkdir()
    spec = {
        "slides": [ps.slide_path for ps in small_sets],
        "data": _plain(small_sets[0]),
        "out": str(out),
    }
    child = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(spec)])
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    manifests = out / "manifests"
    while time.monotonic() < deadline and child.poll() is None:
        workers |= set(_children(child.pid))
        if manifests.is_dir() and any(n.endswith(".txt") for n in os.listdir(manifests)):
            break
        time.sleep(0.005)
    workers |= set(_children(child.pid))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    # orphaned workers notice the dead parent and exit at once, even mid-slide
    stop = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < stop:
        time.sleep(0.02)
    assert not any(_alive(w) for w in workers)
    done = [n for n in os.listdir(manifests) if n.endswith(".txt")]
    assert 1 <= len(done) < len(small_sets)
    return done


@pytest.mark.timeout(90)
def test_parent_sigkilled_half_way_then_resumed(
    small_sets: list[PatchSet],
    tmp_path: Path,
    reference: Snapshot,
    snapshot: Callable,
    find_leftovers: Callable,
) -> None:
    out = tmp_path / "out"
    done = _kill_half_way(small_sets, out)
    pool = _pool(small_sets, out, resume=True)
    assert len(pool.resumed_slides) == len(done)
    assert find_leftovers(out) == []
    assert snapshot(out) == reference


@pytest.mark.timeout(90)
def test_sigkilled_then_plain_rerun_warns_and_overwrite_cleans_up(
    small_sets: list[PatchSet],
    tmp_path: Path,
    reference: Snapshot,
    snapshot: Callable,
    find_leftovers: Callable,
) -> None:
    out = tmp_path / "out"
    done = _kill_half_way(small_sets, out)
    with pytest.warns(EarlierRunWarning, match=f"{len(done)} finished extraction") as caught:
        _pool(small_sets, out)  # the reference's default: beside the old files, but said
    assert len(caught) == 1
    if find_leftovers(out):
        assert "unfinished attempt" in str(caught[0].message)
    pool = _pool(small_sets, out, overwrite=True)
    assert len(pool.replaced_manifest_ids) == len(done) + len(small_sets)
    assert find_leftovers(out) == []
    assert snapshot(out) == reference


def _plain(ps: PatchSet) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    return [((int(x), int(y)), (int(w), int(h)), lab) for (x, y), (w, h), lab in ps.patch_data]
