"""The contract every slide backend fulfils.

Backends know nothing about level-0 coordinates, MPP or padding: the ``Slide`` computes
level coordinates itself and asks a backend only for windows that lie inside one level,
so every backend returns the same pixels for the same request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
import numpy.typing as npt


class Backend(Protocol):
    """A slide reader that can fill an in-bounds window of one level."""

    name: str

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]: ...

    @property
    def level_downsamples(self) -> tuple[float, ...]: ...

    @property
    def properties(self) -> Mapping[str, str]: ...

    @property
    def vendor(self) -> str | None: ...

    @property
    def mpp(self) -> tuple[float, float] | None: ...

    def read_window(
        self,
        *,
        level: int,
        x: int,
        y: int,
        out: npt.NDArray[np.uint8],
        fill: tuple[int, int, int],
    ) -> None:
        """Write the level pixels of the window at level coordinates ``(x, y)`` into ``out``.

        ``out`` is a (h, w, 3) uint8 view (possibly strided) that lies entirely inside the
        level. Transparent pixels must become ``fill``. Safe to call from many threads.
        """
        ...

    def close(self) -> None: ...


def mpp_from_properties(
    properties: Mapping[str, str], *, x_key: str, y_key: str
) -> tuple[float, float] | None:
    """(x, y) µm per pixel from two slide properties; None when missing, unparsable or <= 0."""
    try:
        mx = float(properties[x_key])
        my = float(properties[y_key])
    except (KeyError, ValueError):
        return None
    return (mx, my) if mx > 0 and my > 0 else None
