"""Reading a 100,000-feature QuPath export and turning it into patch locations.

Writes one tumour annotation holding N cells (24-vertex outlines, QuPath's "export all
objects" layout) and times, in CPU seconds of this process (the wall clock swings on a
shared machine): ``json.load`` alone (the floor any reader pays), ``read_geojson`` with
``object_types=None`` (every cell becomes a polygon), and ``PolygonRegionGridPatches`` on
those polygons (the cells are cut out of the annotation as holes). Run with N = 10,000
and 100,000 to see that time grows linearly.

Run: python benchmarks/bench_annotations.py [N ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from slidepatch import PolygonRegionGridPatches, read_geojson
from slidepatch.testing import write_synthetic_slide

WIDTH, HEIGHT = 3000, 2000


def _export(path: Path, cells: int) -> None:
    whole = [[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT], [0, 0]]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [whole]},
            "properties": {"objectType": "annotation", "classification": {"name": "Tumor"}},
        }
    ]
    rng = np.random.default_rng(0)
    gx, gy = np.meshgrid(np.arange(8, WIDTH - 8, 7.0), np.arange(8, HEIGHT - 8, 7.0))
    cx = gx.ravel()[:cells] + rng.uniform(-0.4, 0.4, cells)
    cy = gy.ravel()[:cells] + rng.uniform(-0.4, 0.4, cells)
    angles = np.linspace(0, 2 * np.pi, 25)[:-1]
    for x, y in zip(cx, cy, strict=True):
        ring = np.stack([x + 2.5 * np.cos(angles), y + 2.5 * np.sin(angles)], 1).round(2).tolist()
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                "properties": {"objectType": "cell", "classification": {"name": "Tumor"}},
            }
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    with tempfile.TemporaryDirectory() as tmp:
        slide = write_synthetic_slide(Path(tmp) / "s.svs", width=WIDTH, height=HEIGHT, seed=1)
        mask = np.ones((HEIGHT // 16, WIDTH // 16), dtype=bool)
        for n in sizes:
            path = Path(tmp) / f"cells_{n}.geojson"
            _export(path, n)
            t0 = time.process_time()
            with open(path) as fh:
                json.load(fh)
            t1 = time.process_time()
            polygons = read_geojson(path, object_types=None)
            t2 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                locations = PolygonRegionGridPatches(
                    wsi_file=slide, mask_data=mask, polygon_data=polygons, patch_size=64,
                    foreground_ratio=0,
                )  # fmt: skip
            t3 = time.process_time()
            print(
                f"{n:>7} cells ({path.stat().st_size / 2**20:.0f} MiB): json.load {t1 - t0:.2f} s, "
                f"read_geojson {t2 - t1:.2f} s ({(t2 - t1) / (t1 - t0):.1f} x json.load), "
                f"locations {t3 - t2:.2f} s ({locations.patch_count} patches); "
                f"per 1,000 features: {1000 * (t3 - t1) / n:.2f} s"
            )


if __name__ == "__main__":
    main()
