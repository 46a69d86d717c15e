"""Resolution values: what ``level_or_mpp`` means (int = pyramid level, float = µm/px).

Below every stage: the slide layer and everything after it import from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True)
class Level:
    """A native pyramid level: what an ``int`` ``level_or_mpp`` means."""

    index: int

    @property
    def value(self) -> int:
        """The reference's ``level_or_mpp`` (an int)."""
        return self.index

    @property
    def kind(self) -> Literal["level", "mpp"]:
        return "level"

    @property
    def text(self) -> str:
        """As manifests, fingerprints and coordinate tables write it: ``1``."""
        return repr(self.index)

    @property
    def comment(self) -> str:
        """The multi-resolution file-name comment: ``level1``."""
        return f"level{self.index}"

    def describe(self) -> str:
        return f"level {self.index}"


@dataclass(frozen=True)
class Mpp:
    """A resolution in µm per pixel: what a ``float`` ``level_or_mpp`` means."""

    um_per_px: float

    @property
    def value(self) -> float:
        """The reference's ``level_or_mpp`` (a float)."""
        return self.um_per_px

    @property
    def kind(self) -> Literal["level", "mpp"]:
        return "mpp"

    @property
    def text(self) -> str:
        """As manifests, fingerprints and coordinate tables write it: ``0.5``."""
        return repr(self.um_per_px)

    @property
    def comment(self) -> str:
        """The multi-resolution file-name comment: ``mpp0.5``."""
        return f"mpp{self.um_per_px!r}"

    def describe(self) -> str:
        return f"{self.um_per_px!r} µm/px"


Resolution = Level | Mpp
"""A parsed ``level_or_mpp``; ``Level(1)`` and ``Mpp(1.0)`` are different keys."""


def resolution_of(value: object) -> Resolution:
    """Parse ``level_or_mpp`` once (int = level, float = MPP; see :func:`check_level_or_mpp`)."""
    if isinstance(value, (Level, Mpp)):
        return value
    checked = check_level_or_mpp(value)
    return Level(checked) if isinstance(checked, int) else Mpp(checked)
