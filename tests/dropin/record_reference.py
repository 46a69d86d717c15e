"""Record what dplabtools 0.0.5 gives for the cases in ``reference_cases.py``.

Not run by the test suite: the expected values it writes are committed as
``tests/data/dplabtools_expected.json``. Recorded with the reference in its own virtual
environment (OpenSlide from the openslide-bin wheel), from the repository root::

    python3 -m venv /work/dpl-venv
    /work/dpl-venv/bin/pip install dplabtools==0.0.5 openslide-bin
    /work/dpl-venv/bin/python tests/dropin/record_reference.py

Poisson-disk cases are random in the reference (global ``random``), so they are run
``POISSON_RUNS`` times and their count range is recorded.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
OUTPUT = HERE.parent / "data" / "dplabtools_expected.json"
POISSON_RUNS = 5


def reference_namespace() -> SimpleNamespace:
    """dplabtools' classes under the names the examples import."""
    import importlib

    names = {
        "dplabtools.slides.patches": [
            "DiskPatchExtractorPool",
            "MemPatchExtractorPool",
            "MultiResDiskPatchExtractorPool",
            "PatchesMock",
            "PolygonRegionGridPatches",
            "PolygonRegionPoissonDiskPatches",
            "PolygonRegionRandomPatches",
            "WholeImageCustomPatches",
            "WholeImageGridPatches",
            "WholeImageGridPatchesPool",
            "WholeImageInvertedGridPatches",
            "WholeImageInvertedPoissonDiskPatches",
            "WholeImageInvertedRandomPatches",
            "WholeImagePoissonDiskPatches",
            "WholeImageRandomPatches",
        ],
        "dplabtools.slides.processing": ["WSIPolygonMask"],
        "dplabtools.slides.utils": ["AnnotationPolygon", "MaskData"],
    }
    namespace = SimpleNamespace()
    for module_name, attributes in names.items():
        module = importlib.import_module(module_name)
        for attribute in attributes:
            setattr(namespace, attribute, getattr(module, attribute))
    return namespace


def main() -> None:
    import dplabtools.config

    dplabtools.config.print_messages = False
    sys.path.insert(0, str(HERE))
    from reference_cases import CASES, RANDOM_CASES, write_inputs

    ns = reference_namespace()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = write_inputs(root)
        for name, case in CASES.items():
            runs = POISSON_RUNS if name in RANDOM_CASES else 1
            values = []
            for run in range(runs):
                out = root / f"{name}_{run}"
                out.mkdir()
                try:
                    values.append(case(ns, paths, out))
                except Exception as exc:  # recorded: the test expects the same failure
                    values.append({"error": f"{type(exc).__name__}: {exc}"})
            if name in RANDOM_CASES:
                counts = [v["count"] for v in values if "count" in v]
                results[name] = {"count_min": min(counts), "count_max": max(counts)}
            else:
                results[name] = values[0]
            print(name, str(results[name])[:120], flush=True)
    OUTPUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
