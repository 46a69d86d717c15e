"""Patch locations: sampling classes, their pools, and the PatchSet value."""

from slidepatch.locations.patchset import PatchSet, as_patchset

__all__ = ["PatchSet", "as_patchset"]
