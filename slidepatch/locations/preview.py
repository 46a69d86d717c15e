"""Preview images: a low-resolution slide level with patches, boxes and polygons drawn."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike, fspath
from typing import TYPE_CHECKING, Any

from slidepatch.errors import LocationError

if TYPE_CHECKING:
    from slidepatch.locations.base import LocationsBase

# A preview is drawn at the mask's level (the reference's size) or, when the mask is not a
# level, read from the lowest level whose long side is at least this many pixels, unless
# level_or_minsize says otherwise.
DEFAULT_PREVIEW_SIZE = 2048


def _default_level(locations: LocationsBase, level_dimensions: Sequence[tuple[int, int]]) -> int:
    """The mask's level, as the reference draws previews at the mask's size; without a
    mask that is a level, the lowest level whose long side is at least DEFAULT_PREVIEW_SIZE."""
    from slidepatch.locations.base import _matching_level

    mask = getattr(locations, "mask", None)
    if mask is not None:
        matching = _matching_level(level_dimensions, mask.dimensions)
        if matching is not None:
            return matching
    level = 0
    for i, (w, h) in enumerate(level_dimensions):
        if max(w, h) >= DEFAULT_PREVIEW_SIZE:
            level = i
    return level


def parse_color(color: str | None, *, name: str, path: str) -> tuple[int, int, int] | None:
    """A colour name or ``#rrggbb`` (anything PIL.ImageColor knows); None disables a layer."""
    from PIL import ImageColor

    if color is None:
        return None
    try:
        rgb = ImageColor.getrgb(str(color))
    except ValueError as exc:
        raise LocationError(path, f"{name}: unknown colour {color!r}") from exc
    return (int(rgb[0]), int(rgb[1]), int(rgb[2]))


def _rings(geom: Any) -> tuple[list[Any], list[Any]]:
    exteriors: list[Any] = []
    interiors: list[Any] = []
    for part in getattr(geom, "geoms", [geom]):
        if part.is_empty or not hasattr(part, "exterior"):
            continue
        exteriors.append(list(part.exterior.coords))
        interiors.extend(list(r.coords) for r in part.interiors)
    return exteriors, interiors


def draw_preview(
    locations: LocationsBase,
    image_file: str | PathLike[str],
    *,
    patch_color: str | None,
    bbox_color: str | None,
    polygon_color: str | None,
    holes_color: str | None,
    buffer_color: str | None,
    thickness: int,
    patch_markers: bool,
    level_or_minsize: int | None,
    drawn_labels: Sequence[str],
    drawn_patches_labels: Sequence[str],
) -> None:
    from PIL import Image, ImageDraw

    from slidepatch.masks import resolve_level_or_minsize
    from slidepatch.slide import Slide

    path = locations.wsi_file
    colors = {
        key: parse_color(value, name=key, path=path)
        for key, value in (
            ("patch_color", patch_color),
            ("bbox_color", bbox_color),
            ("polygon_color", polygon_color),
            ("holes_color", holes_color),
            ("buffer_color", buffer_color),
        )
    }
    width = max(1, int(thickness))
    with Slide.open(path, mpp=locations.slide_mpp) as slide:
        if level_or_minsize is None:
            level = _default_level(locations, slide.level_dimensions)
        else:
            level = resolve_level_or_minsize(level_or_minsize, slide.level_dimensions, path=path)
        pixels = slide.read_level(level)
        w0, h0 = slide.dimensions
    image = Image.fromarray(pixels)
    sx, sy = image.width / w0, image.height / h0
    draw = ImageDraw.Draw(image)

    def pts(coords: Any) -> list[tuple[float, float]]:
        return [(float(x) * sx, float(y) * sy) for x, y in coords]

    def outline(coords: Any, color: tuple[int, int, int]) -> None:
        p = pts(coords)
        if len(p) >= 2:
            draw.line([*p, p[0]], fill=color, width=width, joint="curve")

    labels = set(map(str, drawn_labels))
    patch_labels = labels or set(map(str, drawn_patches_labels))
    ps = locations.patch_set
    fp = locations.level0_footprint
    if colors["patch_color"] is not None:
        for x, y, label in zip(ps.x, ps.y, ps.labels, strict=True):
            if patch_labels and label not in patch_labels:
                continue
            box = (x * sx, y * sy, (x + fp) * sx, (y + fp) * sy)
            draw.rectangle(box, outline=colors["patch_color"], width=width)
            if patch_markers:
                r = 2 * width
                draw.ellipse(
                    (x * sx - r, y * sy - r, x * sx + r, y * sy + r), fill=colors["patch_color"]
                )
    for region in locations.regions:
        if labels and region.label not in labels:
            continue
        if colors["bbox_color"] is not None:
            x1, y1, x2, y2 = region.bbox
            draw.rectangle(
                (x1 * sx, y1 * sy, x2 * sx, y2 * sy), outline=colors["bbox_color"], width=width
            )
        for polygon in region.supplied:
            if colors["polygon_color"] is not None:
                outline(polygon.points, colors["polygon_color"])
            if colors["holes_color"] is not None:
                for hole in polygon.holes:
                    outline(hole, colors["holes_color"])
        if region.buffered is not None and colors["buffer_color"] is not None:
            exteriors, interiors = _rings(region.buffered)
            for ring in exteriors + interiors:
                outline(ring, colors["buffer_color"])
    image.save(fspath(image_file))
