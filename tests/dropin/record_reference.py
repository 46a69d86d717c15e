"""Record what dplabtools 0.0.5 gives for the cases in ``reference_cases.py``.

Not run by the test suite: the expected values it writes are committed as
``tests/data/dplabtools_expected.json``. Recorded with the reference in its own virtual
environment (OpenSlide from the openslide-bin wheel), from the repository root::

    python3 -m venv /work/dpl-venv
    /work/dpl-venv/bin/pip install dplabtools==0.0.5 openslide-bin
    /work/dpl-venv/bin/python tests/dropin/record_reference.py            # both modules
    /work/dpl-venv/bin/python tests/dropin/record_reference.py ported_cases   # one, merged

The cases are the documentation examples (``reference_cases.py``) and the reference's own
test modules rewritten (``ported_cases.py``); naming modules records only their cases and
keeps the other recorded values. Random cases (Poisson disk, random sampling) are run
``POISSON_RUNS`` times and their count range is recorded, with the labels they gave.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from types import ModuleType, SimpleNamespace

HERE = Path(__file__).resolve().parent
OUTPUT = HERE.parent / "data" / "dplabtools_expected.json"
POISSON_RUNS = 5


def reference_namespace(extra: dict[str, list[str]] | None = None) -> SimpleNamespace:
    """dplabtools' classes under the names the examples import (plus ``extra``)."""
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
    for module_name, attributes in (extra or {}).items():
        names[module_name] = sorted({*names.get(module_name, []), *attributes})
    namespace = SimpleNamespace()
    for module_name, attributes in names.items():
        module = importlib.import_module(module_name)
        for attribute in attributes:
            setattr(namespace, attribute, getattr(module, attribute))
    return namespace


def _record(module: ModuleType, ns: SimpleNamespace, root: Path) -> dict[str, object]:
    results: dict[str, object] = {}
    inputs = root / module.__name__
    inputs.mkdir()
    paths = module.write_inputs(inputs)
    for name, case in module.CASES.items():
        random_case = name in module.RANDOM_CASES
        runs = POISSON_RUNS if random_case else 1
        values = []
        for run in range(runs):
            out = root / f"{name}_{run}"
            out.mkdir()
            try:
                values.append(case(ns, paths, out))
            except Exception as exc:  # recorded: the test expects the same failure
                values.append({"error": f"{type(exc).__name__}: {exc}"})
        if random_case and "count" in values[0]:
            counts = [v["count"] for v in values if "count" in v]
            results[name] = {"count_min": min(counts), "count_max": max(counts)}
            if "labels" in values[0]:
                results[name]["labels"] = values[0]["labels"]  # type: ignore[index]
        else:
            results[name] = values[0]
        print(name, str(results[name])[:120], flush=True)
    return results


def main() -> None:
    import importlib

    import dplabtools.config

    dplabtools.config.print_messages = False
    sys.path.insert(0, str(HERE))
    module_names = sys.argv[1:] or ["reference_cases", "ported_cases"]
    modules = [importlib.import_module(name) for name in module_names]
    extra: dict[str, list[str]] = {}
    for module in modules:
        for module_name, attributes in getattr(module, "NAMES", {}).items():
            extra[module_name] = [*extra.get(module_name, []), *attributes]
    ns = reference_namespace(extra)
    from dplabtools.slides.patches.extractors.mixins import MultiResDiskPatchExtractorMixin

    def fresh_multires_counter() -> None:
        """What the reference's multi-resolution tests patch before each test."""
        MultiResDiskPatchExtractorMixin._global_patchset_counter = None

    ns.fresh_multires_counter = fresh_multires_counter
    results: dict[str, object] = (
        json.loads(OUTPUT.read_text(encoding="utf-8")) if sys.argv[1:] else {}
    )
    with tempfile.TemporaryDirectory() as tmp:
        for module in modules:
            results.update(_record(module, ns, Path(tmp)))
    OUTPUT.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
