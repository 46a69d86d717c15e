"""Extractor pools: extract many slides at once, processes across slides, threads within."""

from slidepatch.pools.disk import DiskPatchExtractorPool, MultiResDiskPatchExtractorPool
from slidepatch.pools.mem import MemPatchExtractorPool, MultiResMemPatchExtractorPool, PatchList
from slidepatch.pools.stream import PatchBatch, PatchStream, iter_patch_batches

__all__ = [
    "DiskPatchExtractorPool",
    "MemPatchExtractorPool",
    "MultiResDiskPatchExtractorPool",
    "MultiResMemPatchExtractorPool",
    "PatchBatch",
    "PatchList",
    "PatchStream",
    "iter_patch_batches",
]
