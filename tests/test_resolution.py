"""Resolution values: ``level_or_mpp`` parsed once into Level / Mpp, written as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch import Level, Mpp, Slide
from slidepatch.extract.naming import level_comment
from slidepatch.resolution import resolution_of


@pytest.mark.parametrize(
    ("value", "parsed", "text", "comment"),
    [
        (1, Level(1), "1", "level1"),
        (np.int64(2), Level(2), "2", "level2"),
        (0.5, Mpp(0.5), "0.5", "mpp0.5"),
        (np.float32(0.25), Mpp(0.25), "0.25", "mpp0.25"),
        (1.0, Mpp(1.0), "1.0", "mpp1.0"),
    ],
)
def test_parsed_once_and_written_as_the_reference_value(
    value: object, parsed: object, text: str, comment: str
) -> None:
    res = resolution_of(value)
    assert res == parsed and resolution_of(res) is res
    assert res.text == repr(res.value) == text  # manifests and fingerprints as before
    assert level_comment(res.value) == comment  # multi-resolution file names as before


def test_a_level_and_the_same_number_as_mpp_are_different_keys() -> None:
    assert 1 == 1.0 and Level(1) != Mpp(1.0)
    assert len({Level(1): "a", Mpp(1.0): "b"}) == 2


@pytest.mark.parametrize("bad", [True, -1, 0.0, float("nan"), "1"])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="level_or_mpp"):
        resolution_of(bad)


def test_slide_plans_a_resolution_value(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        assert slide.plan(Level(1)) == slide.plan(1)
        assert slide.plan(Mpp(1.0)) == slide.plan(1.0)
        assert slide.plan(Mpp(1.0)).level == 1
