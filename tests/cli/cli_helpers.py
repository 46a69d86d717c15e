"""Helpers for the command line tests: the CLI in a subprocess, manifests, annotations."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "slidepatch", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def manifest_rows(out: Path) -> list[dict[str, str]]:
    """The CSV manifest rows written under an output folder."""
    rows: list[dict[str, str]] = []
    for manifest in sorted((out / "manifests").glob("*.csv")):
        with open(manifest, newline="") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def labels_by_slide(rows: list[dict[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(Path(row["slide_path"]).name, set()).add(row["label"])
    return out


def geojson(*polygons: tuple[str, int, int, int, int]) -> str:
    """A QuPath FeatureCollection of rectangles ``(label, x0, y0, x1, y1)``."""
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"classification": {"name": name}},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
                    },
                }
                for name, x0, y0, x1, y1 in polygons
            ],
        }
    )
