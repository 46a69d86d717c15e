"""Candidate generators in level-0 coordinates: grid, uniform random, Poisson-disk."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Float = npt.NDArray[np.float64]

POISSON_ATTEMPTS = 30


def grid_candidates(
    bbox: tuple[float, float, float, float], step: float, *, extra: int = 0
) -> tuple[Float, Float]:
    """Row-major grid of top-left corners from the box origin, every ``step``, inside the box.

    ``extra`` adds that many rows and columns past the box (the reference's loop tests one).
    """
    xmin, ymin, xmax, ymax = bbox
    nx = max(1, math.ceil((xmax - xmin) / step - 1e-9)) + extra
    ny = max(1, math.ceil((ymax - ymin) / step - 1e-9)) + extra
    xs = xmin + np.arange(nx, dtype=np.float64) * step
    ys = ymin + np.arange(ny, dtype=np.float64) * step
    gx, gy = np.meshgrid(xs, ys)
    return gx.ravel(), gy.ravel()


def random_candidates(
    bbox: tuple[float, float, float, float], count: int, rng: np.random.Generator
) -> tuple[Float, Float]:
    """``count`` uniform top-left corners inside the box."""
    xmin, ymin, xmax, ymax = bbox
    return (
        rng.uniform(xmin, max(xmax, xmin + 1e-9), count),
        rng.uniform(ymin, max(ymax, ymin + 1e-9), count),
    )


def poisson_disk(
    bbox: tuple[float, float, float, float],
    radius: float,
    rng: np.random.Generator,
    *,
    attempts: int = POISSON_ATTEMPTS,
) -> tuple[Float, Float]:
    """Bridson-style Poisson-disk points in the box, no two closer than ``radius``.

    Each step draws ``attempts`` candidates in the annulus [r, 2r) around an active point,
    tests them against the background grid at once, and accepts every survivor that is
    also far enough from the others accepted in the same step.
    """
    xmin, ymin, xmax, ymax = bbox
    width, height = max(xmax - xmin, 1e-9), max(ymax - ymin, 1e-9)
    cell = radius / math.sqrt(2)
    gw, gh = math.ceil(width / cell), math.ceil(height / cell)
    grid = np.full((gh + 4, gw + 4), -1, dtype=np.int64)
    r2 = radius * radius
    points = [(float(rng.uniform(0, width)), float(rng.uniform(0, height)))]
    grid[int(points[0][1] / cell) + 2, int(points[0][0] / cell) + 2] = 0
    coords = np.zeros((16, 2), dtype=np.float64)
    coords[0] = points[0]
    active = [0]
    off = np.arange(-2, 3)
    mesh_y, mesh_x = np.meshgrid(off, off, indexing="ij")
    dy, dx = mesh_y.ravel(), mesh_x.ravel()
    while active:
        slot = int(rng.integers(len(active)))
        px, py = points[active[slot]]
        angle = rng.uniform(0, 2 * math.pi, attempts)
        dist = radius * (1 + rng.random(attempts))
        cx = px + dist * np.cos(angle)
        cy = py + dist * np.sin(angle)
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        cx, cy = cx[inside], cy[inside]
        gx = (cx / cell).astype(np.int64) + 2
        gy = (cy / cell).astype(np.int64) + 2
        neigh = grid[gy[:, None] + dy, gx[:, None] + dx]
        has = neigh >= 0
        near = coords[np.where(has, neigh, 0)]
        d2 = (near[..., 0] - cx[:, None]) ** 2 + (near[..., 1] - cy[:, None]) ** 2
        ok = np.flatnonzero(~np.any(has & (d2 < r2), axis=1))
        accepted: list[int] = []
        for i in ok:
            x, y = float(cx[i]), float(cy[i])
            if any((points[j][0] - x) ** 2 + (points[j][1] - y) ** 2 < r2 for j in accepted):
                continue
            index = len(points)
            points.append((x, y))
            if index >= coords.shape[0]:
                coords = np.concatenate([coords, np.zeros_like(coords)])
            coords[index] = (x, y)
            grid[gy[i], gx[i]] = index
            accepted.append(index)
            active.append(index)
        if not accepted:
            active[slot] = active[-1]
            active.pop()
    arr = np.asarray(points, dtype=np.float64)
    return arr[:, 0] + xmin, arr[:, 1] + ymin
