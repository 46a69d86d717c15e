"""Single-slide extractors: read one PatchSet's patches into memory or onto disk."""

from slidepatch.extract.disk import DiskPatchExtractor, MultiResDiskPatchExtractor
from slidepatch.extract.encoders import PatchEncoder, png_fast_encoder_name
from slidepatch.extract.manifest import CSV_COLUMNS as MANIFEST_CSV_COLUMNS
from slidepatch.extract.memory import MemPatchExtractor, MultiResMemPatchExtractor
from slidepatch.extract.multires import multires_locations
from slidepatch.extract.reader import read_patches_into

__all__ = [
    "MANIFEST_CSV_COLUMNS",
    "DiskPatchExtractor",
    "MemPatchExtractor",
    "MultiResDiskPatchExtractor",
    "MultiResMemPatchExtractor",
    "PatchEncoder",
    "multires_locations",
    "png_fast_encoder_name",
    "read_patches_into",
]
