"""Slide identity: the same file through any path is the same slide; a changed file is not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slidepatch import SlideIdentity, SlideNotFoundError, slide_identity


def test_symlinked_folder_and_relative_path_name_the_same_slide(
    synthetic_svs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "linked"
    link.symlink_to(synthetic_svs.parent, target_is_directory=True)
    direct = slide_identity(synthetic_svs)
    assert slide_identity(link / synthetic_svs.name) == direct
    monkeypatch.chdir(synthetic_svs.parent)
    assert slide_identity(synthetic_svs.name) == direct
    assert slide_identity(f"../{synthetic_svs.parent.name}/{synthetic_svs.name}") == direct
    st = os.stat(synthetic_svs)
    assert direct == SlideIdentity(
        real_path=os.path.realpath(synthetic_svs), size=st.st_size, mtime_ns=st.st_mtime_ns
    )
    assert SlideIdentity.from_dict(direct.as_dict()) == direct
    assert SlideIdentity.from_dict({"path": 1}) is None


def test_a_copy_or_a_changed_file_is_another_identity(synthetic_svs: Path, tmp_path: Path) -> None:
    copy = tmp_path / synthetic_svs.name
    copy.write_bytes(synthetic_svs.read_bytes())
    before = slide_identity(copy)
    assert before.real_path != slide_identity(synthetic_svs).real_path
    os.utime(copy, ns=(0, before.mtime_ns + 10**9))
    assert slide_identity(copy).mtime_ns != before.mtime_ns


def test_missing_slide_names_it(tmp_path: Path) -> None:
    with pytest.raises(SlideNotFoundError, match=r"nope\.svs"):
        slide_identity(tmp_path / "nope.svs")
