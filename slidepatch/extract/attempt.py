"""One extraction attempt's journal, as the encoded sinks keep it (see ``resume.py``).

A sink starts the journal before its first byte, lists every path it is about to create
(more as they become known, e.g. one more shard), drops the journal once the slide's text
manifest is written, and on failure discards what the journal lists.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from slidepatch.errors import ExtractionError
from slidepatch.extract.resume import discard_attempt, write_journal
from slidepatch.extract.sink import SlideTarget


class AttemptJournal:
    """The journal of one slide's attempt at ``target``."""

    def __init__(self, target: SlideTarget) -> None:
        self._output_dir = target.output_dir
        self._slide_path = target.slide_path
        self._manifest_id = target.manifest_id
        self._wsi_id = target.wsi_id
        self._path: str | None = None

    def start(self, rel_paths: Sequence[str], set_dirs: Sequence[str] = ()) -> None:
        """Record what the attempt will create; an error here leaves nothing to undo."""
        self._write(rel_paths, set_dirs, replace=False)

    def extend(self, rel_paths: Sequence[str]) -> None:
        """Replace the list with a longer one (called before the new paths are written)."""
        self._write(rel_paths, (), replace=True)

    def discard(self) -> None:
        """Delete everything the journal lists, then the journal."""
        if self._path is not None:
            discard_attempt(output_dir=self._output_dir, journal=self._path)

    def close(self) -> None:
        """The text manifest now marks the slide complete: the journal goes."""
        if self._path is not None:
            os.unlink(self._path)
            self._path = None

    def _write(self, rel_paths: Sequence[str], set_dirs: Sequence[str], *, replace: bool) -> None:
        try:
            self._path = write_journal(
                output_dir=self._output_dir,
                manifest_id=self._manifest_id,
                slide_path=self._slide_path,
                wsi_id=self._wsi_id,
                rel_paths=rel_paths,
                set_dirs=set_dirs,
                replace=replace,
            )
        except OSError as exc:
            raise ExtractionError(
                self._slide_path,
                f"cannot write to output_dir {self._output_dir}: {type(exc).__name__}: {exc}; "
                "nothing written",
            ) from exc
