"""Files appear complete under their final name or not at all, on both write paths."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from slidepatch.errors import OutputError
from slidepatch.extract import atomic_write
from slidepatch.extract.atomic_write import AtomicFile, write_atomically

PAYLOAD = bytes(range(256)) * 700  # 179,200 bytes, more than one write may take


@pytest.fixture(params=["unnamed", "rename"])
def path_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "rename":  # what macOS, Windows and file systems without O_TMPFILE do
        monkeypatch.setattr(atomic_write, "_linkat", lambda: None)
    return str(request.param)


def test_writes_the_bytes_and_leaves_nothing_else(tmp_path: Path, path_kind: str) -> None:
    target = tmp_path / "patch.png"
    write_atomically(str(target), PAYLOAD)
    assert target.read_bytes() == PAYLOAD
    assert os.listdir(tmp_path) == ["patch.png"]


def test_exclusive_refuses_and_otherwise_replaces(tmp_path: Path, path_kind: str) -> None:
    target = tmp_path / "manifest.txt"
    target.write_bytes(b"old")
    with pytest.raises(OutputError, match="already exists"):
        write_atomically(str(target), PAYLOAD)
    assert target.read_bytes() == b"old"
    write_atomically(str(target), PAYLOAD, exclusive=False)
    assert target.read_bytes() == PAYLOAD
    assert os.listdir(tmp_path) == ["manifest.txt"]


def test_a_missing_directory_fails_cleanly(tmp_path: Path, path_kind: str) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(str(tmp_path / "absent" / "patch.png"), PAYLOAD)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="O_TMPFILE is Linux-only")
def test_linux_uses_no_temporary_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_rename(path: str, data: bytes) -> None:
        raise AssertionError("fell back to a temporary name")

    try:
        os.close(os.open(tmp_path, os.O_TMPFILE | os.O_WRONLY, 0o600))
    except OSError:
        pytest.skip("this file system has no O_TMPFILE")
    monkeypatch.setattr(atomic_write, "_write_temporary_then_rename", no_rename)
    write_atomically(str(tmp_path / "patch.png"), PAYLOAD)
    assert (tmp_path / "patch.png").read_bytes() == PAYLOAD


@pytest.mark.parametrize("unnamed", [True, False])
def test_atomic_file_appears_only_on_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unnamed: bool
) -> None:
    if not unnamed:  # as where O_TMPFILE or /proc is missing: a temporary name, renamed
        monkeypatch.setattr(atomic_write, "_linkat", lambda: None)
    target = tmp_path / "shard.tar"
    f = AtomicFile(str(target))
    f.write(b"a" * 1000)
    f.write(b"b" * 24)
    assert f.size == 1024
    assert not target.exists()
    assert all(not p.name.startswith("shard") for p in tmp_path.iterdir())
    f.commit()
    assert target.read_bytes() == b"a" * 1000 + b"b" * 24
    assert [p.name for p in tmp_path.iterdir()] == ["shard.tar"]
    g = AtomicFile(str(tmp_path / "other.tar"))
    g.write(b"x")
    g.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["shard.tar"]  # nothing left
    h = AtomicFile(str(target))
    h.write(b"new")
    with pytest.raises(OutputError, match="already exists"):
        h.commit()
    assert target.read_bytes().startswith(b"aaa")
    assert [p.name for p in tmp_path.iterdir()] == ["shard.tar"]


@pytest.mark.parametrize("unnamed", [True, False])
def test_atomic_file_writev_keeps_every_piece_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unnamed: bool
) -> None:
    if not unnamed:
        monkeypatch.setattr(atomic_write, "_linkat", lambda: None)
    # more pieces than one writev takes (1024), empty ones, one larger than a page
    pieces = [bytes([k % 251]) * (k % 7) for k in range(3000)] + [PAYLOAD, b"", b"end"]
    target = tmp_path / "shard.tar"
    f = AtomicFile(str(target))
    f.write(b"head")
    f.writev(pieces)
    assert f.size == 4 + sum(len(p) for p in pieces)
    f.commit()
    assert target.read_bytes() == b"head" + b"".join(pieces)
