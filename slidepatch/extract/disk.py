"""Disk extractors: write one slide's patches, encoded, to a sink, plus its manifests.

The extractor validates its parameters, plans the jobs (file names, multi-resolution sets),
gates them (``qc=`` filters, artifact and tissue masks), reads or passes through, scores
and encodes each, and hands the kept ones to an :class:`~slidepatch.extract.sink.EncodedSink`:
per-patch files (``files_sink.py``) or tar shards (``shard_sink.py``), which owns the
output's layout, journal and undoing. Everything that can be checked is checked before the
first byte is written: the output directory, the image type, labels/comments/separator
(nothing may land outside ``output_dir``), unique output paths, and set directories that
must not exist yet. The manifests are written last, in commit order (fingerprint, index,
CSV, text manifest), so a crash never leaves a manifest listing outputs that do not exist.
The text manifest marks a slide complete; the journal a sink writes before its first byte
lets a failed or killed attempt be undone (see ``resume.py``).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from os import PathLike, fspath
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.errors import ExtractionError, OutputError, SlideError
from slidepatch.extract.atomic_write import write_atomically
from slidepatch.extract.base import PatchExtractorBase
from slidepatch.extract.encoders import DEFAULT_JPEG_QUALITY, PatchEncoder
from slidepatch.extract.files_sink import FilesSink
from slidepatch.extract.fingerprint import (
    FINGERPRINT_SUFFIX,
    Fingerprint,
    disk_fingerprint,
    encode_fingerprint,
    output_options,
)
from slidepatch.extract.manifest import (
    WrittenPatch,
    format_csv_manifest,
    format_text_manifest,
    manifest_base_name,
)
from slidepatch.extract.multires import check_resolutions, multires_locations
from slidepatch.extract.naming import (
    check_directory_name,
    check_name_part,
    check_separator,
    ensure_inside,
    new_manifest_id,
    patch_file_name,
    relative_dir,
    set_dir_name,
    wsi_id_for,
)
from slidepatch.extract.ordered import run_in_order
from slidepatch.extract.passthrough import check_jpeg_passthrough, passthrough_jpeg
from slidepatch.extract.qc import (
    QC_COLUMNS,
    QC_REASONS,
    QcFilter,
    decode_rgb,
    qc_scores,
    with_artifact_default,
)
from slidepatch.extract.qc_batch import QcBatch, Scores, is_scored, read_ahead_count
from slidepatch.extract.reader import read_one_patch
from slidepatch.extract.resume import MANIFEST_DIR as MANIFEST_DIR  # re-exported
from slidepatch.extract.shard_sink import ShardSink
from slidepatch.extract.shards import (
    DEFAULT_SHARD_MAXCOUNT,
    DEFAULT_SHARD_MAXSIZE,
    MemberPlace,
    check_output_format,
    check_shard_limits,
    require_pyarrow,
)
from slidepatch.extract.sink import EncodedPatch, EncodedSink, SlideTarget
from slidepatch.extract.threads import run_on_threads
from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.masks import load_mask
from slidepatch.resolution import Resolution
from slidepatch.slide.buffers import ScratchBuffers
from slidepatch.slide.identity import slide_identity
from slidepatch.slide.slide import ReadPlan, ResamplingMode, Slide


@dataclass(frozen=True)
class _Job:
    """One file to write: which patch, where it is read, where it goes."""

    rel_path: str
    patch_index: int
    x: int
    y: int
    resolution: Resolution
    set_id: str
    qc_gate: bool = False  # the qc= filters judge this job (the first of its group)


class _Dropped(Exception):
    """A ``qc=`` filter dropped the patch (or set) before it was encoded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_output_labels(*, patch_set: PatchSet, create_subdirs: bool) -> None:
    """Reject labels that cannot appear in a file name, or as a folder with ``create_subdirs``.

    ``patch_set`` is the label-filtered set. Pools call this in the parent for every slide
    before any worker starts, so a bad label fails the run before anything is written.
    """
    path = patch_set.slide_path
    for label in sorted(set(patch_set.labels) | set(patch_set.patch_labels)):
        check_name_part(label, what="label", slide_path=path)
    if create_subdirs:
        for label in patch_set.patch_labels:
            check_directory_name(label, what="label", slide_path=path)


def check_output_dir(output_dir: object) -> str:
    if not isinstance(output_dir, (str, PathLike)):
        raise TypeError(f"output_dir must be a path, got {output_dir!r}")
    path = fspath(output_dir)
    if not isinstance(path, str):
        raise TypeError(f"output_dir must be a str path, got {output_dir!r}")
    if not os.path.exists(path):
        raise OutputError(f"output_dir {path} does not exist")
    if not os.path.isdir(path):
        raise OutputError(f"output_dir {path} is not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"output_dir {path} is not writable (permission denied)")
    return path


def check_global_counter(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"global_counter must be an int >= 0 or None, got {value!r}")
    if int(value) < 0:
        raise ValueError(f"global_counter must be >= 0, got {value!r}")
    return int(value)


class _DiskBase(PatchExtractorBase):
    """Shared run sequence of the disk extractors; subclasses say which files to write."""

    def __init__(
        self,
        *,
        patches: object,
        num_workers: int,
        output_dir: str | PathLike[str],
        image_type: str,
        mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        filename_comment: str = "",
        filename_separator: str = "_",
        create_subdirs: bool = False,
        pool_mode: bool = False,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        png_compression: int | None = None,
        jpeg_passthrough: bool = False,
        output_format: str = "files",
        shard_maxcount: int = DEFAULT_SHARD_MAXCOUNT,
        shard_maxsize: int = DEFAULT_SHARD_MAXSIZE,
        qc_scores: bool = False,
        qc: Mapping[str, float] | QcFilter | None = None,
        artifact_mask: object = None,
        tissue_mask: object = None,
    ) -> None:
        super().__init__(
            patches=patches,
            num_workers=num_workers,
            mp_chunksize=mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
        )
        self._output_dir = check_output_dir(output_dir)
        self._encoder = PatchEncoder.create(
            image_type=image_type, jpeg_quality=jpeg_quality, png_compression=png_compression
        )
        self._image_type = image_type
        self._jpeg_passthrough = check_jpeg_passthrough(
            jpeg_passthrough, image_type=self._encoder.extension
        )
        self._passthrough_paths: set[str] = set()
        self._output_format = check_output_format(output_format)
        self._shard_limits = check_shard_limits(maxcount=shard_maxcount, maxsize=shard_maxsize)
        if self._output_format == "webdataset":
            require_pyarrow()
            if create_subdirs:
                raise ValueError('create_subdirs applies to output_format="files" only')
        self._sink: EncodedSink | None = None  # once the slide is committed
        self._qc_filter = QcFilter.create(qc)
        self._artifact_mask = artifact_mask
        if artifact_mask is not None:
            self._qc_filter = with_artifact_default(self._qc_filter)
        self._qc_on = bool(qc_scores) or self._qc_filter is not None
        self._tissue_mask = tissue_mask
        self._qc_on = self._qc_on or tissue_mask is not None
        # per patch, once the slide is open: the masks' covered fractions
        self._artifact: npt.NDArray[np.float64] | None = None
        self._mask_tissue: npt.NDArray[np.float64] | None = None
        self._qc_dropped: Counter[str] = Counter()
        self._qc_lock = threading.Lock()
        self._qc_batch = QcBatch()  # scores in batches: a fraction of the per-patch cost
        self._comment = check_name_part(filename_comment, what="filename_comment")
        self._separator = check_separator(filename_separator)
        self._create_subdirs = bool(create_subdirs)
        self._pool_mode = bool(pool_mode)
        self._manifest_id = new_manifest_id()
        self._wsi_id = wsi_id_for(
            slide_path=self._patch_set.slide_path, wsi_id=self._patch_set.wsi_id
        )
        self._written: list[WrittenPatch] = []
        self._scratch = ScratchBuffers()

    # ------------------------------------------------------------------ properties
    @property
    def manifest_id(self) -> str:
        return self._manifest_id

    @property
    def output_dir(self) -> str:
        return self._output_dir

    @property
    def written_paths(self) -> list[str]:
        """Paths (relative to ``output_dir``) of the files written, in patch order."""
        return [w.path for w in self._written]

    @property
    def written_count(self) -> int:
        """Images written (files, or image members of shards)."""
        return len(self._written)

    @property
    def qc_dropped(self) -> dict[str, int]:
        """Patches (or multi-resolution sets) each ``qc=`` filter dropped."""
        return dict(self._qc_dropped)

    @property
    def passthrough_paths(self) -> list[str]:
        """The written paths whose bytes are the source JPEG tile's (``jpeg_passthrough``)."""
        return [w.path for w in self._written if w.path in self._passthrough_paths]

    @property
    def manifest_paths(self) -> tuple[str, str]:
        """The text and CSV manifest paths."""
        base = os.path.join(
            self._output_dir, MANIFEST_DIR, manifest_base_name(self._manifest_id, self._wsi_id)
        )
        return base + ".txt", base + ".csv"

    # ------------------------------------------------------------------ subclass hooks
    def _extractor_params(self) -> dict[str, Any]:
        return (
            {
                "create_subdirs": self._create_subdirs,
                "excluded_labels": self._excluded_labels,
                "filename_comment": self._comment,
                "filename_separator": self._separator,
                "image_type": self._image_type,
                "included_labels": self._included_labels,
                "jpeg_quality": self._encoder.jpeg_quality,
                "mp_chunksize": self._mp_chunksize,
                "num_workers": self._num_workers,
                "output_dir": self._output_dir,
                "png_compression": self._encoder.png_compression,
                "pool_mode": self._pool_mode,
                "resampling_mode": self._resampling_mode,
            }
            | ({"jpeg_passthrough": True} if self._jpeg_passthrough else {})
            | self._shard_options()
        )

    def _shard_options(self) -> dict[str, Any]:
        """The output keywords, recorded only where not the default (a default files run's
        manifest and fingerprint stay as they were)."""
        maxcount, maxsize = self._shard_limits
        return output_options(
            output_format=self._output_format,
            shard_maxcount=maxcount,
            shard_maxsize=maxsize,
            qc_scores=self._qc_on,
            qc=self._qc_filter,
            artifact_mask=self._artifact_mask,
            tissue_mask=self._tissue_mask,
        )

    def _multires_options(self) -> tuple[list[Resolution] | None, int | None]:
        """``(levels_or_mpps, global_counter)`` for the fingerprint (None, None: one level)."""
        return None, None

    def fingerprint(self) -> Fingerprint:
        """What decides this slide's files (see :mod:`slidepatch.extract.fingerprint`)."""
        levels, counter = self._multires_options()
        return disk_fingerprint(
            patch_set=self._patch_set,
            identity=slide_identity(self._patch_set.slide_path),
            encoder=self._encoder,
            jpeg_passthrough=self._jpeg_passthrough,
            filename_comment=self._comment,
            filename_separator=self._separator,
            create_subdirs=self._create_subdirs,
            included_labels=self._included_labels,
            excluded_labels=self._excluded_labels,
            resampling_mode=self._resampling_mode,
            levels_or_mpps=levels,
            global_counter=counter,
            output=self._shard_options(),
        )

    def _resolutions(self) -> list[Resolution]:
        raise NotImplementedError

    def _plan_jobs(self, slide: Slide) -> list[list[_Job]]:
        """Jobs grouped in units of work (one patch, or one multi-resolution set)."""
        raise NotImplementedError

    def _set_dirs(self, groups: Sequence[Sequence[_Job]]) -> list[str]:
        return []

    def _gated(self, groups: list[list[_Job]]) -> list[list[_Job]]:
        """With ``qc=`` filters, mark the first job of each group as the one judged."""
        if self._qc_filter is None:
            return groups
        return [[replace(g[0], qc_gate=True), *g[1:]] if g else g for g in groups]

    def _mask_fractions(self, slide: Slide, mask_data: object) -> npt.NDArray[np.float64] | None:
        """Per patch, the fraction of its level-0 footprint a mask covers (None: no mask)."""
        if mask_data is None:
            return None
        ps = self._patch_set
        mask = load_mask(mask_data, slide_dimensions=slide.dimensions, wsi_file=ps.slide_path)
        scale = slide.plan(ps.resolution, resampling_mode=self._resampling_mode).level0_per_pixel
        out = np.zeros(len(ps), dtype=np.float64)
        sizes = np.stack([ps.width, ps.height], axis=1) if len(ps) else np.zeros((0, 2))
        for w, h in {(int(a), int(b)) for a, b in sizes}:
            pick = (ps.width == w) & (ps.height == h)
            out[pick] = mask.foreground_fraction(
                x=ps.x[pick].astype(np.float64),
                y=ps.y[pick].astype(np.float64),
                width=w * scale,
                height=h * scale,
            )
        return np.round(out, 6)

    def _drop(self, reason: str) -> None:
        with self._qc_lock:
            self._qc_dropped[reason] += 1

    # ------------------------------------------------------------------ run
    def _check_labels(self) -> None:
        check_output_labels(patch_set=self._patch_set, create_subdirs=self._create_subdirs)

    def _prepare(self, slide: Slide) -> tuple[dict[Resolution, ReadPlan], list[list[_Job]]]:
        """What comes before any sink starts: read plans per resolution, the jobs in groups
        after the artifact/tissue gates, the masks' fractions, and the refusals of paths or
        manifests already on disk."""
        plans = {
            r: slide.plan(r, resampling_mode=self._resampling_mode) for r in self._resolutions()
        }
        groups = self._gated(self._plan_jobs(slide))
        self._artifact = self._mask_fractions(slide, self._artifact_mask)
        self._mask_tissue = self._mask_fractions(slide, self._tissue_mask)
        self._check_paths([job.rel_path for group in groups for job in group])
        for p in self.manifest_paths:
            if os.path.exists(p):
                raise OutputError(f"{self._patch_set.slide_path}: manifest {p} already exists")
        return plans, groups

    def _make_sink(self, groups: Sequence[Sequence[_Job]]) -> EncodedSink:
        """The output the jobs go to (``output_format``): a new output is a new sink."""
        target = SlideTarget(
            output_dir=self._output_dir,
            slide_path=self._patch_set.slide_path,
            manifest_id=self._manifest_id,
            wsi_id=self._wsi_id,
            qc_columns=QC_COLUMNS if self._qc_on else (),
        )
        if self._output_format == "webdataset":
            return ShardSink(
                target,
                limits=self._shard_limits,
                extension=self._encoder.extension,
                multires=self._multires_options()[0] is not None,
            )
        return FilesSink(
            target,
            rel_paths=[job.rel_path for group in groups for job in group],
            set_dirs=self._set_dirs(groups),
            label_dirs=self.patch_labels if self._create_subdirs else [],
            groups=len(groups),
            pool_mode=self._pool_mode,
        )

    def _attempt_started(self) -> None:
        """Called once the attempt is recorded (journal), before its first image is read."""

    def _run(self) -> None:
        """Plan, gate, read (or pass through), score and encode every job, hand the kept
        ones to the sink, then write the manifests; on any failure the sink undoes the
        attempt (all or nothing)."""
        self._check_labels()
        with self._open_slide() as slide:
            plans, groups = self._prepare(slide)
            txt_path, csv_path = self.manifest_paths
            sink = self._make_sink(groups)
            sink.start()
            try:
                self._attempt_started()
                expected = self._hand_to(sink, slide, plans, groups)
                outputs = sink.finish(expected=expected)
                self._written = outputs.records
                self._sink = sink
                self._write_manifests(
                    txt_path,
                    csv_path,
                    extra_columns=outputs.extra_columns,
                    extra_values=outputs.extra_values,
                    saved_rel_paths=outputs.saved_rel_paths,
                    index=outputs.index,
                )
            except BaseException:
                self._written = []
                self._sink = None
                sink.abort()
                raise
        sink.close()  # the text manifest now marks the slide complete

    def _hand_to(
        self,
        sink: EncodedSink,
        slide: Slide,
        plans: Mapping[Resolution, ReadPlan],
        groups: Sequence[Sequence[_Job]],
    ) -> int:
        """Encode every group on the threads and give the kept ones to ``sink`` (in patch
        order, one group at a time, when it asks); return the images given."""
        dropped: list[int] = []  # images of the groups qc= filters dropped

        def encode(g: int) -> list[EncodedPatch] | None:
            try:
                return [
                    self._encode_job(
                        slide,
                        job,
                        plans[job.resolution],
                        writing=sink.destination(job.rel_path),
                    )
                    for job in groups[g]
                ]
            except _Dropped as drop:
                self._drop(drop.reason)
                dropped.append(len(groups[g]))
                return None

        workers = self._num_workers
        if sink.ordered:
            hold = 0
            if self._qc_on and self._qc_filter is None:  # a batch fills before it is read
                ps = self._patch_set
                pixels = int(np.max(ps.width.astype(np.int64) * ps.height)) if len(ps) else 0
                group = max((len(g) for g in groups), default=1)
                hold = read_ahead_count(3 * pixels * group)

            def commit(g: int, patches: list[EncodedPatch] | None) -> None:
                if patches is not None:
                    sink.add(g, patches)

            def scored(patches: list[EncodedPatch] | None) -> bool:  # no need to hold it
                return patches is None or all(
                    p.record.qc is None or is_scored(p.record.qc) for p in patches
                )

            # The workers add in turn (no consumer thread: see run_in_order).
            run_in_order(
                encode,
                len(groups),
                commit=commit,
                num_workers=workers,
                window=hold + 4 * workers,
                hold=hold,
                ready=scored if hold else None,
            )
        else:
            size = self._mp_chunksize

            def work(start: int) -> None:
                for g in range(start, min(start + size, len(groups))):
                    patches = encode(g)
                    if patches is not None:
                        sink.add(g, patches)

            run_on_threads(work, range(0, len(groups), size), num_workers=workers)
        return sum(len(group) for group in groups) - sum(dropped)

    @property
    def shard_members(self) -> list[MemberPlace]:
        """``output_format="webdataset"``: where each image member was written, in order."""
        return self._sink.members if isinstance(self._sink, ShardSink) else []

    def _check_paths(self, rel_paths: Sequence[str]) -> None:
        path = self._patch_set.slide_path
        seen: dict[str, int] = {}
        for k, rel in enumerate(rel_paths):
            if rel in seen:
                raise OutputError(
                    f"{path}: two patches would be written to the same file {rel!r} (output "
                    f"files {seen[rel]} and {k}): repeated location and label; nothing written"
                )
            seen[rel] = k
        ensure_inside(self._output_dir, rel_paths, slide_path=path)

    def _encode_job(self, slide: Slide, job: _Job, plan: ReadPlan, *, writing: str) -> EncodedPatch:
        """One job's encoded bytes (or passthrough tile) and its manifest record."""
        ps = self._patch_set
        i = job.patch_index
        size = (int(ps.width[i]), int(ps.height[i]))
        artifact = None if self._artifact is None else float(self._artifact[i])
        in_mask = None if self._mask_tissue is None else float(self._mask_tissue[i])
        if job.qc_gate and self._qc_filter:
            reason = self._qc_filter.mask_reason(artifact=artifact, mask_tissue=in_mask)
            if reason is not None:
                raise _Dropped(reason)  # before reading: nothing of it is needed
        data = self._passthrough_bytes(slide, job, size)
        image = None
        if data is None:
            image = read_one_patch(
                slide=slide,
                index=i,
                location=(job.x, job.y),
                size=size,
                resolution=job.resolution,
                resampling_mode=self._resampling_mode,
                # The image is encoded before this thread reads its next patch, so one
                # buffer per thread serves them all (a fresh one costs page faults each).
                out=self._scratch.get((size[1], size[0], 3)),
            )
        scores: Scores | None = None
        if self._qc_on:
            pixels = image if image is not None else decode_rgb(data or b"")
            if job.qc_gate and self._qc_filter:  # judged now: scored alone
                scores = qc_scores(pixels, artifact=artifact, mask_tissue=in_mask)
                reason = self._qc_filter.reason(scores)
            else:  # scored with the next patches, before the manifests or a sample's JSON
                scores = self._qc_batch.add(pixels, artifact=artifact, mask_tissue=in_mask)
                reason = None
            if reason is not None:
                raise _Dropped(reason)
        try:
            if image is not None:
                data = self._encoder.encode(image)
            assert data is not None
        except Exception as exc:
            detail = exc.message if isinstance(exc, SlideError) else f"{type(exc).__name__}: {exc}"
            raise ExtractionError(
                ps.slide_path,
                f"patch {i} at level-0 {(job.x, job.y)}: writing {writing}: {detail}",
            ) from exc
        record = WrittenPatch(
            path=job.rel_path,
            patch_index=i,
            label=ps.labels[i],
            level_or_mpp=job.resolution,
            x_level0=job.x,
            y_level0=job.y,
            width_read_px=size[0],
            height_read_px=size[1],
            level0_per_pixel=plan.level0_per_pixel,
            mpp_read=plan.mpp,
            set_id=job.set_id,
            qc=scores,
        )
        return EncodedPatch(data=data, record=record, passthrough=image is None)

    def _passthrough_bytes(self, slide: Slide, job: _Job, size: tuple[int, int]) -> bytes | None:
        """The source JPEG tile's bytes when ``jpeg_passthrough`` applies to this job."""
        if not self._jpeg_passthrough:
            return None
        try:
            data = passthrough_jpeg(
                slide=slide, location=(job.x, job.y), resolution=job.resolution, size=size
            )
        except Exception as exc:
            detail = exc.message if isinstance(exc, SlideError) else f"{type(exc).__name__}: {exc}"
            raise ExtractionError(
                slide.path, f"patch {job.patch_index} at level-0 {(job.x, job.y)}: {detail}"
            ) from exc
        if data is not None:
            self._passthrough_paths.add(job.rel_path)  # one thread per job: set.add is atomic
        return data

    def _write_manifests(
        self,
        txt_path: str,
        csv_path: str,
        *,
        extra_columns: Sequence[str],
        extra_values: Sequence[tuple[str | int | float | None, ...]],
        saved_rel_paths: Sequence[str],
        index: tuple[str, bytes] | None = None,
    ) -> None:
        """The slide's records, in commit order: the fingerprint, the shard index (shards
        only), the CSV, then the text manifest, which marks the slide complete."""
        ps = self._patch_set
        fingerprint_path = txt_path[: -len(".txt")] + FINGERPRINT_SUFFIX
        os.makedirs(os.path.dirname(txt_path), exist_ok=True)
        write_atomically(fingerprint_path, encode_fingerprint(self.fingerprint()))
        if index is not None:
            index_rel, index_bytes = index
            write_atomically(os.path.join(self._output_dir, index_rel), index_bytes)
        csv_text = format_csv_manifest(
            rows=self._written,
            slide_path=ps.slide_path,
            wsi_id=self._wsi_id,
            manifest_id=self._manifest_id,
            extra_columns=extra_columns,
            extra_values=extra_values,
        )
        write_atomically(csv_path, csv_text.encode("utf-8"))
        text = format_text_manifest(
            manifest_id=self._manifest_id,
            manifest_path=txt_path,
            patch_class=self._source.class_name,
            patch_params=self._source.param_info,
            patch_count=len(self._source),
            patch_info=self._source.patch_info,
            extractor_class=type(self).__name__,
            extractor_params=self._extractor_params(),
            saved_paths=[os.path.join(self._output_dir, p) for p in saved_rel_paths],
        )
        write_atomically(txt_path, (text + self._qc_lines()).encode("utf-8"))

    def _qc_lines(self) -> str:
        """The text manifest's QC lines (none without ``qc=``): filters, drops per filter."""
        if self._qc_filter is None:
            return ""
        dropped = {k: self._qc_dropped.get(k, 0) for k in QC_REASONS}
        return f"{'QC filters:':<24}{self._qc_filter.as_dict()}\n{'QC dropped:':<24}{dropped}\n"

    def _file_name(self, *, comment: str, label: str, x: int, y: int) -> str:
        return patch_file_name(
            wsi_id=self._wsi_id,
            manifest_id=self._manifest_id,
            comment=comment,
            label=label,
            x=x,
            y=y,
            separator=self._separator,
            extension=self._encoder.extension,
        )


class DiskPatchExtractor(_DiskBase):
    """Writes one slide's patches to ``output_dir`` as image files, plus manifests.

    Files are named ``<wsi_id>_<manifest_id>[_<comment>][_<label>]_x<X>_y<Y>.<ext>``
    (``_`` being ``filename_separator``), inside a per-label directory with
    ``create_subdirs``. All work happens in the constructor, like the reference.
    With ``image_type="jpg"`` and ``jpeg_passthrough=True``, a patch that is exactly one
    stored JPEG tile of a native level is written as that tile's bytes (no re-encoding;
    see :mod:`slidepatch.extract.passthrough`).
    """

    def __init__(
        self,
        *,
        patches: object,
        num_workers: int,
        output_dir: str | PathLike[str],
        image_type: str,
        mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        filename_comment: str = "",
        filename_separator: str = "_",
        create_subdirs: bool = False,
        pool_mode: bool = False,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        png_compression: int | None = None,
        jpeg_passthrough: bool = False,
        output_format: str = "files",
        shard_maxcount: int = DEFAULT_SHARD_MAXCOUNT,
        shard_maxsize: int = DEFAULT_SHARD_MAXSIZE,
        qc_scores: bool = False,
        qc: Mapping[str, float] | QcFilter | None = None,
        artifact_mask: object = None,
        tissue_mask: object = None,
    ) -> None:
        super().__init__(
            patches=patches,
            num_workers=num_workers,
            output_dir=output_dir,
            image_type=image_type,
            mp_chunksize=mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
            filename_comment=filename_comment,
            filename_separator=filename_separator,
            create_subdirs=create_subdirs,
            pool_mode=pool_mode,
            jpeg_quality=jpeg_quality,
            png_compression=png_compression,
            jpeg_passthrough=jpeg_passthrough,
            output_format=output_format,
            shard_maxcount=shard_maxcount,
            shard_maxsize=shard_maxsize,
            qc_scores=qc_scores,
            qc=qc,
            artifact_mask=artifact_mask,
            tissue_mask=tissue_mask,
        )
        self._run()

    def _resolutions(self) -> list[Resolution]:
        return [self._patch_set.resolution]

    def _plan_jobs(self, slide: Slide) -> list[list[_Job]]:
        ps = self._patch_set
        groups = []
        for i in range(len(ps)):
            label = ps.labels[i]
            x, y = int(ps.x[i]), int(ps.y[i])
            name = self._file_name(comment=self._comment, label=label, x=x, y=y)
            folder = relative_dir(label=label, create_subdirs=self._create_subdirs)
            rel = f"{folder}/{name}" if folder else name
            groups.append([_Job(rel, i, x, y, ps.resolution, "")])
        return groups


class MultiResDiskPatchExtractor(_DiskBase):
    """Writes, for each base patch, one file per entry of ``levels_or_mpps`` into a set
    directory: ``set<N>`` numbered from ``global_counter`` (default 1) in patch order, or
    ``<wsi_id>__set<N>`` from 1 with ``global_counter=None``. Numbering belongs to this
    object; ``patchset_counter`` is the last number used.
    """

    def __init__(
        self,
        *,
        patches: object,
        levels_or_mpps: Sequence[LevelOrMpp | Resolution],
        num_workers: int,
        output_dir: str | PathLike[str],
        image_type: str,
        mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        filename_comment: str = "",
        filename_separator: str = "_",
        create_subdirs: bool = False,
        pool_mode: bool = False,
        global_counter: int | None = 1,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        png_compression: int | None = None,
        jpeg_passthrough: bool = False,
        output_format: str = "files",
        shard_maxcount: int = DEFAULT_SHARD_MAXCOUNT,
        shard_maxsize: int = DEFAULT_SHARD_MAXSIZE,
        qc_scores: bool = False,
        qc: Mapping[str, float] | QcFilter | None = None,
        artifact_mask: object = None,
        tissue_mask: object = None,
    ) -> None:
        self._levels_or_mpps = check_resolutions(levels_or_mpps)
        self._global_counter = check_global_counter(global_counter)
        super().__init__(
            patches=patches,
            num_workers=num_workers,
            output_dir=output_dir,
            image_type=image_type,
            mp_chunksize=mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
            filename_comment=filename_comment,
            filename_separator=filename_separator,
            create_subdirs=create_subdirs,
            pool_mode=pool_mode,
            jpeg_quality=jpeg_quality,
            png_compression=png_compression,
            jpeg_passthrough=jpeg_passthrough,
            output_format=output_format,
            shard_maxcount=shard_maxcount,
            shard_maxsize=shard_maxsize,
            qc_scores=qc_scores,
            qc=qc,
            artifact_mask=artifact_mask,
            tissue_mask=tissue_mask,
        )
        first = 1 if self._global_counter is None else self._global_counter
        self._patchset_counter = first - 1 + len(self._patch_set)
        self._run()

    @property
    def levels_or_mpps(self) -> list[LevelOrMpp]:
        return [r.value for r in self._levels_or_mpps]

    @property
    def patch_count(self) -> int:
        return len(self._patch_set) * len(self._levels_or_mpps)

    @property
    def patchset_counter(self) -> int:
        """The last set number used (``first - 1`` when there were no patches)."""
        return self._patchset_counter

    def _multires_options(self) -> tuple[list[Resolution] | None, int | None]:
        return list(self._levels_or_mpps), self._global_counter

    def _extractor_params(self) -> dict[str, Any]:
        params = super()._extractor_params()
        params["global_counter"] = self._global_counter
        params["levels_or_mpps"] = self.levels_or_mpps
        return params

    def _resolutions(self) -> list[Resolution]:
        return list(self._levels_or_mpps)

    def _plan_jobs(self, slide: Slide) -> list[list[_Job]]:
        ps = self._patch_set
        entries = self._levels_or_mpps
        locs = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=entries)
        first = 1 if self._global_counter is None else self._global_counter
        wsi_id = self._wsi_id if self._global_counter is None else None
        groups = []
        for i in range(len(ps)):
            label = ps.labels[i]
            set_id = set_dir_name(number=first + i, wsi_id=wsi_id)
            folder = relative_dir(label=label, create_subdirs=self._create_subdirs, set_dir=set_id)
            group = []
            for j, entry in enumerate(entries):
                slot = entry.comment
                comment = f"{self._comment}{self._separator}{slot}" if self._comment else slot
                x, y = int(locs[i, j, 0]), int(locs[i, j, 1])
                name = self._file_name(comment=comment, label=label, x=x, y=y)
                group.append(_Job(f"{folder}/{name}", i, x, y, entry, set_id))
            groups.append(group)
        return groups

    def _set_dirs(self, groups: Sequence[Sequence[_Job]]) -> list[str]:
        return [os.path.dirname(group[0].rel_path) for group in groups if group]
