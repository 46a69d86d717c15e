"""The run fingerprint: equal for the same run through any path, and its differences read
as ``name=earlier, now name=now``."""

from __future__ import annotations

from pathlib import Path

from slidepatch import PatchSet, slide_identity
from slidepatch.extract.encoders import PatchEncoder
from slidepatch.extract.fingerprint import Fingerprint, disk_fingerprint, fingerprint_differences


def _fingerprint(ps: PatchSet, **changes: object) -> Fingerprint:
    options: dict[str, object] = {
        "jpeg_passthrough": False,
        "filename_comment": "",
        "filename_separator": "_",
        "create_subdirs": False,
        "included_labels": [],
        "excluded_labels": [],
        "resampling_mode": None,
        "levels_or_mpps": None,
        "global_counter": None,
    }
    options.update(changes)
    encoder = PatchEncoder.create(
        image_type=str(options.pop("image_type", "png")), jpeg_quality=75, png_compression=None
    )
    return disk_fingerprint(
        patch_set=ps,
        identity=slide_identity(ps.slide_path),
        encoder=encoder,
        **options,  # type: ignore[arg-type]
    )


def _set(slide: Path | str, mask: Path | str, seed: int = 1) -> PatchSet:
    return PatchSet.from_patch_data(
        slide_path=slide,
        level_or_mpp=0,
        patch_data=[((0, 0), (64, 64), "a"), ((64, 0), (64, 64), "b")],
        class_name="WholeImageRandomPatches",
        param_info={"wsi_file": str(slide), "mask_data": str(mask), "seed": seed},
    )


def test_same_run_through_symlinked_folders_is_the_same(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    mask = tmp_path / "masks" / "m.png"
    mask.parent.mkdir()
    mask.write_bytes(b"mask")
    (tmp_path / "slides").symlink_to(synthetic_svs.parent, target_is_directory=True)
    (tmp_path / "masks2").symlink_to(mask.parent, target_is_directory=True)
    direct = _fingerprint(_set(synthetic_svs, mask))
    linked = _fingerprint(_set(tmp_path / "slides" / synthetic_svs.name, tmp_path / "masks2/m.png"))
    assert fingerprint_differences(direct, linked) == []


def test_differences_name_each_parameter(synthetic_svs: Path, tmp_path: Path) -> None:
    mask = tmp_path / "m.png"
    mask.write_bytes(b"mask")
    base = _fingerprint(_set(synthetic_svs, mask))
    assert fingerprint_differences(base, _fingerprint(_set(synthetic_svs, mask, seed=2))) == [
        "seed=1, now seed=2"
    ]
    assert fingerprint_differences(
        base, _fingerprint(_set(synthetic_svs, mask), image_type="jpg", filename_comment="x")
    ) == [
        "image_type=png, now image_type=jpg",
        "jpeg_quality=None, now jpeg_quality=75",
        "filename_comment=, now filename_comment=x",
    ]
    one = PatchSet.from_patch_data(
        slide_path=synthetic_svs, level_or_mpp=0, patch_data=[((0, 0), (64, 64), "a")]
    )
    moved = PatchSet.from_patch_data(
        slide_path=synthetic_svs, level_or_mpp=0, patch_data=[((8, 0), (64, 64), "a")]
    )
    assert fingerprint_differences(_fingerprint(one), _fingerprint(one)) == []
    assert fingerprint_differences(_fingerprint(one), _fingerprint(moved)) == [
        "other patch locations"
    ]
    assert fingerprint_differences(None, base) == [
        "parameters that were not recorded (an older slidepatch wrote it)"
    ]
