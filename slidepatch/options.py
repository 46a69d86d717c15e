"""ReadOptions: how a slide is opened and read, as one frozen value.

Location classes, masks and pools take ``read_options=`` and the PatchSet carries it to
every worker, so that a worker opens the slide exactly as the parent did (same backend,
MPP override, tolerance, fill and tile-cache size). Imports no stage of the pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from numbers import Integral
from os import PathLike, fspath
from typing import Literal

from slidepatch.errors import SlideError, UnsupportedSlideError

BackendName = Literal["auto", "tiled_tiff", "openslide", "tiffslide", "pillow"]
BACKEND_NAMES: tuple[BackendName, ...] = ("auto", "tiled_tiff", "openslide", "tiffslide", "pillow")
DEFAULT_MPP_TOLERANCE = 0.02
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class ReadOptions:
    """How to open and read a slide.

    ``backend``: the reader (``auto`` picks the first that can read the file). ``mpp``:
    µm/px overriding missing or wrong MPP metadata. ``mpp_tolerance``: relative distance
    within which a native level serves a requested MPP without resampling (0.02 = 2 %).
    ``fill``: the RGB colour of pixels beyond the slide. ``tile_cache_bytes``: the
    direct TIFF decoder's tile-cache size (None: its default).
    """

    backend: BackendName = "auto"
    mpp: float | None = None
    mpp_tolerance: float = DEFAULT_MPP_TOLERANCE
    fill: tuple[int, int, int] = WHITE
    tile_cache_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKEND_NAMES:
            raise UnsupportedSlideError(
                None, f"unknown backend {self.backend!r}; choose one of {', '.join(BACKEND_NAMES)}"
            )
        if self.mpp is not None:
            if isinstance(self.mpp, bool) or not isinstance(self.mpp, (int, float)):
                raise ValueError(f"mpp override must be a positive number, got {self.mpp!r}")
            if not (math.isfinite(self.mpp) and self.mpp > 0):
                raise ValueError(f"mpp override must be a positive number, got {self.mpp!r}")
            object.__setattr__(self, "mpp", float(self.mpp))
        tol = self.mpp_tolerance
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
            raise ValueError(f"mpp_tolerance must be in [0, 1), got {tol!r}")
        object.__setattr__(self, "mpp_tolerance", float(tol))
        fill = tuple(self.fill)
        if len(fill) != 3 or not all(
            isinstance(c, Integral) and not isinstance(c, bool) and 0 <= c <= 255 for c in fill
        ):
            raise ValueError(f"fill must be an (r, g, b) tuple of 0..255, got {self.fill!r}")
        object.__setattr__(self, "fill", tuple(int(c) for c in fill))
        cache = self.tile_cache_bytes
        if cache is not None and (
            isinstance(cache, bool) or not isinstance(cache, int) or cache < 0
        ):
            raise ValueError(f"tile_cache_bytes must be an int >= 0 or None, got {cache!r}")

    def __reduce__(self) -> tuple[type[ReadOptions], tuple[object, ...]]:
        """Pickle as a short positional tuple (it travels inside every PatchSet)."""
        return (
            type(self),
            (self.backend, self.mpp, self.mpp_tolerance, self.fill, self.tile_cache_bytes),
        )

    def with_shorthands(
        self, *, backend: BackendName | None = None, mpp: float | None = None
    ) -> ReadOptions:
        """These options with the old ``backend=`` / ``slide_mpp=`` keywords applied on top."""
        changes: dict[str, object] = {}
        if backend is not None and backend != "auto":
            changes["backend"] = backend
        if mpp is not None:
            changes["mpp"] = mpp
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        """Plain values (for fingerprints and parameter records)."""
        return {
            "backend": self.backend,
            "mpp": self.mpp,
            "mpp_tolerance": self.mpp_tolerance,
            "fill": list(self.fill),
            "tile_cache_bytes": self.tile_cache_bytes,
        }


DEFAULT_READ_OPTIONS = ReadOptions()


def read_options_of(
    read_options: ReadOptions | None,
    *,
    backend: BackendName | None = None,
    mpp: float | None = None,
    path: str | PathLike[str] | None = None,
) -> ReadOptions:
    """``read_options`` (or the defaults) with the shorthand keywords applied on top; a bad
    shorthand's error names ``path`` (the slide) when given."""
    base = DEFAULT_READ_OPTIONS if read_options is None else read_options
    if not isinstance(base, ReadOptions):
        raise TypeError(f"read_options must be a ReadOptions, got {type(base).__name__}")
    try:
        return base.with_shorthands(backend=backend, mpp=mpp)
    except SlideError as exc:
        if path is None or exc.path is not None:
            raise
        raise type(exc)(fspath(path), exc.message) from None
    except ValueError as exc:
        if path is None:
            raise
        raise ValueError(f"{fspath(path)}: {exc}") from None
