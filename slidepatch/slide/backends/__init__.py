"""Slide backends and the choice among them.

``auto`` tries, in order: the direct tiled-TIFF decoder (fastest, for the TIFF-family
files it reads correctly), OpenSlide (every vendor format), tiffslide, then Pillow for
plain images.
"""

from __future__ import annotations

from collections.abc import Callable

from slidepatch.errors import UnsupportedLayoutError, UnsupportedSlideError
from slidepatch.slide.backends.base import Backend

BACKEND_NAMES = ("auto", "tiled_tiff", "openslide", "tiffslide", "pillow")


def _opener(name: str) -> Callable[[str], Backend]:
    if name == "tiled_tiff":
        from slidepatch.slide.backends.tiled_tiff import TiledTiffBackend

        return TiledTiffBackend
    if name == "openslide":
        from slidepatch.slide.backends.openslide_backend import OpenSlideBackend

        return OpenSlideBackend
    if name == "tiffslide":
        from slidepatch.slide.backends.tiffslide_backend import TiffSlideBackend

        return TiffSlideBackend
    if name == "pillow":
        from slidepatch.slide.backends.pillow_backend import PillowBackend

        return PillowBackend
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")


AUTO_ORDER = ("tiled_tiff", "openslide", "tiffslide", "pillow")


def open_backend(path: str, name: str) -> Backend:
    """Open ``path`` with backend ``name``; ``auto`` returns the first that can read it."""
    if name != "auto":
        if name not in BACKEND_NAMES:
            raise UnsupportedSlideError(
                path, f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}"
            )
        return _opener(name)(path)
    reasons: list[str] = []
    for candidate in AUTO_ORDER:
        try:
            opener = _opener(candidate)
        except ImportError:  # a backend module not available in this build
            continue
        try:
            return opener(path)
        except UnsupportedLayoutError:
            raise  # readable, but not RGB: a later backend would show it wrong
        except UnsupportedSlideError as exc:
            reasons.append(f"{candidate}: {exc.message}")
    raise UnsupportedSlideError(
        path, "not a slide or an unsupported format (" + "; ".join(reasons) + ")"
    )


__all__ = ["AUTO_ORDER", "BACKEND_NAMES", "Backend", "open_backend"]
