"""A disk run's fingerprint: everything that decides one slide's files, to tell same from different.

Written per slide as ``manifests/manifest__<id>__<wsi_id>.json`` next to the reference's
text manifest (before it, so a complete slide always has one). Resume skips a slide only
when the fingerprint recorded there equals this run's; otherwise
:func:`fingerprint_differences` says what changed (``seed=1, now seed=2``).

The fingerprint holds the slide's identity (real path, size, modification time), its
``wsi_id``, the location class and its parameters, a digest of the locations themselves
(after label filtering), the resolution(s), resampling mode, label filters, image type and
encoder options, comment, separator, subdirs, the multi-resolution set numbering, the
backend and the MPP override. Worker counts, chunk sizes and the output folder's own path
decide no file and are left out.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence

from slidepatch.extract.encoders import PatchEncoder
from slidepatch.extract.naming import wsi_id_for
from slidepatch.extract.qc import QcFilter
from slidepatch.locations.patchset import PatchSet
from slidepatch.options import DEFAULT_READ_OPTIONS
from slidepatch.resolution import Resolution
from slidepatch.slide.identity import SlideIdentity

FINGERPRINT_VERSION = 1
FINGERPRINT_SUFFIX = ".json"

# Location parameters that are paths to the slide itself: identity covers them.
_PATH_PARAMS = ("wsi_file",)
_LONG_VALUE = 200  # longer parameter values are recorded as a digest

Fingerprint = dict[str, object]


def locations_digest(patch_set: PatchSet) -> str:
    """SHA-256 of the locations, sizes, labels and resolution (the set's content)."""
    h = hashlib.sha256()
    h.update(patch_set.resolution.text.encode())
    for arr in (patch_set.x, patch_set.y, patch_set.width, patch_set.height):
        h.update(arr.astype("<i8").tobytes())
    h.update("\0".join(patch_set.labels).encode("utf-8"))
    return h.hexdigest()


def _plain(value: object) -> object:
    """A JSON value that compares equal when the parameter is the same."""
    if isinstance(value, (bool, int, float, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        text = json.dumps(items)
        return items if len(text) <= _LONG_VALUE else _digest_of(text)
    text = str(value)
    if os.path.isabs(text) and os.path.exists(text):
        text = os.path.realpath(text)  # a mask or annotation file, through any path
    return text if len(text) <= _LONG_VALUE else _digest_of(text)


def _digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _patch_size(patch_set: PatchSet) -> str:
    sizes = {(int(w), int(h)) for w, h in zip(patch_set.width, patch_set.height, strict=True)}
    if len(sizes) == 1:
        ((w, h),) = sizes
        return f"{w}x{h}"
    return "mixed" if sizes else "none"


def disk_fingerprint(
    *,
    patch_set: PatchSet,
    identity: SlideIdentity,
    encoder: PatchEncoder,
    jpeg_passthrough: bool,
    filename_comment: str,
    filename_separator: str,
    create_subdirs: bool,
    included_labels: Sequence[str],
    excluded_labels: Sequence[str],
    resampling_mode: str | None,
    levels_or_mpps: Sequence[Resolution] | None,
    global_counter: int | None,
    output: Mapping[str, object] | None = None,
) -> Fingerprint:
    """The fingerprint of one slide's disk extraction; ``patch_set`` is label-filtered.

    ``output`` holds the output-format keywords of a non-default output (shards): absent
    for files, so fingerprints of file runs are unchanged.
    """
    ext = encoder.extension
    params = {str(k): _plain(v) for k, v in patch_set.param_info.items() if k not in _PATH_PARAMS}
    return {
        "version": FINGERPRINT_VERSION,
        "slide": identity.as_dict(),
        "wsi_id": wsi_id_for(slide_path=patch_set.slide_path, wsi_id=patch_set.wsi_id),
        "location_class": patch_set.class_name,
        "location_params": dict(sorted(params.items())),
        "patch_count": len(patch_set),
        "locations_digest": locations_digest(patch_set),
        "patch_size": _patch_size(patch_set),
        "level_or_mpp": patch_set.resolution.text,
        "levels_or_mpps": None if levels_or_mpps is None else [r.text for r in levels_or_mpps],
        "resampling_mode": resampling_mode,
        "slide_mpp": patch_set.slide_mpp,
        "backend": patch_set.backend,
        **_read_options_entries(patch_set),
        "included_labels": list(included_labels),
        "excluded_labels": list(excluded_labels),
        "image_type": ext,
        "jpeg_quality": encoder.jpeg_quality if ext in ("jpg", "jpeg") else None,
        "png_compression": encoder.png_compression if ext == "png" else None,
        "jpeg_passthrough": bool(jpeg_passthrough),
        "filename_comment": filename_comment,
        "filename_separator": filename_separator,
        "create_subdirs": bool(create_subdirs),
        "global_counter": global_counter,
        **(output or {}),
    }


def _read_options_entries(patch_set: PatchSet) -> dict[str, object]:
    """The read options that decide pixels beyond backend and MPP (the tolerance, the fill),
    recorded when not the defaults so that earlier runs' fingerprints stay equal; the
    tile-cache size changes no pixel and is left out."""
    opts = patch_set.read_options
    entries: dict[str, object] = {}
    if opts.mpp_tolerance != DEFAULT_READ_OPTIONS.mpp_tolerance:
        entries["mpp_tolerance"] = opts.mpp_tolerance
    if opts.fill != DEFAULT_READ_OPTIONS.fill:
        entries["fill"] = list(opts.fill)
    return entries


def output_options(
    *,
    output_format: str,
    shard_maxcount: int,
    shard_maxsize: int,
    qc_scores: bool,
    qc: QcFilter | None,
    artifact_mask: object = None,
    tissue_mask: object = None,
) -> dict[str, object]:
    """The output keywords that decide a slide's outputs, only where not the default (so a
    default run's fingerprint and text manifest are as before)."""
    out: dict[str, object] = {}
    if output_format != "files":
        out |= {
            "output_format": output_format,
            "shard_maxcount": shard_maxcount,
            "shard_maxsize": shard_maxsize,
        }
    if qc_scores or qc is not None:
        out["qc_scores"] = True
    if qc is not None:
        out["qc"] = qc.as_dict()
    if artifact_mask is not None:
        out["artifact_mask"] = _mask_identity(artifact_mask)
    if tissue_mask is not None:
        out["qc_scores"] = True
        out["tissue_mask"] = _mask_identity(tissue_mask)
    return out


def _mask_identity(mask: object) -> object:
    """A mask file by real path, size and modification time; an in-memory mask by digest."""
    if isinstance(mask, (str, os.PathLike)):
        path = os.path.realpath(os.fspath(mask))
        try:
            st = os.stat(path)
        except OSError:
            return path
        return {"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    array = getattr(mask, "array", mask)
    try:
        import numpy as np

        data = np.ascontiguousarray(np.asarray(array) != 0)
    except Exception:
        return repr(mask)[:_LONG_VALUE]
    return "sha256:" + hashlib.sha256(repr(data.shape).encode() + data.tobytes()).hexdigest()[:16]


def encode_fingerprint(fingerprint: Mapping[str, object]) -> bytes:
    return (json.dumps(fingerprint, indent=1, sort_keys=True) + "\n").encode("utf-8")


def read_fingerprint(path: str) -> Fingerprint | None:
    """The fingerprint recorded at ``path``; None when there is none or it is unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def recorded_identity(fingerprint: Mapping[str, object]) -> SlideIdentity | None:
    return SlideIdentity.from_dict(fingerprint.get("slide"))


def _show(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _stamp(ns: object) -> str:
    if not isinstance(ns, int):
        return str(ns)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9))


def fingerprint_differences(
    earlier: Mapping[str, object] | None, now: Mapping[str, object]
) -> list[str]:
    """What differs, as ``name=earlier, now name=now`` phrases; empty when the same.

    The slide's real path is not compared (slides are matched by it beforehand), nor the
    location parameters that are the slide's path.
    """
    if earlier is None:
        return ["parameters that were not recorded (an older slidepatch wrote it)"]
    if earlier.get("version") != now.get("version"):
        return [f"fingerprint version={earlier.get('version')}, now version={now.get('version')}"]
    diffs: list[str] = []
    old_slide, new_slide = earlier.get("slide"), now.get("slide")
    if isinstance(old_slide, dict) and isinstance(new_slide, dict):
        if old_slide.get("size") != new_slide.get("size"):
            diffs.append(f"slide size={old_slide.get('size')}, now size={new_slide.get('size')}")
        if old_slide.get("mtime_ns") != new_slide.get("mtime_ns"):
            diffs.append(
                f"slide modified {_stamp(old_slide.get('mtime_ns'))}, "
                f"now modified {_stamp(new_slide.get('mtime_ns'))}"
            )
    elif old_slide != new_slide:
        diffs.append("another slide file")
    old_params = earlier.get("location_params")
    new_params = now.get("location_params")
    old_p = old_params if isinstance(old_params, dict) else {}
    new_p = new_params if isinstance(new_params, dict) else {}
    if earlier.get("location_class") != now.get("location_class"):
        diffs.append(
            f"location class={earlier.get('location_class')}, "
            f"now location class={now.get('location_class')}"
        )
    reported: set[str] = set()
    for key in sorted(set(old_p) | set(new_p)):
        if key in _PATH_PARAMS:
            continue
        if old_p.get(key) != new_p.get(key):
            reported.add(key)
            diffs.append(f"{key}={_show(old_p.get(key))}, now {key}={_show(new_p.get(key))}")
    skip = {"version", "slide", "location_class", "location_params", "locations_digest"}
    keys = [k for k in now if k not in skip] + [
        k for k in earlier if k not in now and k not in skip
    ]
    for key in keys:
        if key in reported:
            continue  # already said as a location parameter
        if earlier.get(key) != now.get(key):
            diffs.append(f"{key}={_show(earlier.get(key))}, now {key}={_show(now.get(key))}")
    if not diffs and earlier.get("locations_digest") != now.get("locations_digest"):
        diffs.append("other patch locations")
    return diffs
