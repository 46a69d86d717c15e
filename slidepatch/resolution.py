"""Resolution values: what ``level_or_mpp`` means (int = pyramid level, float = µm/px).

Below every stage: the slide layer and everything after it import from here.
"""

from __future__ import annotations

import numpy as np

LevelOrMpp = int | float


def check_level_or_mpp(value: object) -> LevelOrMpp:
    """Validate the reference's ``level_or_mpp`` convention: ``int`` = level, ``float`` = MPP.

    numpy scalars are accepted and converted (the reference rejected numpy integers);
    ``bool`` is rejected because ``True`` silently meaning level 1 is a trap.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"level_or_mpp must be an int level or a float MPP, not {value!r}")
    if isinstance(value, (int, np.integer)):
        if int(value) < 0:
            raise ValueError(f"level_or_mpp: level must be >= 0, got {value!r}")
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or float(value) <= 0.0:
            raise ValueError(f"level_or_mpp: MPP must be a positive number, got {value!r}")
        return float(value)
    raise ValueError(
        f"level_or_mpp must be an int (pyramid level) or a float (microns per pixel), "
        f"got {type(value).__name__} {value!r}"
    )
