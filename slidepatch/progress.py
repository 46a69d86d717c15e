"""A dependency-free progress bar for pools and the command line.

It shows slides and patches done, patches/s and time left, redraws at most a few times
a second, and stays silent when the stream is not a terminal (logs, CI) unless forced.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def _format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """Counts slides and patches done against known totals and draws one status line.

    ``enabled=None`` draws only when ``stream`` is a terminal; ``True`` always draws;
    ``False`` never does. Thread-safe: pools update it from a collector thread.
    """

    def __init__(
        self,
        *,
        total_slides: int,
        total_patches: int,
        description: str = "extracting",
        enabled: bool | None = None,
        stream: TextIO | None = None,
        min_interval: float = 0.2,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self._stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.total_slides = int(total_slides)
        self.total_patches = int(total_patches)
        self.slides_done = 0
        self.patches_done = 0
        self._description = description
        self._min_interval = min_interval
        self._started = time.perf_counter()
        self._last_draw = 0.0
        self._lock = threading.Lock()
        self._closed = False

    def update(self, *, slides: int = 0, patches: int = 0) -> None:
        """Add finished slides and patches, and redraw if enough time has passed."""
        with self._lock:
            self.slides_done += slides
            self.patches_done += patches
            now = time.perf_counter()
            if self.enabled and now - self._last_draw >= self._min_interval:
                self._last_draw = now
                self._draw(now)

    def line(self) -> str:
        """The status line as it would be drawn now."""
        return self._line(time.perf_counter())

    def _line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = self.patches_done / elapsed
        left = self.total_patches - self.patches_done
        eta = _format_seconds(left / rate) if rate > 0 and left > 0 else "--:--"
        if left <= 0:
            eta = "00:00"
        width = 24
        frac = self.patches_done / self.total_patches if self.total_patches else 1.0
        filled = round(width * min(frac, 1.0))
        bar = "#" * filled + "-" * (width - filled)
        return (
            f"{self._description} [{bar}] slides {self.slides_done}/{self.total_slides} "
            f"patches {self.patches_done}/{self.total_patches} {rate:,.0f} patches/s "
            f"elapsed {_format_seconds(elapsed)} left {eta}"
        )

    def _draw(self, now: float) -> None:
        self._stream.write("\r" + self._line(now))
        self._stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.enabled:
                self._draw(time.perf_counter())
                self._stream.write("\n")
                self._stream.flush()
