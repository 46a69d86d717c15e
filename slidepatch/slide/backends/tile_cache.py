"""A bounded, thread-safe LRU cache of decoded tiles, shared by the threads of one reader.

Neighbouring and overlapping patches need the same source tiles; decoding a tile once and
copying from it many times is what makes unaligned reads cheap. The cache is bounded in
bytes, not in entries, so tile size does not change its memory footprint. A tile that one
thread is decoding is not decoded again by another: the second thread waits for the first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import numpy.typing as npt

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024

Tile = npt.NDArray[np.uint8]


class _InFlight:
    """A tile being decoded by one thread; others wait on ``done``."""

    __slots__ = ("done", "error", "tile")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.tile: Tile | None = None
        self.error: BaseException | None = None


class TileCache:
    """LRU of decoded tiles bounded by ``max_bytes``; ``get`` decodes each missing tile once."""

    def __init__(self, *, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self._max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._tiles: OrderedDict[Hashable, Tile] = OrderedDict()
        self._in_flight: dict[Hashable, _InFlight] = {}
        self._bytes = 0
        self._hits = 0
        self._misses = 0

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def nbytes(self) -> int:
        """Bytes of decoded tiles held now."""
        return self._bytes

    @property
    def stats(self) -> tuple[int, int]:
        """(hits, misses) since the cache was made."""
        return self._hits, self._misses

    def contains(self, key: Hashable) -> bool:
        """Whether ``key`` is cached now (a hint: it may be evicted right after)."""
        return key in self._tiles

    def get(self, key: Hashable, load: Callable[[], Tile]) -> Tile:
        """The tile for ``key``, calling ``load`` (outside the lock) only if no one has it."""
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
                self._hits += 1
                return tile
            waiting = self._in_flight.get(key)
            if waiting is None:
                mine = _InFlight()
                self._in_flight[key] = mine
                self._misses += 1
        if waiting is not None:
            waiting.done.wait()
            if waiting.error is not None:
                raise waiting.error
            assert waiting.tile is not None
            return waiting.tile
        try:
            tile = load()
            tile.flags.writeable = False
        except BaseException as exc:
            mine.error = exc
            with self._lock:
                del self._in_flight[key]
            mine.done.set()
            raise
        mine.tile = tile
        with self._lock:
            del self._in_flight[key]
            self._insert(key, tile)
        mine.done.set()
        return tile

    def _insert(self, key: Hashable, tile: Tile) -> None:
        size = int(tile.nbytes)
        if size > self._max_bytes:
            return
        self._tiles[key] = tile
        self._bytes += size
        while self._bytes > self._max_bytes:
            _, old = self._tiles.popitem(last=False)
            self._bytes -= int(old.nbytes)

    def resize(self, max_bytes: int) -> None:
        """Bound the cache to ``max_bytes`` from now on, dropping the oldest tiles over it."""
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        with self._lock:
            self._max_bytes = int(max_bytes)
            while self._bytes > self._max_bytes:
                _, old = self._tiles.popitem(last=False)
                self._bytes -= int(old.nbytes)

    def clear(self) -> None:
        """Drop every cached tile (tiles being decoded finish normally)."""
        with self._lock:
            self._tiles.clear()
            self._bytes = 0
