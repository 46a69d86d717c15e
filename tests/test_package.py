"""The package's own facts: its version comes from the installed metadata."""

from __future__ import annotations

from importlib.metadata import version

import slidepatch


def test_version_is_the_installed_distributions() -> None:
    assert slidepatch.__version__ == version("slidepatch")


def test_read_options_and_resolutions_are_exported() -> None:
    assert slidepatch.ReadOptions().mpp_tolerance == 0.02
    assert "ReadOptions" in slidepatch.__all__


def test_the_types_of_public_signatures_are_exported() -> None:
    """What the typed signatures name (a per-region value, polygon and patch inputs, a parsed
    resolution) can be imported from the package itself."""
    for name in ("PerRegion", "PolygonSource", "PatchItem", "PatchSource", "MaskSource"):
        assert name in slidepatch.__all__ and hasattr(slidepatch, name)
    assert slidepatch.Resolution == slidepatch.Level | slidepatch.Mpp
    assert "Resolution" in slidepatch.__all__
