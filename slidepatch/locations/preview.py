"""Preview images: a low-resolution slide level with patches, boxes and polygons drawn.

By default the image has the mask's size, as the reference drew it. ``max_size`` bounds
the long side instead (the command line uses 2,048 px); ``legend`` colours patches by
label and draws a legend with the slide's name and counts, and saves a palette PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike, fspath
from typing import TYPE_CHECKING, Any

from slidepatch.errors import LocationError

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from slidepatch.locations.base import LocationsBase
    from slidepatch.locations.patchset import PatchSet
    from slidepatch.slide import Slide

# The command line's preview size: the long side, in pixels.
DEFAULT_PREVIEW_SIZE = 2048
# With a legend the image is a palette PNG: the slide gets this many entries, the drawing's
# colours (exact) the rest.
BACKGROUND_COLORS = 192
# Patch colours by label when a legend is drawn (distinct on H&E pink and on white).
LABEL_COLORS = (
    (230, 25, 75),
    (0, 130, 200),
    (60, 180, 75),
    (245, 130, 48),
    (145, 30, 180),
    (0, 0, 0),
    (240, 50, 230),
    (128, 128, 0),
    (0, 128, 128),
    (170, 110, 40),
)


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


def _level_image(
    slide: Slide,
    *,
    mask_level: int | None,
    mask_size: tuple[int, int],
    level_or_minsize: int | None,
    max_size: int | None,
    path: str,
) -> PILImage.Image:
    """The background: the chosen level, or the mask's size (default), or within max_size."""
    from PIL import Image

    from slidepatch.masks import resolve_level_or_minsize

    dims = slide.level_dimensions
    if level_or_minsize is not None:
        level = resolve_level_or_minsize(level_or_minsize, dims, path=path)
        target = dims[level]
    elif max_size is not None:
        level = max([0] + [i for i, (w, h) in enumerate(dims) if max(w, h) >= max_size])
        target = dims[level]
    elif mask_level is not None and 0 <= mask_level < len(dims) and dims[mask_level] == mask_size:
        level, target = mask_level, mask_size
    else:  # a mask of any scale: the coarsest level at least its size, resized to it
        bigger = [i for i, (w, h) in enumerate(dims) if w >= mask_size[0] and h >= mask_size[1]]
        level, target = max(bigger, default=0), mask_size
    pixels, _ = slide.read_level_bounded(level)  # a huge level: a streamed downsample
    image = Image.fromarray(pixels)
    if max_size is not None and max(target) > max_size:
        scale = max_size / max(target)
        target = (max(1, round(target[0] * scale)), max(1, round(target[1] * scale)))
    size = (int(target[0]), int(target[1]))
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    return image


def _legend(
    image: PILImage.Image,
    *,
    title: str,
    counts: dict[str, int],
    colors: dict[str, tuple[int, int, int]],
) -> None:
    """Slide name, patch count and one swatch per label, in a white box at the top left."""
    from PIL import ImageDraw, ImageFont

    size = max(12, round(max(image.size) / 90))
    font = ImageFont.load_default(size=size)
    total = sum(counts.values())
    lines: list[tuple[str, tuple[int, int, int] | None]] = [(f"{title}: {total} patches", None)]
    lines += [(f"{label or '(no label)'}: {n}", colors.get(label)) for label, n in counts.items()]
    draw = ImageDraw.Draw(image)
    pad = size // 2
    widths = [draw.textlength(text, font=font) for text, _ in lines]
    box_w = int(max(widths) + 3 * pad + size)
    box_h = int(len(lines) * (size + pad) + pad)
    draw.rectangle((0, 0, box_w, box_h), fill=(255, 255, 255), outline=(0, 0, 0))
    for i, (text, color) in enumerate(lines):
        y = pad + i * (size + pad)
        x = pad
        if color is not None:
            draw.rectangle((x, y, x + size, y + size), fill=color)
            x += size + pad
        draw.text((x, y), text, fill=(0, 0, 0), font=font)


def _save(image: PILImage.Image, image_file: str) -> None:
    """Save a palette image as a compact PNG, or in RGB for other formats."""
    if image.mode != "P":
        image.save(image_file)
    elif image_file.lower().endswith(".png"):
        image.save(image_file, optimize=True)
    elif image_file.lower().endswith((".jpg", ".jpeg")):
        image.convert("RGB").save(image_file, quality=85)
    else:
        image.convert("RGB").save(image_file)


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
    max_size: int | None = None,
    legend: bool = False,
    patch_set: PatchSet | None = None,
) -> None:
    """Draw ``locations`` (or ``patch_set``, e.g. a capped subset of them) on the slide."""
    from PIL import ImageDraw

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
    if max_size is not None and (isinstance(max_size, bool) or int(max_size) < 1):
        raise LocationError(path, f"max_size must be a positive int, got {max_size!r}")
    mask = locations.mask
    with Slide.open(path, mpp=locations.slide_mpp) as slide:
        image = _level_image(
            slide,
            mask_level=mask.level if mask.wsi_file is not None else None,
            mask_size=mask.dimensions,
            level_or_minsize=level_or_minsize,
            max_size=max_size,
            path=path,
        )
        w0, h0 = slide.dimensions
    if legend:  # the slide in BACKGROUND_COLORS palette entries; the drawing keeps the rest
        from PIL import Image

        image = image.quantize(colors=BACKGROUND_COLORS, method=Image.Quantize.FASTOCTREE)
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
    ps = locations.patch_set if patch_set is None else patch_set
    fp = locations.level0_footprint
    by_label = _label_colors(ps.label_names) if legend else {}
    if colors["patch_color"] is not None:
        for x, y, label in zip(ps.x, ps.y, ps.labels, strict=True):
            if patch_labels and label not in patch_labels:
                continue
            color = by_label.get(label, colors["patch_color"])
            box = (x * sx, y * sy, (x + fp) * sx, (y + fp) * sy)
            draw.rectangle(box, outline=color, width=width)
            if patch_markers:
                r = 2 * width
                draw.ellipse((x * sx - r, y * sy - r, x * sx + r, y * sy + r), fill=color)
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
    if legend:
        import os

        _legend(image, title=os.path.basename(path), counts=ps.patch_info, colors=by_label)
    _save(image, fspath(image_file))


def _label_colors(labels: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    return {label: LABEL_COLORS[i % len(LABEL_COLORS)] for i, label in enumerate(labels)}
