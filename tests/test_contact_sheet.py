"""Contact sheets: one row per label, seeded samples, from memory or from an output folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch.contact_sheet import contact_sheet_from_output, make_contact_sheet
from slidepatch.errors import OutputError

COLOURS = {"stroma": (0, 200, 0), "tumor": (200, 0, 0), "": (0, 0, 200)}
THUMB = 32
MARGIN = 6  # the sheet's spacing between cells


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (20, 20)) -> np.ndarray:
    return np.full((size[1], size[0], 3), colour, dtype=np.uint8)


def cell_colour(sheet: Image.Image, row: int, column: int) -> tuple[int, int, int]:
    """Colour at the centre of a cell, counting cells from the right edge of the sheet."""
    step = THUMB + MARGIN
    columns_right = sheet.width - MARGIN - (column + 1) * step + MARGIN
    x = columns_right + THUMB // 2
    y = MARGIN + row * step + THUMB // 2
    return sheet.getpixel((x, y))  # type: ignore[return-value]


def test_one_row_per_label_sorted_and_capped() -> None:
    patches = [(solid(COLOURS[label]), label) for label in ("tumor", "stroma", "") * 5]
    sheet = make_contact_sheet(patches=patches, per_label=3, thumb_size=THUMB)
    assert sheet.height == MARGIN + 3 * (THUMB + MARGIN)
    # rows sorted by label: "" (no label), "stroma", "tumor"; 3 columns each
    for row, label in enumerate(["", "stroma", "tumor"]):
        for column in range(3):
            assert cell_colour(sheet, row, column) == COLOURS[label]


def test_fewer_patches_than_per_label_leaves_white_cells() -> None:
    patches = [(solid(COLOURS["tumor"]), "tumor")] * 4 + [(solid(COLOURS["stroma"]), "stroma")]
    sheet = make_contact_sheet(patches=patches, per_label=4, thumb_size=THUMB)
    # columns are counted from the right: stroma's only patch is in the leftmost column
    assert cell_colour(sheet, 0, 3) == COLOURS["stroma"]
    assert cell_colour(sheet, 0, 0) == (255, 255, 255)
    assert all(cell_colour(sheet, 1, c) == COLOURS["tumor"] for c in range(4))


def test_sampling_is_seeded() -> None:
    rng = np.random.default_rng(3)
    patches = [(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), "a") for _ in range(50)]
    first = np.asarray(make_contact_sheet(patches=patches, per_label=5, seed=1))
    again = np.asarray(make_contact_sheet(patches=iter(patches), per_label=5, seed=1))
    other = np.asarray(make_contact_sheet(patches=patches, per_label=5, seed=2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_pil_images_non_square_patches_and_saving(tmp_path: Path) -> None:
    wide = Image.fromarray(solid(COLOURS["tumor"], size=(64, 16)))
    path = tmp_path / "sheets" / "sheet.png"
    sheet = make_contact_sheet(patches=[(wide, "tumor")], path=path, thumb_size=THUMB)
    assert path.is_file()
    with Image.open(path) as saved:
        assert saved.size == sheet.size
    # the wide patch is scaled to the cell width and centred vertically on white
    top = MARGIN
    left = sheet.width - MARGIN - THUMB
    assert sheet.getpixel((left + THUMB // 2, top + THUMB // 2)) == COLOURS["tumor"]
    assert sheet.getpixel((left + THUMB // 2, top + 1)) == (255, 255, 255)


def test_multiresolution_items_get_a_row_per_resolution() -> None:
    items = [[(solid((10, 10, 10)), "t"), (solid((90, 90, 90)), "t")] for _ in range(3)]
    sheet = make_contact_sheet(patches=items, per_label=2, thumb_size=THUMB)
    assert sheet.height == MARGIN + 2 * (THUMB + MARGIN)
    assert cell_colour(sheet, 0, 0) == (10, 10, 10)
    assert cell_colour(sheet, 1, 0) == (90, 90, 90)


def test_no_patches_gives_a_small_sheet() -> None:
    sheet = make_contact_sheet(patches=[])
    assert sheet.width > 0 and sheet.height > 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"patches": [("not an image pair",)]},
        {"patches": [(np.zeros((4, 4, 3), np.float32), "a")]},
        {"patches": [], "per_label": 0},
        {"patches": [], "thumb_size": 2},
    ],
)
def test_bad_input_is_a_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_contact_sheet(**kwargs)  # type: ignore[arg-type]


def test_from_output_reads_the_manifests(synthetic_tiff: Path, tmp_path: Path) -> None:
    from slidepatch.locations import PatchSet
    from slidepatch.pools import DiskPatchExtractorPool

    tumor = [((240 * i, 0), (64, 64), "tumor") for i in range(5)]
    stroma = [((240 * i, 480), (64, 64), "stroma") for i in range(2)]
    patch_set = PatchSet.from_patch_data(
        slide_path=str(synthetic_tiff), level_or_mpp=0, patch_data=tumor + stroma
    )
    out = tmp_path / "out"
    out.mkdir()
    pool = DiskPatchExtractorPool(
        patches_pool=[patch_set],
        proc_num_workers=1,
        thread_num_workers=1,
        output_dir=out,
        image_type="png",
    )
    sheet_path = out / "sheet.png"
    sheet = contact_sheet_from_output(
        output_dir=out, path=sheet_path, per_label=3, thumb_size=THUMB
    )
    assert sheet_path.is_file()
    assert sheet.height == MARGIN + 2 * (THUMB + MARGIN)  # rows: stroma, tumor
    only_this_run = contact_sheet_from_output(
        output_dir=out,
        manifest_ids=[m for m in pool.manifest_ids if m],
        per_label=3,
        thumb_size=THUMB,
    )
    assert only_this_run.size == sheet.size
    nothing = contact_sheet_from_output(output_dir=out, manifest_ids=["zzzzzzzz"], thumb_size=THUMB)
    assert nothing.height < sheet.height


def test_from_output_needs_a_manifest_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="manifests"):
        contact_sheet_from_output(output_dir=tmp_path)
