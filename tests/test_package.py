"""The package's own facts: its version comes from the installed metadata."""

from __future__ import annotations

from importlib.metadata import version

import slidepatch


def test_version_is_the_installed_distributions() -> None:
    assert slidepatch.__version__ == version("slidepatch")


def test_read_options_and_resolutions_are_exported() -> None:
    assert slidepatch.ReadOptions().mpp_tolerance == 0.02
    assert "ReadOptions" in slidepatch.__all__
