"""``slidepatch info``: what a slide is, before extracting anything from it."""

from __future__ import annotations

import argparse
import json
from typing import TypedDict

from slidepatch.slide import Slide


class LevelInfo(TypedDict):
    """One pyramid level of ``slidepatch info``."""

    level: int
    dimensions: list[int]
    downsample: float
    mpp: float | None
    tile_size: tuple[int, int] | None


class SlideInfo(TypedDict):
    """What ``slidepatch info`` prints (as text or JSON)."""

    path: str
    vendor: str | None
    backend: str
    dimensions: list[int]
    mpp: list[float] | None
    mpp_source: str
    objective_power: str | None
    level_count: int
    levels: list[LevelInfo]


def _tile_size(slide: Slide, level: int) -> tuple[int, int] | None:
    props = slide.properties
    width = props.get(f"openslide.level[{level}].tile-width")
    height = props.get(f"openslide.level[{level}].tile-height")
    if width and height:
        try:
            return int(width), int(height)
        except ValueError:
            return None
    return None


def describe_slide(path: str) -> SlideInfo:
    """Geometry and metadata of one slide, as plain values (for text or JSON output)."""
    with Slide.open(path) as slide:
        level_mpps = slide.level_mpps
        levels: list[LevelInfo] = []
        for level, (dims, downsample) in enumerate(
            zip(slide.level_dimensions, slide.level_downsamples, strict=True)
        ):
            levels.append(
                {
                    "level": level,
                    "dimensions": list(dims),
                    "downsample": downsample,
                    "mpp": None if level_mpps is None else level_mpps[level],
                    "tile_size": _tile_size(slide, level),
                }
            )
        objective = slide.properties.get("openslide.objective-power")
        return {
            "path": slide.path,
            "vendor": slide.vendor,
            "backend": slide.backend_name,
            "dimensions": list(slide.dimensions),
            "mpp": None if slide.mpp is None else list(slide.mpp),
            "mpp_source": slide.mpp_source,
            "objective_power": objective,
            "level_count": slide.level_count,
            "levels": levels,
        }


def _format_number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def format_description(info: SlideInfo) -> str:
    """The human-readable block printed by ``slidepatch info``."""
    w, h = info["dimensions"]
    mpp = info["mpp"]
    mpp_text = "unknown" if mpp is None else f"{mpp[0]:.4g} x {mpp[1]:.4g} µm/px"
    lines = [
        info["path"],
        f"  vendor:      {info['vendor'] or 'unknown'}",
        f"  backend:     {info['backend']}",
        f"  dimensions:  {w} x {h} px (level 0)",
        f"  mpp:         {mpp_text} (source: {info['mpp_source']})",
    ]
    if info["objective_power"]:
        lines.append(f"  objective:   {info['objective_power']}x")
    lines.append(f"  levels:      {info['level_count']}")
    lines.append(f"    {'level':>5}  {'width x height':>17}  {'downsample':>10}  {'mpp':>7}  tile")
    for lv in info["levels"]:
        lw, lh = lv["dimensions"]
        tile = "-" if lv["tile_size"] is None else f"{lv['tile_size'][0]}x{lv['tile_size'][1]}"
        lines.append(
            f"    {lv['level']:>5}  {f'{lw} x {lh}':>17}  {lv['downsample']:>10.4g}  "
            f"{_format_number(lv['mpp']):>7}  {tile}"
        )
    return "\n".join(lines)


def run_info(args: argparse.Namespace) -> int:
    """Describe every slide; stop at the first one that cannot be opened."""
    from slidepatch.slide.dicom_series import group_dicom_series

    described = []
    for path in group_dicom_series(list(args.slides)):  # a DICOM series is one slide
        info = describe_slide(path)
        if args.json:
            described.append(info)
        else:
            print(format_description(info), flush=True)
    if args.json:
        print(json.dumps(described, indent=2))
    return 0
