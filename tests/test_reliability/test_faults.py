"""Faults during a disk pool run: each ends in a clear error naming the slide (or a clean
skip), with no hang, no temporary file, no journal, no /dev/shm segment, no manifest for
the failed slide and no image under a final name that is truncated or unlisted."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from worker_faults import KillWorkerOn, stalled_copy

from slidepatch import (
    DiskPatchExtractorPool,
    MultiResDiskPatchExtractorPool,
    PatchSet,
    SlideError,
    SlideNotFoundError,
    WorkerDiedError,
)
from slidepatch.pools._shm import block_name_prefix


@pytest.fixture(autouse=True)
def no_shm_leak() -> Iterator[None]:
    before = {n for n in os.listdir("/dev/shm") if n.startswith(block_name_prefix())}
    yield
    after = {n for n in os.listdir("/dev/shm") if n.startswith(block_name_prefix())}
    assert after <= before, f"shared memory left behind: {sorted(after - before)}"


def assert_clean(out: Path, find_leftovers: Callable[[Path], list[str]]) -> set[str]:
    """No leftovers; every image is listed by a complete manifest and decodes fully.
    Returns the slide paths that have a complete manifest."""
    assert find_leftovers(out) == []
    listed: set[str] = set()
    slides: set[str] = set()
    manifests = out / "manifests"
    for name in os.listdir(manifests) if manifests.is_dir() else []:
        if name.endswith(".csv"):
            assert (manifests / (name[:-4] + ".txt")).is_file(), f"{name} has no text manifest"
            with open(manifests / name, newline="") as f:
                for row in csv.DictReader(f):
                    listed.add(row["path"])
                    slides.add(row["slide_path"])
    images = {
        os.path.relpath(os.path.join(d, n), out)
        for d, _, names in os.walk(out)
        for n in names
        if not os.path.relpath(d, out).startswith("manifests")
    }
    assert images == listed
    for rel in images:
        with Image.open(out / rel) as im:
            im.load()
    return slides


def _run(sets: list[PatchSet], out: Path, **kw: object) -> DiskPatchExtractorPool:
    out.mkdir(exist_ok=True)
    return DiskPatchExtractorPool(
        patches_pool=sets,
        proc_num_workers=2,
        thread_num_workers=2,
        output_dir=out,
        image_type="png",
        **kw,  # type: ignore[arg-type]
    )


def _whole(path: Path | str, size: int = 8, extent: int = 16) -> PatchSet:
    data = [
        ((x, y), (size, size), "a") for y in range(0, extent, size) for x in range(0, extent, size)
    ]
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=0, patch_data=data)


def _check_bad_slide(
    bad: PatchSet,
    error: type[BaseException],
    words: list[str],
    good: list[PatchSet],
    tmp_path: Path,
    find_leftovers: Callable,
) -> None:
    """The bad slide raises ``error`` naming it; with skip, the good slides complete."""
    with pytest.raises(error) as info:
        _run([good[0], bad], tmp_path / "raise")
    assert isinstance(info.value, SlideError) and info.value.path == bad.slide_path
    for word in words:
        assert word in str(info.value)
    assert bad.slide_path not in assert_clean(tmp_path / "raise", find_leftovers)

    pool = _run([good[0], bad, good[1]], tmp_path / "skip", on_error="skip")
    assert list(pool.failed_slides) == [bad.slide_path]
    assert isinstance(pool.failed_slides[bad.slide_path], error)
    assert pool.manifest_ids[1] is None and pool.pids[1] is None
    assert pool.patch_count == len(good[0]) + len(good[1])
    done = assert_clean(tmp_path / "skip", find_leftovers)
    assert done == {good[0].slide_path, good[1].slide_path}


def test_corrupt_tile(
    data_dir: Path, small_sets: list[PatchSet], tmp_path: Path, find_leftovers: Callable
) -> None:
    bad = _whole(data_dir / "unreadable.svs")
    _check_bad_slide(
        bad, SlideError, ["unreadable.svs", "patch"], small_sets, tmp_path, find_leftovers
    )


def test_unopenable_file(
    data_dir: Path, small_sets: list[PatchSet], tmp_path: Path, find_leftovers: Callable
) -> None:
    bad = _whole(data_dir / "unopenable.tiff")
    _check_bad_slide(bad, SlideError, ["unopenable.tiff"], small_sets, tmp_path, find_leftovers)


def test_truncated_file(
    small_slides: list[Path], small_sets: list[PatchSet], tmp_path: Path, find_leftovers: Callable
) -> None:
    data = small_slides[0].read_bytes()
    cut = tmp_path / "truncated.svs"
    cut.write_bytes(data[: len(data) // 2])
    bad = _whole(cut, size=128, extent=768)
    _check_bad_slide(bad, SlideError, ["truncated.svs"], small_sets, tmp_path, find_leftovers)


def test_slide_deleted_after_locations(
    small_slides: list[Path], small_sets: list[PatchSet], tmp_path: Path, find_leftovers: Callable
) -> None:
    copy = tmp_path / "deleted.svs"
    shutil.copy(small_slides[0], copy)
    bad = PatchSet.from_patch_data(
        slide_path=copy, level_or_mpp=0, patch_data=small_sets[0].patch_data
    )
    copy.unlink()
    _check_bad_slide(bad, SlideNotFoundError, ["deleted.svs"], small_sets, tmp_path, find_leftovers)


def test_killed_worker_skipped_in_disk_pool(
    small_sets: list[PatchSet], tmp_path: Path, find_leftovers: Callable
) -> None:
    # (raising on a killed worker is covered in tests/pools/test_pools_faults.py)
    victim = stalled_copy(small_sets[1], tmp_path / "stalled")
    with KillWorkerOn(victim):
        pool = _run([small_sets[0], victim, small_sets[2]], tmp_path / "out", on_error="skip")
    assert list(pool.failed_slides) == [victim.slide_path]
    assert isinstance(pool.failed_slides[victim.slide_path], WorkerDiedError)
    done = assert_clean(tmp_path / "out", find_leftovers)
    assert done == {small_sets[0].slide_path, small_sets[2].slide_path}


# A child process for faults that need other process limits or another user.
_CHILD = """
import json, os, resource, signal, sys
from slidepatch import DiskPatchExtractorPool, PatchSet
spec = json.loads(sys.argv[1])
if spec.get("fsize"):  # a full disk: writes past this size fail with EFBIG
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (spec["fsize"], spec["fsize"]))
if spec.get("user"):  # load what workers use while the (root-only) install is readable
    import multiprocessing.popen_fork
    from slidepatch import DiskPatchExtractor, Slide
    with Slide.open(spec["slides"][0]) as slide:
        patch = slide.read_region((0, 0), 0, (8, 8))
    from slidepatch.extract.encoders import DEFAULT_JPEG_QUALITY, PatchEncoder
    PatchEncoder.create(image_type="png", jpeg_quality=DEFAULT_JPEG_QUALITY,
                        png_compression=None).encode(patch)
    os.setgid(65534)
    os.setuid(65534)
sets = [PatchSet.from_patch_data(slide_path=p, level_or_mpp=0, patch_data=spec["data"])
        for p in spec["slides"]]
try:
    DiskPatchExtractorPool(patches_pool=sets, proc_num_workers=2, thread_num_workers=2,
                           output_dir=spec["out"], image_type="png",
                           create_subdirs=spec.get("subdirs", False))
except Exception as exc:
    print(json.dumps({"type": type(exc).__name__, "path": getattr(exc, "path", None),
                      "message": str(exc)}))
else:
    print(json.dumps({"type": None}))
"""


def _child(spec: dict[str, object]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _plain(ps: PatchSet) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    return [((int(x), int(y)), (int(w), int(h)), lab) for (x, y), (w, h), lab in ps.patch_data]


@pytest.mark.timeout(60)
def test_full_disk(small_slides: list[Path], tmp_path: Path, find_leftovers: Callable) -> None:
    out = tmp_path / "out"
    out.mkdir()
    data = [((x, 0), (256, 256), "a") for x in range(0, 768, 256)]
    result = _child(
        {"slides": [str(small_slides[0])], "data": data, "out": str(out), "fsize": 20_000}
    )
    assert result["type"] == "ExtractionError" and result["path"] == str(small_slides[0])
    assert "File too large" in str(result["message"]) and "writing" in str(result["message"])
    assert assert_clean(out, find_leftovers) == set()


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can enter (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="slidepatch-perm-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.timeout(60)
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_permission_denied(
    small_slides: list[Path], shared_dir: Path, find_leftovers: Callable
) -> None:
    slide = shared_dir / "slide.svs"
    shutil.copy(small_slides[0], slide)
    slide.chmod(0o644)
    data = [((0, 0), (64, 64), "a"), ((64, 0), (64, 64), "b")]
    # output_dir itself not writable: refused before any work starts
    locked = shared_dir / "locked"
    locked.mkdir(mode=0o555)
    locked.chmod(0o555)
    result = _child({"slides": [str(slide)], "data": data, "out": str(locked), "user": True})
    assert result["type"] == "OutputError"
    assert str(locked) in str(result["message"]) and "not writable" in str(result["message"])
    assert os.listdir(locked) == []
    # a label directory not writable: the slide fails naming the file; nothing half-written
    out = shared_dir / "out"
    out.mkdir()
    out.chmod(0o777)
    (out / "manifests").mkdir(mode=0o777)
    (out / "manifests").chmod(0o777)
    (out / "a").mkdir(mode=0o777)
    (out / "a").chmod(0o777)
    (out / "b").mkdir(mode=0o555)
    (out / "b").chmod(0o555)
    result = _child(
        {"slides": [str(slide)], "data": data, "out": str(out), "user": True, "subdirs": True}
    )
    assert result["type"] == "ExtractionError" and result["path"] == str(slide), result
    assert "Permission denied" in str(result["message"])
    assert assert_clean(out, find_leftovers) == set()


@pytest.mark.timeout(60)
def test_ctrl_c_in_parent(
    small_sets: list[PatchSet], tmp_path: Path, find_leftovers: Callable
) -> None:
    stalled = stalled_copy(small_sets[2], tmp_path / "stalled")  # its worker hangs
    out = tmp_path / "out"
    out.mkdir()
    timer = threading.Timer(1.5, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            MultiResDiskPatchExtractorPool(
                patches_pool=[*small_sets[:2], stalled, *small_sets[3:]],
                levels_or_mpps=[0, 1],
                proc_num_workers=2,
                thread_num_workers=1,
                output_dir=out,
                image_type="png",
            )
    finally:
        timer.cancel()
    assert time.monotonic() - started < 15
    assert_clean(out, find_leftovers)
