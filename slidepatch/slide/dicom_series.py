"""DICOM whole-slide series: one slide per series, whatever files or folder name it.

A DICOM WSI is a series of instance files: the pyramid's VOLUME levels plus LABEL,
OVERVIEW and THUMBNAIL images. OpenSlide opens the whole series from any one of its files,
so passing every file (``series/*.dcm``) would give the same slide once per file. Here a
series is named by its folder; ``Slide.open(folder)`` opens it through a VOLUME instance,
and :func:`group_dicom_series` turns a list of paths into one path per series.
Headers are read with pydicom when installed, else through OpenSlide's properties.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from slidepatch.errors import SlideIsDirectoryError, UnsupportedSlideError

NOT_SLIDES = ("LABEL", "OVERVIEW", "THUMBNAIL")
"""ImageType values (third element) of instances that are never slides."""


@dataclass(frozen=True)
class DicomInstance:
    path: str
    series_uid: str
    image_type: str  # VOLUME, LABEL, OVERVIEW, THUMBNAIL...


def is_dicom_file(path: str) -> bool:
    """True for a DICOM Part 10 file (``DICM`` after the 128-byte preamble)."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_instance(path: str) -> DicomInstance | None:
    """The series and image type of one DICOM file, or None when it is not a WSI instance."""
    try:
        import pydicom
    except ImportError:
        return _instance_via_openslide(path)
    try:
        ds = pydicom.dcmread(
            path, stop_before_pixels=True, specific_tags=["SeriesInstanceUID", "ImageType"]
        )
    except Exception:  # pydicom raises many kinds on malformed files
        return None
    series = str(ds.get("SeriesInstanceUID", "") or "")
    kinds = list(ds.get("ImageType", []) or [])
    if not series:
        return None
    return DicomInstance(path, series, str(kinds[2]).upper() if len(kinds) > 2 else "VOLUME")


def _instance_via_openslide(path: str) -> DicomInstance | None:
    try:
        import openslide

        with openslide.OpenSlide(path) as slide:
            props = dict(slide.properties)
    except Exception:  # OpenSlide refuses files it cannot read
        return None
    series = props.get("dicom.SeriesInstanceUID")
    if not series:
        return None
    return DicomInstance(path, series, props.get("dicom.ImageType[2]", "VOLUME").upper())


def folder_instances(folder: str) -> list[DicomInstance]:
    """The DICOM WSI instances directly inside ``folder``, in name order."""
    found: list[DicomInstance] = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and is_dicom_file(path):
            instance = read_instance(path)
            if instance is not None:
                found.append(instance)
    return found


def volume_file(folder: str) -> str:
    """The VOLUME instance through which the one series in ``folder`` is opened."""
    instances = folder_instances(folder)
    if not instances:
        raise SlideIsDirectoryError(
            folder, "is a directory with no DICOM files; pass a slide file or a DICOM series folder"
        )
    series = sorted({i.series_uid for i in instances})
    if len(series) > 1:
        raise UnsupportedSlideError(
            folder,
            f"holds {len(series)} DICOM series ({', '.join(series)}); put each series in its "
            "own folder",
        )
    volumes = [i for i in instances if i.image_type not in NOT_SLIDES]
    if not volumes:
        kinds = ", ".join(sorted({i.image_type for i in instances}))
        raise UnsupportedSlideError(
            folder, f"the DICOM series has no VOLUME instance (only {kinds}), so no slide"
        )
    return volumes[0].path


def check_instance_file(path: str) -> None:
    """Refuse a label, overview or thumbnail instance opened as if it were a slide."""
    instance = read_instance(path)
    if instance is not None and instance.image_type in NOT_SLIDES:
        raise UnsupportedSlideError(
            path,
            f"is the {instance.image_type} image of DICOM series {instance.series_uid}, not a "
            f"slide; open the series folder ({os.path.dirname(path) or '.'})",
        )


def group_dicom_series(paths: Sequence[str]) -> list[str]:
    """``paths`` with each DICOM series' files replaced by its folder, once, in first place.

    Label, overview and thumbnail files never become slides; other paths pass unchanged
    (a slide listed twice stays listed twice: the caller warns about it). Two series in
    one folder cannot be told apart by a folder path, so that is an error naming it.
    """
    out: list[str] = []
    series_of_folder: dict[str, str] = {}
    for path in paths:
        if not (os.path.isfile(path) and is_dicom_file(path)):
            out.append(path)
            continue
        instance = read_instance(path)
        if instance is None:
            out.append(path)
            continue
        folder = os.path.dirname(os.path.abspath(path))
        known = series_of_folder.get(folder)
        if known is None:
            series_of_folder[folder] = instance.series_uid
            out.append(folder)
        elif known != instance.series_uid:
            raise UnsupportedSlideError(
                folder, "holds more than one DICOM series; put each series in its own folder"
            )
    return out
