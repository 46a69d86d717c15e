"""Online random sampling with qc= filters, on a slide of known white/black/tissue bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from slidepatch import LocationError, OnlineRandomPatches
from slidepatch.extract.qc import qc_scores
from slidepatch.slide import Slide

W, H = 1536, 1024  # x < 512 white glass, 512 <= x < 1024 black ink, x >= 1024 tissue
TISSUE_X = 1024
SIZE = 256
QC = {"max_white": 0.1, "max_black": 0.1}


@pytest.fixture(scope="module")
def banded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tifffile = pytest.importorskip("tifffile")
    synthetic = pytest.importorskip("slidepatch.testing.synthetic")
    image = np.empty((H, W, 3), dtype=np.uint8)
    image[:, :512] = 240
    image[:, 512:TISSUE_X] = 15
    image[:, TISSUE_X:] = synthetic.render_synthetic_region(
        width=W, height=H, downsample=1, box=(TISSUE_X, 0, W - TISSUE_X, H), tissue_fraction=1.0
    )
    low = image.reshape(H // 4, 4, W // 4, 4, 3).mean(axis=(1, 3)).astype(np.uint8)
    path = tmp_path_factory.mktemp("online") / "banded.tif"
    kw: dict[str, object] = {"tile": (128, 128), "photometric": "rgb", "compression": "zlib"}
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            image,
            subifds=1,
            metadata=None,
            resolution=(1e4 / 0.5, 1e4 / 0.5),
            resolutionunit="CENTIMETER",
            **kw,
        )
        tif.write(low, subfiletype=1, **kw)
    return path


def _everywhere() -> npt.NDArray[np.bool_]:
    return np.ones((H // 4, W // 4), dtype=bool)


def _recipe(path: Path, **kw: object) -> OnlineRandomPatches:
    args: dict[str, object] = {
        "wsi_file": path,
        "mask_data": _everywhere(),
        "num_patches": 20,
        "patch_size": SIZE,
        "foreground_ratio": 0.5,
    }
    return OnlineRandomPatches(**{**args, **kw})  # type: ignore[arg-type]


def _xy(ps: object) -> list[tuple[int, int]]:
    return list(zip(ps.x.tolist(), ps.y.tolist(), strict=True))  # type: ignore[attr-defined]


def test_filtered_draws_land_only_on_the_tissue_band(banded: Path) -> None:
    plain = _recipe(banded).sample(seed=3)
    assert min(plain.x.tolist()) < TISSUE_X - SIZE  # unfiltered draws hit glass and ink
    ps = _recipe(banded, qc=QC).sample(seed=3)
    assert len(ps) == 20 and len(set(_xy(ps))) == 20
    assert min(ps.x.tolist()) >= TISSUE_X - 0.15 * SIZE
    with Slide.open(banded) as slide:
        for x, y in _xy(ps):  # the read-level patch passes too
            s = qc_scores(slide.read_region((x, y), 0, (SIZE, SIZE)))
            assert s.white <= 0.15 and s.black <= 0.15


def test_same_seed_same_locations_and_a_new_seed_redraws(banded: Path) -> None:
    recipe = _recipe(banded, qc=QC)
    first = _xy(recipe.sample(seed=7))
    assert _xy(_recipe(banded, qc=dict(QC)).sample(seed=7)) == first
    assert _xy(recipe.sample(seed=8)) != first


def test_the_stream_yields_exactly_n_filtered_patches_per_slide(banded: Path) -> None:
    from slidepatch import iter_patch_batches

    recipes = [_recipe(banded, qc=QC, num_patches=n) for n in (12, 7)]
    with iter_patch_batches(
        patches_pool=recipes,
        batch_size=8,
        memory_budget="8MiB",
        proc_num_workers=1,
        thread_num_workers=1,
    ) as stream:
        batches = [b.copy() for b in stream]
    per_slide = {0: 0, 1: 0}
    for b in batches:
        for s, (x, _y) in zip(b.slide_index.tolist(), b.locations.tolist(), strict=True):
            per_slide[int(s)] += 1
            assert x >= TISSUE_X - 0.15 * SIZE
    assert per_slide == {0: 12, 1: 7}


def test_too_few_passing_candidates_names_the_slide_and_counts(banded: Path) -> None:
    glass = np.zeros((H // 4, W // 4), dtype=bool)
    glass[:, : 512 // 4] = True  # the mask allows only the white band
    recipe = _recipe(banded, mask_data=glass, qc=QC, num_patches=3)
    with pytest.raises(LocationError, match=r"banded\.tif.*only 0 of 3.*'white'"):
        recipe.sample(seed=0)


def test_thresholds_a_low_level_view_cannot_judge_are_refused(banded: Path) -> None:
    with pytest.raises(ValueError, match=r"banded\.tif.*min_blur"):
        _recipe(banded, qc={"min_blur": 10.0})
    with pytest.raises(ValueError, match="unknown threshold"):
        _recipe(banded, qc={"max_pink": 0.5})


def test_qc_views_are_read_with_the_recipes_read_options(
    banded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scoring views open the slide as the recipe says (backend, cache), not the defaults."""
    from slidepatch import ReadOptions

    wanted = ReadOptions(backend="tiffslide", tile_cache_bytes=1 << 20)
    opened: list[object] = []
    real_open = Slide.open

    def recording_open(path: object, **kw: object) -> Slide:
        slide = real_open(path, **kw)  # type: ignore[arg-type]
        opened.append(slide.read_options)
        return slide

    monkeypatch.setattr(Slide, "open", staticmethod(recording_open))
    ps = _recipe(banded, qc=QC, read_options=wanted).sample(seed=3)
    assert len(ps) == 20
    assert opened and all(o == wanted for o in opened)
