"""Per-region ("expandable") parameters: a scalar, one value per region, or a label mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

T = TypeVar("T")

PerRegion: TypeAlias = T | Sequence[T] | Mapping[str, T]
"""A per-region parameter: one value for every region, a list with one value per region, or
a ``{label: value}`` mapping."""

EXPANDABLE = (
    "foreground_ratio",
    "overlap_ratio",
    "polygon_buffer",
    "num_patches",
    "patch_stride",
    "poisson_spacing",
)


def expand_param(name: str, value: Any, labels: Sequence[str], *, path: str) -> list[Any]:
    """One value per region.

    ``value`` may be a scalar (every region), a list with one entry per region (regions
    counted after label filtering; whole-image and inverted classes have one region), or a
    mapping ``{label: value}`` (every region label must be present).
    """
    from slidepatch.errors import LocationError

    n = len(labels)
    if isinstance(value, Mapping):
        missing = sorted({label for label in labels if label not in value})
        if missing:
            raise LocationError(path, f"{name}: no value for region labels {missing}")
        return [value[label] for label in labels]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise LocationError(
                path,
                f"{name}: a list needs one value per region ({n} region(s) after label "
                f"filtering: {list(labels)}), got {len(value)} values",
            )
        return list(value)
    return [value] * n


def check_ratio(name: str, value: Any, *, path: str) -> float:
    from slidepatch.errors import LocationError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise LocationError(path, f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_positive(name: str, value: Any, *, path: str, integer: bool = False) -> float:
    from slidepatch.errors import LocationError

    kinds: tuple[type[int] | type[float], ...] = (int,) if integer else (int, float)
    kind = "an int" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, kinds) or not float(value) > 0:
        raise LocationError(path, f"{name} must be {kind} > 0, got {value!r}")
    return float(value)
