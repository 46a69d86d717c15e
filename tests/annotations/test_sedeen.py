"""Sedeen sessions: one bad graphic costs only itself; rulers and points are counted."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from slidepatch.annotations import read_sedeen_xml
from slidepatch.errors import AnnotationError, AnnotationWarning
from slidepatch.testing.annotation_files import assert_polygons_match as assert_matches
from slidepatch.testing.annotation_files import blob


def _graphic(kind: str, name: str, points: list[str]) -> str:
    listed = "".join(f"<point>{p}</point>" for p in points)
    return (
        f'<graphic type="{kind}" name="{name}"><pen color="#ff0000ff"/>'
        f"<point-list>{listed}</point-list></graphic>"
    )


def test_bad_graphic_is_skipped_with_its_index(tmp_path: Path) -> None:
    ring = blob(800, 800, 300, seed=1)
    graphics = [
        _graphic("polygon", "tumor", [f"{x},{y}" for x, y in ring]),
        _graphic("polygon", "broken", ["1,1", "2;2", "3,1"]),
        _graphic("ruler", "scale", ["0,0", "10,0"]),
        _graphic("ellipse", "round", ["0,0", "10,0", "10,10"]),
    ]
    path = tmp_path / "session.xml"
    path.write_text(
        '<?xml version="1.0"?><session><image identifier="s.svs"><overlays>'
        + "".join(graphics)
        + "</overlays></image></session>"
    )
    with pytest.warns(AnnotationWarning) as caught:
        polygons = read_sedeen_xml(path)
    assert_matches(polygons, [("tumor", shapely.Polygon(ring))])
    message = str(caught[0].message)
    assert "graphic 1 ('broken', type='polygon'): point 1: expected 'x,y', got '2;2'" in message
    assert "graphic 3 ('round', type='ellipse'): a ellipse needs 4 points, got 3" in message
    assert "1 ruler graphics" in message
    with pytest.raises(AnnotationError, match=r"session\.xml: graphic 1 \('broken'"):
        read_sedeen_xml(path, strict=True)
