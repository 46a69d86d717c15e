"""``polygon_data``: AnnotationPolygon lists, JSON documents or JSON files, turned into polygons."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any, Union

from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.errors import AnnotationError, AnnotationFileNotFoundError

PolygonSource = Union[Sequence[AnnotationPolygon], str, "PathLike[str]"]
"""What ``polygon_data=`` accepts: AnnotationPolygons, a JSON string or a JSON file path."""


def polygons_from_json_value(value: Any, *, source: str | None = None) -> list[AnnotationPolygon]:
    """Polygons from a decoded JSON list of ``{"points", "label", "holes"}`` objects."""
    if not isinstance(value, list):
        raise AnnotationError(source, f"polygon JSON must be a list, got {type(value).__name__}")
    polygons = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "points" not in item:
            raise AnnotationError(source, f"polygon {i}: expected an object with 'points'")
        try:
            polygons.append(
                AnnotationPolygon(
                    points=item["points"],
                    label=item.get("label", ""),
                    holes=item.get("holes") or (),
                )
            )
        except AnnotationError as exc:
            raise AnnotationError(source, f"polygon {i}: {exc}") from exc
    return polygons


def load_polygon_data(polygon_data: object) -> list[AnnotationPolygon]:
    """Accept a list of AnnotationPolygon (empty allowed), a JSON string or a JSON file path."""
    if isinstance(polygon_data, (str, PathLike)):
        text = os.fspath(polygon_data)
        if isinstance(polygon_data, str) and text.lstrip().startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise AnnotationError(None, f"polygon_data is not valid JSON: {exc}") from exc
            return polygons_from_json_value(value)
        path = Path(text)
        if not path.is_file():
            raise AnnotationFileNotFoundError(text, "polygon_data file not found")
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AnnotationError(text, f"not a valid JSON file: {exc}") from exc
        return polygons_from_json_value(value, source=text)
    if isinstance(polygon_data, (list, tuple)):
        for i, item in enumerate(polygon_data):
            if not isinstance(item, AnnotationPolygon):
                raise TypeError(
                    f"polygon_data[{i}] must be an AnnotationPolygon, got {type(item).__name__}"
                )
        return list(polygon_data)
    raise TypeError(
        "polygon_data must be a list of AnnotationPolygon, a JSON string or a JSON file path, "
        f"got {type(polygon_data).__name__}"
    )


def save_polygons_json(polygons: Sequence[AnnotationPolygon], path: str | PathLike[str]) -> None:
    """Write polygons as the JSON list that ``polygon_data`` accepts."""
    Path(path).write_text(json.dumps([p.data_dict for p in polygons]), encoding="utf-8")
