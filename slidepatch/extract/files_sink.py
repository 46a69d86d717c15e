"""Per-patch files: each image under its planned path below ``output_dir``.

Layout: the names planned by the extractor (``naming.py``), per-label folders with
``create_subdirs``, one folder per multi-resolution set. Set folders that exist already are
refused (outside pool mode) before anything is written; the journal lists every file and
set folder before the first image; each image appears under its name only when complete
(``atomic_write``), and :meth:`FilesSink.finish` checks that every one is there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from slidepatch.errors import ExtractionError, OutputError
from slidepatch.extract.atomic_write import write_atomically
from slidepatch.extract.attempt import AttemptJournal
from slidepatch.extract.manifest import WrittenPatch
from slidepatch.extract.resume import MANIFEST_DIR
from slidepatch.extract.sink import EncodedPatch, SinkOutputs, SlideTarget


class FilesSink:
    """Writes each image as a file, from the reading threads (groups land in their slots,
    so the records come out in patch order)."""

    ordered = False

    def __init__(
        self,
        target: SlideTarget,
        *,
        rel_paths: Sequence[str],
        set_dirs: Sequence[str],
        label_dirs: Sequence[str],
        groups: int,
        pool_mode: bool,
    ) -> None:
        self._output_dir = target.output_dir
        self._slide_path = target.slide_path
        self._qc_columns = target.qc_columns
        self._rel_paths = list(rel_paths)
        self._set_dirs = list(set_dirs)
        self._label_dirs = list(label_dirs)
        self._pool_mode = pool_mode
        self._done: list[list[WrittenPatch]] = [[] for _ in range(groups)]
        self._journal = AttemptJournal(target)

    def destination(self, rel_path: str) -> str:
        return os.path.join(self._output_dir, rel_path)

    def start(self) -> None:
        if not self._pool_mode:
            for rel in self._set_dirs:
                if os.path.exists(os.path.join(self._output_dir, rel)):
                    raise OutputError(
                        f"{self._slide_path}: patch-set directory {rel} already exists in "
                        f"{self._output_dir} (set numbers must be unique); nothing written"
                    )
        self._journal.start(self._rel_paths, self._set_dirs)
        try:
            self._make_dirs()
        except BaseException:
            self.abort()
            raise

    def _make_dirs(self) -> None:
        os.makedirs(os.path.join(self._output_dir, MANIFEST_DIR), exist_ok=True)
        for label in self._label_dirs:
            os.makedirs(os.path.join(self._output_dir, label), exist_ok=True)
        for rel in self._set_dirs:
            full = os.path.join(self._output_dir, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            try:
                os.mkdir(full)
            except FileExistsError:
                if not self._pool_mode:
                    raise OutputError(
                        f"{self._slide_path}: patch-set directory {full} already "
                        "exists (set numbers must be unique in an output directory)"
                    ) from None

    def add(self, group: int, patches: Sequence[EncodedPatch]) -> None:
        for patch in patches:
            w = patch.record
            full = os.path.join(self._output_dir, w.path)
            try:
                write_atomically(full, patch.data, exclusive=False)
            except Exception as exc:
                raise ExtractionError(
                    self._slide_path,
                    f"patch {w.patch_index} at level-0 {(w.x_level0, w.y_level0)}: writing "
                    f"{full}: {type(exc).__name__}: {exc}",
                ) from exc
        self._done[group] = [p.record for p in patches]

    def finish(self, *, expected: int) -> SinkOutputs:
        written = [w for group in self._done for w in group]
        missing = [
            w.path for w in written if not os.path.isfile(os.path.join(self._output_dir, w.path))
        ]
        if len(written) != expected or missing:
            raise OutputError(
                f"{self._slide_path}: expected {expected} files, wrote "
                f"{len(written)}; missing after writing: {missing[:5]}"
            )
        return SinkOutputs(
            records=written,
            extra_columns=self._qc_columns,
            extra_values=[() if w.qc is None else w.qc.values() for w in written],
            saved_rel_paths=[w.path for w in written],
        )

    def abort(self) -> None:
        self._journal.discard()

    def close(self) -> None:
        self._journal.close()
