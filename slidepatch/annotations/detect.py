"""``read_annotations(path)``: any supported annotation file, its format told by its content.

JSON: a GeoJSON document (QuPath) or slidepatch's own polygon list (``save_polygons_json``).
XML, by root element: ``ASAP_Annotations`` (ASAP), ``session`` (Sedeen), ``Annotations``
holding ``Vertex`` elements (Aperio ImageScope) or ``V`` elements (HALO). The file's name
does not matter.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from os import PathLike, fspath
from pathlib import Path
from typing import Literal, cast

from slidepatch.annotations.asap import read_asap_xml
from slidepatch.annotations.geojson import DEFAULT_OBJECT_TYPES, read_geojson
from slidepatch.annotations.halo import read_halo_xml
from slidepatch.annotations.imagescope import ImageScopeLabel, read_imagescope_xml
from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.annotations.polygon_data import polygons_from_json_value
from slidepatch.annotations.sedeen import read_sedeen_xml
from slidepatch.errors import AnnotationError

AnnotationFormat = Literal["geojson", "polygon_json", "asap", "sedeen", "imagescope", "halo"]
_SNIFF_BYTES = 4096
_PEEK_CHARS = 65536


def _xml_format(path: str) -> AnnotationFormat:
    try:
        events = ET.iterparse(path, events=("start",))
        _, root = next(events)
        if root.tag == "ASAP_Annotations":
            return "asap"
        if root.tag == "session":
            return "sedeen"
        if root.tag == "Annotations":
            for _, element in events:
                if element.tag == "Vertex":
                    return "imagescope"
                if element.tag == "V":
                    return "halo"
            return "imagescope"
    except (OSError, ET.ParseError, StopIteration) as exc:
        raise AnnotationError(path, f"cannot parse XML: {exc}") from exc
    raise AnnotationError(
        path,
        f"unknown XML annotation format (root element <{root.tag}>): expected ASAP, Sedeen, "
        "Aperio ImageScope or HALO",
    )


def _list_format(path: str) -> AnnotationFormat:
    """A JSON list: slidepatch's polygon list if its first item has "points", else GeoJSON.

    Only the first item is decoded (from the file's first 64 KiB when it fits), so that a
    100,000-feature list is not parsed twice.
    """
    with open(path, encoding="utf-8-sig") as fh:
        head = fh.read(_PEEK_CHARS)
    body = head.lstrip()[1:].lstrip()
    try:
        first, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        doc = _load_json(path)  # a first item longer than the peek, or a broken file
        first = doc[0] if isinstance(doc, list) and doc else None
    return "polygon_json" if isinstance(first, dict) and "points" in first else "geojson"


def annotation_format(path: str | PathLike[str]) -> AnnotationFormat:
    """The format of an annotation file, from its content."""
    spath = fspath(path)
    try:
        with open(spath, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise AnnotationError(spath, f"cannot read annotation file: {exc}") from exc
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return _xml_format(spath)
    if text.startswith(b"{"):
        return "geojson"
    if text.startswith(b"["):
        return _list_format(spath)
    raise AnnotationError(
        spath, "not an annotation file: expected JSON (QuPath GeoJSON, polygon list) or XML"
    )


def _load_json(path: str) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(path, f"cannot read JSON: {exc}") from exc


def read_annotations(
    path: str | PathLike[str],
    *,
    strict: bool = False,
    object_types: Sequence[str] | None = DEFAULT_OBJECT_TYPES,
    label_from: str | None = None,
) -> list[AnnotationPolygon]:
    """Polygons from any supported annotation file (format detected from the content).

    ``object_types`` applies to QuPath GeoJSON (default: annotations only). ``label_from``
    picks where labels come from in the formats that offer a choice: QuPath GeoJSON
    (``"classification"``, the default, ``"name"`` or a property key) and ImageScope
    (``"name"``, the default, ``"attribute"`` or ``"text"``); given for another format it is
    an error rather than silently ignored. A bad feature is skipped with an
    :class:`~slidepatch.errors.AnnotationWarning`; ``strict=True`` raises.
    """
    spath = fspath(path)
    if not Path(spath).is_file():
        raise AnnotationError(spath, "annotation file not found")
    kind = annotation_format(spath)
    if label_from is not None and kind not in ("geojson", "imagescope"):
        raise AnnotationError(
            spath,
            f"label_from={label_from!r} applies to QuPath GeoJSON and ImageScope files; "
            f"this is a {kind} file, whose labels have one source",
        )
    if kind == "geojson":
        return read_geojson(
            spath,
            object_types=object_types,
            label_from=label_from or "classification",
            strict=strict,
        )
    if kind == "polygon_json":
        return polygons_from_json_value(_load_json(spath), source=spath)
    if kind == "asap":
        return read_asap_xml(spath, strict=strict)
    if kind == "imagescope":
        choice = label_from or "name"
        if choice not in ("name", "attribute", "text"):
            raise AnnotationError(
                spath,
                f"label_from must be 'name', 'attribute' or 'text' for ImageScope files, "
                f"got {choice!r}",
            )
        return read_imagescope_xml(spath, label_from=cast(ImageScopeLabel, choice), strict=strict)
    if kind == "halo":
        return read_halo_xml(spath, strict=strict)
    return read_sedeen_xml(spath, strict=strict)
