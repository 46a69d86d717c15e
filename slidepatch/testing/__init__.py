"""Test support: synthetic pyramidal slides made from real histology texture."""

from slidepatch.testing.synthetic import (
    render_synthetic_region,
    synthetic_tissue_mask,
    write_synthetic_slide,
)

__all__ = ["render_synthetic_region", "synthetic_tissue_mask", "write_synthetic_slide"]
