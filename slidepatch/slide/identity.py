"""Which file a slide path really is: its real path, size and modification time.

Two paths name the same slide when they resolve to the same real path (a symlinked
folder, a relative path, ``..``); the size and modification time say whether the file is
still the one an earlier run read. Output code (manifests, resume, duplicate checks, the
command line) compares slides through this value, never through the path string given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from os import PathLike, fspath

from slidepatch.errors import SlideNotFoundError


def real_slide_path(path: str | PathLike[str]) -> str:
    """The absolute path with every symlink resolved (no file access beyond ``realpath``)."""
    return os.path.realpath(fspath(path))


@dataclass(frozen=True)
class SlideIdentity:
    """One slide file: ``real_path`` identifies it; ``size``/``mtime_ns`` date its content."""

    real_path: str
    size: int
    mtime_ns: int

    def as_dict(self) -> dict[str, str | int]:
        """JSON-ready form (``path``, ``size``, ``mtime_ns``)."""
        return {"path": self.real_path, "size": self.size, "mtime_ns": self.mtime_ns}

    @classmethod
    def from_dict(cls, record: object) -> SlideIdentity | None:
        """Read :meth:`as_dict`'s form back; None when it is not one."""
        if not isinstance(record, dict):
            return None
        path, size, mtime = record.get("path"), record.get("size"), record.get("mtime_ns")
        if not isinstance(path, str) or not isinstance(size, int) or not isinstance(mtime, int):
            return None
        return cls(real_path=path, size=size, mtime_ns=mtime)


def slide_identity(path: str | PathLike[str]) -> SlideIdentity:
    """The identity of the slide file at ``path`` (``SlideNotFoundError`` if there is none)."""
    real = real_slide_path(path)
    try:
        st = os.stat(real)
        if os.path.isdir(real):  # a DICOM series folder: its files date it
            files = [e.stat() for e in os.scandir(real) if e.is_file()]
            size = sum(int(f.st_size) for f in files)
            mtime = max([int(f.st_mtime_ns) for f in files], default=int(st.st_mtime_ns))
            return SlideIdentity(real_path=real, size=size, mtime_ns=mtime)
    except OSError as exc:
        raise SlideNotFoundError(fspath(path), f"cannot stat the slide file: {exc}") from exc
    return SlideIdentity(real_path=real, size=int(st.st_size), mtime_ns=int(st.st_mtime_ns))
