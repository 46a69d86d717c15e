"""Extractor pools: extract many slides at once, processes across slides, threads within."""

from slidepatch.pools.disk import DiskPatchExtractorPool, MultiResDiskPatchExtractorPool
from slidepatch.pools.mem import MemPatchExtractorPool, MultiResMemPatchExtractorPool, PatchList

__all__ = [
    "DiskPatchExtractorPool",
    "MemPatchExtractorPool",
    "MultiResDiskPatchExtractorPool",
    "MultiResMemPatchExtractorPool",
    "PatchList",
]
