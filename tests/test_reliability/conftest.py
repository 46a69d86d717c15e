"""Fixtures for the reliability tests: small synthetic slides, their grid PatchSets, and a
snapshot of an output directory that ignores what legitimately differs between runs
(random manifest ids, dates, the output directory's own path)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from slidepatch import PatchSet
from slidepatch.testing import write_synthetic_slide

Snapshot = dict[str, bytes]

_MANIFEST_NAME = re.compile(r"^\.?(?:manifest|partial)__([a-z0-9]{8})__")


@pytest.fixture(scope="session")
def small_slides(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six 1024x768 SVS slides (levels 1/4, 0.25 µm/px), different tissue each."""
    root = tmp_path_factory.mktemp("reliability_slides")
    return [
        write_synthetic_slide(
            root / f"slide{i}.svs", width=1024, height=768, downsamples=(1, 4), seed=20 + i
        )
        for i in range(6)
    ]


def grid(path: Path | str, *, size: int = 64, step: int = 96) -> PatchSet:
    """A grid of patches over a 1024x768 slide, labels alternating 'a'/'b'."""
    data = []
    for k, (y, x) in enumerate(
        (y, x) for y in range(0, 768 - size, step) for x in range(0, 1024 - size, step)
    ):
        data.append(((x, y), (size, size), "ab"[k % 2]))
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=0, patch_data=data)


@pytest.fixture(scope="session")
def small_sets(small_slides: list[Path]) -> list[PatchSet]:
    return [grid(p) for p in small_slides]


def output_snapshot(out: Path) -> Snapshot:
    """Every file under ``out`` (hidden ones included) -> its bytes, normalised.

    Manifest ids become ``ID`` in names and contents; in manifests the output directory
    becomes ``OUT`` and the creation date line is dropped.
    """
    ids: set[str] = set()
    files: list[str] = []
    for folder, _, names in os.walk(out):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), out)
            files.append(rel)
            found = _MANIFEST_NAME.match(name)
            if found:
                ids.add(found.group(1))
    pattern = re.compile("|".join(sorted(ids))) if ids else None
    real_out = os.path.realpath(out)
    snap: Snapshot = {}
    for rel in files:
        data = (out / rel).read_bytes()
        if "manifests" in Path(rel).parts:
            text = data.decode("utf-8").replace(real_out, "OUT").replace(str(out), "OUT")
            text = "\n".join(ln for ln in text.split("\n") if not ln.startswith("Date created"))
            data = (pattern.sub("ID", text) if pattern else text).encode("utf-8")
        snap[pattern.sub("ID", rel) if pattern else rel] = data
    return snap


@pytest.fixture(scope="session")
def snapshot() -> Callable[[Path], Snapshot]:
    return output_snapshot


def leftovers(out: Path) -> list[str]:
    """Temporary files and journals under ``out`` (must be none after any run)."""
    bad = []
    for folder, _, names in os.walk(out):
        for name in names:
            if name.endswith(".tmp") or name.startswith(".partial__"):
                bad.append(os.path.relpath(os.path.join(folder, name), out))
    return bad


@pytest.fixture(scope="session")
def find_leftovers() -> Callable[[Path], list[str]]:
    return leftovers
