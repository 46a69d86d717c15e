"""Mask: the reference's save methods, area-exact foreground fractions, overlay images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mask_helpers import BLUE, CMU, GREEN, blend, boundary, box_sums, read_png
from PIL import Image

from slidepatch.errors import MaskError
from slidepatch.masks import (
    Mask,
    WSITissueMask,
    load_mask,
)


def test_save_methods_take_the_reference_names_and_path_alias(
    cmu_mask: WSITissueMask, tmp_path: Path
) -> None:
    """png_file=/array_file= are the reference's keywords; slidepatch's path= still works."""
    mask = cmu_mask
    mask.save_png(png_file=tmp_path / "a.png")
    mask.save_png(path=tmp_path / "b.png")
    mask.save_array(array_file=tmp_path / "a.npz")
    mask.save_array(path=tmp_path / "b.npz")
    mask.save_overlay_png(png_file=tmp_path / "oa.png")
    mask.save_overlay_png(path=tmp_path / "ob.png")
    for a, b in (("a.png", "b.png"), ("a.npz", "b.npz")):
        loaded_a = load_mask(tmp_path / a, slide_dimensions=CMU).array
        assert np.array_equal(loaded_a, load_mask(tmp_path / b, slide_dimensions=CMU).array)
        assert np.array_equal(loaded_a, mask.array)
    with Image.open(tmp_path / "oa.png") as oa, Image.open(tmp_path / "ob.png") as ob:
        assert np.array_equal(np.asarray(oa), np.asarray(ob))
    for method, name in (
        (mask.save_png, "png_file"),
        (mask.save_array, "array_file"),
        (mask.save_overlay_png, "png_file"),
    ):
        with pytest.raises(TypeError, match=f"both {name}= and its alias path="):
            method(**{name: tmp_path / "x", "path": tmp_path / "y"})
        with pytest.raises(TypeError, match=f"pass {name}="):
            method()
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_foreground_fraction_is_area_exact() -> None:
    arr = np.zeros((10, 10), dtype=bool)
    arr[:, :5] = True
    mask = Mask(array=arr, slide_dimensions=(100, 100))
    frac = mask.foreground_fraction(
        x=np.array([0.0, 25.0, 45.0, -50.0]), y=np.zeros(4), width=50, height=50
    )
    assert frac == pytest.approx([1.0, 0.5, 0.1, 0.0])


def test_overlay_png_pixels(cmu_mask: WSITissueMask, cmu_level: np.ndarray, tmp_path: Path) -> None:
    cmu_mask.save_overlay_png(tmp_path / "o.png", mask_color="#FF8000", mask_alpha=0.3)
    out = read_png(tmp_path / "o.png")
    assert out.shape == cmu_level.shape and (out.shape[1], out.shape[0]) == CMU
    sums = box_sums(cmu_mask, 10)
    inside = np.argwhere(sums == 21 * 21)
    r, c = inside[len(inside) // 2] + 10
    assert np.array_equal(out[r, c], blend(cmu_level[r, c], (255, 128, 0), 0.3))
    r, c = np.argwhere(sums == 0)[0] + 10
    assert np.array_equal(out[r, c], cmu_level[r, c])
    edge = boundary(cmu_mask.array)
    assert (out[edge] == BLUE).all()
    # Away from the fill and the outline (which reaches 1 px out), the image is untouched.
    near_edge = np.pad(
        box_sums(Mask(array=edge, slide_dimensions=CMU), 2) > 0, 2, constant_values=True
    )
    untouched = ~cmu_mask.array & ~near_edge
    assert np.array_equal(out[untouched], cmu_level[untouched])


def test_overlay_layers_can_be_disabled(
    cmu_mask: WSITissueMask, cmu_level: np.ndarray, tmp_path: Path
) -> None:
    edge = boundary(cmu_mask.array)
    fill_only = tmp_path / "fill.png"
    cmu_mask.save_overlay_png(fill_only, outline_color=None)
    out = read_png(fill_only)
    arr = cmu_mask.array
    assert np.array_equal(out[arr], blend(cmu_level[arr], GREEN, 0.5))
    assert np.array_equal(out[~arr], cmu_level[~arr])

    outline_only = tmp_path / "outline.png"
    cmu_mask.save_overlay_png(outline_only, mask_color=None, outline_thickness=1)
    out = read_png(outline_only)
    assert (out[edge] == BLUE).all()
    assert np.array_equal(out[~edge], cmu_level[~edge])  # thickness 1: exactly the boundary


def test_overlay_bad_arguments(cmu_mask: WSITissueMask, tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    bad: list[dict[str, object]] = [
        {"mask_alpha": 1.5},
        {"mask_alpha": -0.1},
        {"mask_alpha": "half"},
        {"outline_thickness": 0},
        {"outline_thickness": 2.5},
        {"outline_thickness": True},
        {"mask_color": "not-a-colour"},
        {"outline_color": "#12345"},
        {"mask_color": (0, 255, 0)},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            cmu_mask.save_overlay_png(path, **kwargs)  # type: ignore[arg-type]
    assert not path.exists()
    with pytest.raises(MaskError, match="does not know its slide"):
        Mask(array=np.ones((297, 222)), slide_dimensions=CMU).save_overlay_png(path)
    with pytest.raises(MaskError, match=r"CMU-1-Small-Region.*size of its level"):
        thumb = Mask(
            array=np.ones((297, 222)), slide_dimensions=CMU, level=0, wsi_file=cmu_mask.wsi_file
        )
        thumb.save_overlay_png(path)
