"""Sinks: where an extractor hands the patches of one PatchSet.

An extractor reads (or passes through), scores and encodes; a sink owns the output's
layout, its commit and its undoing. Two kinds, because the outputs need two kinds of data:

* an :class:`EncodedSink` receives encoded images with their manifest records (per-patch
  files, tar shards; see ``files_sink.py``, ``shard_sink.py``), driven by the disk
  extractor (``disk.py``);
* a :class:`PixelSink` receives decoded pixels in place (the memory pools' shared arena,
  the stream's ring; see ``arena_sink.py``, ``ring_sink.py``), driven by
  :func:`read_to_sink`.

A new output is a new sink: the extractor and its gates stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from slidepatch.extract.manifest import WrittenPatch
from slidepatch.extract.multires import multires_locations
from slidepatch.extract.reader import read_patches_into, read_patches_to
from slidepatch.locations.patchset import PatchSet
from slidepatch.resolution import Resolution
from slidepatch.slide.slide import ResamplingMode, Slide

Buffer = npt.NDArray[np.uint8]
ManifestValue = str | int | float | None


@dataclass(frozen=True)
class SlideTarget:
    """Whose images an encoded sink writes and where: the output folder, the slide, the
    ids naming its outputs, and the QC columns its manifests carry (none without QC)."""

    output_dir: str
    slide_path: str
    manifest_id: str
    wsi_id: str
    qc_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class EncodedPatch:
    """One image ready for output: its bytes and its manifest record (``record.path`` is
    the planned file path, relative to ``output_dir``)."""

    data: bytes
    record: WrittenPatch
    passthrough: bool = False  # the bytes are the source JPEG tile's


@dataclass(frozen=True)
class SinkOutputs:
    """What a finished sink wrote, for the slide's manifests (see ``disk.py``)."""

    records: list[WrittenPatch]  # in patch order; ``path`` is where each image is
    extra_columns: tuple[str, ...] = ()
    extra_values: list[tuple[ManifestValue, ...]] = field(default_factory=list)
    saved_rel_paths: list[str] = field(default_factory=list)
    index: tuple[str, bytes] | None = None  # (relative path, bytes) of an index file


class EncodedSink(Protocol):
    """Where a disk extractor's encoded images go.

    The extractor calls :meth:`start` once, before any image is read; :meth:`add` for
    every kept group (one patch, or one multi-resolution set) — in patch order, one call
    at a time, when :attr:`ordered`, else from the reading threads in any order; then
    :meth:`finish`, writes the manifests, and calls :meth:`close`. After any failure from
    :meth:`start` on it calls :meth:`abort`, which leaves nothing of the attempt behind.
    """

    @property
    def ordered(self) -> bool:
        """Whether :meth:`add` must be called in patch order, one call at a time."""
        ...

    def destination(self, rel_path: str) -> str:
        """What an error while producing the image planned at ``rel_path`` names."""
        ...

    def start(self) -> None:
        """Refuse what cannot be written, record the attempt (journal), make folders."""
        ...

    def add(self, group: int, patches: Sequence[EncodedPatch]) -> None:
        """Write one group's images (``group`` numbers the groups in patch order)."""
        ...

    def finish(self, *, expected: int) -> SinkOutputs:
        """Complete the outputs (``expected``: the images added) and say what they are."""
        ...

    def abort(self) -> None:
        """Remove everything this attempt wrote (safe to call more than once)."""
        ...

    def close(self) -> None:
        """The slide's text manifest is written: the attempt's journal can go."""
        ...


#: Where one resolution's patches go: ``out[k]`` buffers (or one array of them) to decode
#: patch ``k`` straight into, or a function given each decoded patch (valid only during
#: the call) to copy out.
Destination = Buffer | Sequence[Buffer] | Callable[[int, Buffer], None]


class PixelSink(Protocol):
    """Where decoded patches of one PatchSet go, in place."""

    def destination(self, level: int) -> Destination:
        """Where the patches of resolution number ``level`` (0 for one resolution) go."""
        ...

    def put_locations(self, locations: npt.NDArray[np.int64]) -> None:
        """A multi-resolution read's ``(N, L, 2)`` level-0 top-lefts."""
        ...


def read_to_sink(
    *,
    slide: Slide,
    patch_set: PatchSet,
    sink: PixelSink,
    levels_or_mpps: Sequence[Resolution] | None,
    resampling_mode: ResamplingMode,
    num_workers: int,
    chunksize: int,
) -> None:
    """Read every patch of ``patch_set`` (at each of ``levels_or_mpps``, centred on the
    base patch, or at the set's resolution when None) into ``sink``."""
    if levels_or_mpps is None:
        _read(
            slide,
            patch_set,
            sink.destination(0),
            resampling_mode=resampling_mode,
            num_workers=num_workers,
            chunksize=chunksize,
        )
        return
    locations = multires_locations(slide=slide, patch_set=patch_set, levels_or_mpps=levels_or_mpps)
    sink.put_locations(locations)
    for j, resolution in enumerate(levels_or_mpps):
        _read(
            slide,
            patch_set,
            sink.destination(j),
            locations=locations[:, j, :],
            resolution=resolution,
            resampling_mode=resampling_mode,
            num_workers=num_workers,
            chunksize=chunksize,
        )


def _read(
    slide: Slide,
    patch_set: PatchSet,
    where: Destination,
    *,
    resampling_mode: ResamplingMode,
    num_workers: int,
    chunksize: int,
    locations: npt.NDArray[np.int64] | None = None,
    resolution: Resolution | None = None,
) -> None:
    if callable(where):
        read_patches_to(
            slide=slide,
            patch_set=patch_set,
            sink=where,
            locations=locations,
            level_or_mpp=resolution,
            resampling_mode=resampling_mode,
            num_workers=num_workers,
            chunksize=chunksize,
        )
    else:
        read_patches_into(
            slide=slide,
            patch_set=patch_set,
            out=where,
            locations=locations,
            level_or_mpp=resolution,
            resampling_mode=resampling_mode,
            num_workers=num_workers,
            chunksize=chunksize,
        )
