"""hs2p tiling artifacts: the NPZ + meta JSON pair in hs2p's schema, both ways."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from slidepatch import CoordinateFileError, CustomPatches, WholeImageGridPatches

# hs2p's documented meta schema: exactly these sections and keys (its loader rejects others).
SCHEMA = {
    "provenance": {"sample_id", "image_path", "mask_path", "backend", "requested_backend"},
    "slide": {"dimensions", "base_spacing_um", "level_downsamples"},
    "tiling": {
        "requested_tile_size_px", "requested_spacing_um", "read_level", "read_tile_size_px",
        "read_spacing_um", "tile_size_lv0", "tolerance", "step_px_lv0", "overlap",
        "min_tissue_fraction", "is_within_tolerance", "n_tiles",
    },
    "segmentation": {
        "tissue_method", "seg_downsample", "seg_level", "seg_spacing_um", "sthresh",
        "sthresh_up", "mthresh", "close", "mask_path", "ref_tile_size_px",
        "tissue_mask_tissue_value", "mask_level", "mask_spacing_um",
    },
    "filtering": {
        "a_t", "a_h", "filter_white", "filter_black", "white_threshold", "black_threshold",
        "fraction_threshold", "filter_grayspace", "grayspace_saturation_threshold",
        "grayspace_fraction_threshold", "filter_blur", "blur_threshold", "qc_spacing_um",
    },
    "artifact": {"coordinate_space", "tile_order", "annotation", "selection_strategy",
                 "output_mode"},
}  # fmt: skip


def test_round_trip_schema_and_exact_sizes(grid_mpp: WholeImageGridPatches, tmp_path: Path) -> None:
    path = grid_mpp.save_coordinates(tmp_path / "out", format="hs2p")
    assert Path(path) == tmp_path / "out/tiles/scan263.coordinates.npz"
    meta = json.loads((tmp_path / "out/tiles/scan263.coordinates.meta.json").read_text())
    assert {k: set(v) for k, v in meta.items()} == SCHEMA
    tiling = meta["tiling"]
    assert tiling["requested_tile_size_px"] == 256 and tiling["requested_spacing_um"] == 0.5
    assert tiling["tile_size_lv0"] == 487 and tiling["n_tiles"] == grid_mpp.patch_count
    # 0.5 µm/px is no level: read from level 0 (0.263) and resized, as slidepatch reads it.
    assert tiling["is_within_tolerance"] is False and tiling["read_level"] == 0
    assert tiling["read_tile_size_px"] == 487 and tiling["read_spacing_um"] == 0.263
    assert meta["slide"] == {
        "dimensions": [3000, 2000], "base_spacing_um": 0.263, "level_downsamples": [1.0, 2.0, 4.0]
    }  # fmt: skip
    assert meta["provenance"]["sample_id"] == "scan263"
    assert meta["artifact"]["coordinate_space"] == "level0_px"
    with np.load(path) as data:
        assert data["tile_index"].dtype == np.int32
        assert data["tile_index"].tolist() == list(range(grid_mpp.patch_count))
        assert data["x"].dtype == data["y"].dtype == np.int64
        assert data["tissue_fractions"].dtype == np.float32
        assert np.isnan(data["tissue_fractions"]).all()  # not computed by slidepatch
    back = CustomPatches.from_coordinates(path, wsi_file=grid_mpp.wsi_file)
    assert back.patch_data == grid_mpp.patch_data and back.level_or_mpp == 0.5
    # The meta JSON names the pair too.
    meta_path = tmp_path / "out/tiles/scan263.coordinates.meta.json"
    assert CustomPatches.from_coordinates(meta_path, wsi_file=grid_mpp.wsi_file).patch_data == (
        grid_mpp.patch_data
    )


def _hs2p_pair(folder: Path, sample_id: str, x: list[int], y: list[int], **tiling: object) -> Path:
    """An artifact pair as hs2p's writer lays it out (no slidepatch keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(x)
    npz = folder / f"{sample_id}.coordinates.npz"
    if n:
        np.savez_compressed(
            npz, tile_index=np.arange(n, dtype=np.int32), x=np.asarray(x, np.int64),
            y=np.asarray(y, np.int64), tissue_fractions=np.full(n, 0.9, np.float32),
        )  # fmt: skip
    base = {key: None for key in SCHEMA["tiling"]}
    base.update(tiling, n_tiles=n)
    meta = {section: dict.fromkeys(keys) for section, keys in SCHEMA.items()}
    meta["tiling"] = base
    meta["slide"] = {
        "dimensions": [3000, 2000], "base_spacing_um": 0.25, "level_downsamples": [1, 4, 16]
    }  # fmt: skip
    meta["provenance"]["sample_id"] = sample_id
    (folder / f"{sample_id}.coordinates.meta.json").write_text(json.dumps(meta, indent=2))
    return npz


def test_hs2ps_own_pair_within_tolerance_reads_its_level(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    npz = _hs2p_pair(
        tmp_path / "tiles", "synthetic", [0, 224], [448, 448], requested_tile_size_px=224,
        requested_spacing_um=1.0, read_level=1, read_tile_size_px=224, read_spacing_um=1.0,
        tile_size_lv0=896, is_within_tolerance=True,
    )  # fmt: skip
    back = CustomPatches.from_coordinates(npz, wsi_file=synthetic_svs)
    assert back.level_or_mpp == 1
    assert back.patch_data == [((0, 448), (224, 224), ""), ((224, 448), (224, 224), "")]


def test_hs2ps_own_pair_outside_tolerance_reads_the_requested_spacing(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    npz = _hs2p_pair(
        tmp_path / "tiles", "synthetic", [512], [0], requested_tile_size_px=256,
        requested_spacing_um=0.5, read_level=0, read_tile_size_px=512, read_spacing_um=0.25,
        tile_size_lv0=512, is_within_tolerance=False,
    )  # fmt: skip
    back = CustomPatches.from_coordinates(npz, wsi_file=synthetic_svs)
    assert back.level_or_mpp == 0.5 and back.patch_data == [((512, 0), (256, 256), "")]


def test_empty_slide_has_only_the_meta_json(slide_263: Path, tmp_path: Path) -> None:
    empty = WholeImageGridPatches(
        wsi_file=slide_263, mask_data=np.zeros((20, 30), bool), patch_size=256, level_or_mpp=1
    )
    path = empty.save_coordinates(tmp_path, format="hs2p")
    assert Path(path) == tmp_path / "tiles/scan263.coordinates.meta.json"
    assert not (tmp_path / "tiles/scan263.coordinates.npz").exists()  # as hs2p: none if empty
    meta = json.loads(Path(path).read_text())
    assert meta["tiling"]["n_tiles"] == 0 and meta["tiling"]["read_level"] == 1
    back = CustomPatches.from_coordinates(path, wsi_file=slide_263, format="hs2p")
    assert back.patch_count == 0 and back.level_or_mpp == 1


def test_an_npz_that_disagrees_with_its_meta_is_an_error(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    npz = _hs2p_pair(
        tmp_path / "tiles", "synthetic", [0, 1], [0, 1], requested_tile_size_px=256,
        requested_spacing_um=0.25, read_level=0, read_tile_size_px=256, read_spacing_um=0.25,
        tile_size_lv0=256, is_within_tolerance=True,
    )  # fmt: skip
    meta_path = tmp_path / "tiles/synthetic.coordinates.meta.json"
    meta = json.loads(meta_path.read_text())
    meta["tiling"]["n_tiles"] = 5
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CoordinateFileError, match=r"holds 2 tiles but .* says 5"):
        CustomPatches.from_coordinates(npz, wsi_file=synthetic_svs)
