"""AttemptJournal: what an attempt lists before writing, and undoing it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slidepatch import ExtractionError
from slidepatch.extract.attempt import AttemptJournal
from slidepatch.extract.sink import SlideTarget


def _journal(out: Path) -> AttemptJournal:
    target = SlideTarget(output_dir=str(out), slide_path="/s/a.svs", manifest_id="m", wsi_id="a")
    return AttemptJournal(target)


def test_discard_removes_what_the_journal_lists_and_the_journal(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.start(["x.png"])
    journal.extend(["x.png", "shards/y.tar"])
    (path,) = (tmp_path / "manifests").glob(".partial__m__a.json")
    assert json.loads(path.read_text())["paths"] == ["x.png", "shards/y.tar"]
    (tmp_path / "shards").mkdir()
    for rel in ("x.png", "shards/y.tar", "keep.png"):
        (tmp_path / rel).write_bytes(b"1")
    journal.discard()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["keep.png"]


def test_close_drops_only_the_journal(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    journal.start(["x.png"])
    (tmp_path / "x.png").write_bytes(b"1")
    journal.close()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["x.png"]


def test_an_unwritable_output_dir_names_the_slide(tmp_path: Path) -> None:
    (tmp_path / "manifests").write_bytes(b"not a folder")
    with pytest.raises(
        ExtractionError, match=r"a.svs.*cannot write to output_dir.*nothing written"
    ):
        _journal(tmp_path).start(["x.png"])
