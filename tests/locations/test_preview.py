"""Previews: the reference's size by default; max_size and legend when asked; the CLI's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from slidepatch import PolygonRegionGridPatches, WholeImageGridPatches, WSITissueMask
from slidepatch.annotations import AnnotationPolygon
from slidepatch.locations.preview import LABEL_COLORS


def _colors(image: Image.Image) -> set[tuple[int, int, int]]:
    rgb = np.asarray(image.convert("RGB")).reshape(-1, 3)
    return {tuple(int(v) for v in c) for c in np.unique(rgb, axis=0)}


def test_default_preview_has_the_mask_size(synthetic_slide: Path, tmp_path: Path) -> None:
    mask = WSITissueMask(wsi_file=synthetic_slide, level_or_minsize=1)  # 768 x 512
    loc = WholeImageGridPatches(
        wsi_file=synthetic_slide, mask_data=mask, patch_size=256, foreground_ratio=0.5
    )
    loc.save_preview_image(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").size == (768, 512)
    # a mask array of any scale: the preview is drawn at that scale
    small = np.ones((100, 150), dtype=bool)
    loc = WholeImageGridPatches(wsi_file=synthetic_slide, mask_data=small, patch_size=256)
    loc.save_preview_image(tmp_path / "q.png")
    assert Image.open(tmp_path / "q.png").size == (150, 100)


def test_max_size_and_legend(synthetic_slide: Path, tmp_path: Path) -> None:
    polygons = [
        AnnotationPolygon(points=[(0, 0), (1536, 0), (1536, 2048), (0, 2048)], label="tumor"),
        AnnotationPolygon(
            points=[(1536, 0), (3072, 0), (3072, 2048), (1536, 2048)], label="stroma"
        ),
    ]
    loc = PolygonRegionGridPatches(
        wsi_file=synthetic_slide,
        mask_data=np.ones((128, 192), dtype=bool),
        polygon_data=polygons,
        patch_size=256,
        foreground_ratio=0.5,
    )
    plain = tmp_path / "plain.png"
    loc.save_preview_image(plain, max_size=1000)
    assert Image.open(plain).size == (1000, 667)
    assert Image.open(plain).mode == "RGB"
    legend = tmp_path / "legend.png"
    loc.save_preview_image(legend, max_size=1000, legend=True)
    image = Image.open(legend)
    assert image.size == (1000, 667)
    assert image.mode == "P"  # a palette PNG: several times smaller than the RGB one
    assert legend.stat().st_size < plain.stat().st_size / 2
    colors = _colors(image)
    # one colour per label (label_names are sorted: stroma, tumor)
    assert LABEL_COLORS[0] in colors and LABEL_COLORS[1] in colors
    rgb = np.asarray(image.convert("RGB"))
    assert (rgb[3, 3] == 255).all()  # the legend's white box at the top left


def test_cli_previews_are_bounded_and_labelled(synthetic_svs: Path, tmp_path: Path) -> None:
    notes = tmp_path / "synthetic.geojson"
    features = [
        {
            "type": "Feature",
            "properties": {"classification": {"name": name}},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x0, 0], [x1, 0], [x1, 2000], [x0, 2000], [x0, 0]]],
            },
        }
        for name, x0, x1 in (("tumor", 0, 1500), ("stroma", 1500, 3000))
    ]
    notes.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out = tmp_path / "o"
    command = [sys.executable, "-m", "slidepatch", "extract", str(synthetic_svs)]
    command += ["--out", str(out), "--procs", "1", "--quiet", "--annotations", str(notes)]
    command += ["--foreground-ratio", "0.5", "--preview", "--max-patches", "20"]
    command += ["--mask-min-size", "400"]  # a level-1 mask: quick
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    preview = Image.open(out / "previews" / "synthetic.png")
    assert preview.size == (2048, 1365)  # 3000 x 2000 slide, long side 2048 by default
    assert preview.mode == "P"
    colors = _colors(preview)
    assert LABEL_COLORS[0] in colors and LABEL_COLORS[1] in colors
    small = subprocess.run(
        [*command, "--preview-size", "600", "--out", str(tmp_path / "o2")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert small.returncode == 0, small.stderr
    assert Image.open(tmp_path / "o2" / "previews" / "synthetic.png").size == (600, 400)
