"""Which rank of how many this process is: explicit, or from an initialised torch.distributed.

torch is never imported here: only a ``torch`` the program has already imported is asked,
so the stream keeps working without PyTorch installed.
"""

from __future__ import annotations

import sys


def resolve_rank(*, rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)``: both given, or both ``None`` (then torch.distributed's, or 0, 1)."""
    if rank is None and world_size is None:
        torch = sys.modules.get("torch")
        dist = getattr(torch, "distributed", None) if torch is not None else None
        if dist is not None and dist.is_available() and dist.is_initialized():
            return int(dist.get_rank()), int(dist.get_world_size())
        return 0, 1
    if rank is None or world_size is None:
        raise ValueError("pass rank= and world_size= together (or neither, to detect them)")
    for name, value in (("rank", rank), ("world_size", world_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {value!r}")
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"rank must be in [0, world_size) and world_size >= 1, got {rank}, {world_size}"
        )
    return rank, world_size
