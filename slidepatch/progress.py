"""A dependency-free progress bar for pools and the command line.

It shows slides and patches done, patches/s and time left, redraws at most a few times
a second, fits the terminal's width (dropping the least useful fields first, so an
80-column terminal never wraps), and stays silent when the stream is not a terminal (logs,
CI) unless forced.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TextIO

MIN_BAR = 10
MAX_BAR = 30


def _format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def terminal_columns(stream: TextIO) -> int:
    """The width of the terminal behind ``stream`` (else ``$COLUMNS``, else 80)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        pass
    try:
        return max(int(os.environ.get("COLUMNS", "")), 1)
    except ValueError:
        return 80


def fit_line(
    description: str, fraction: float, fields: Sequence[tuple[int, str]], *, columns: int
) -> str:
    """``description [####----] fields...`` in fewer than ``columns`` characters.

    ``fields`` are ``(priority, text)`` in display order; the highest priority numbers are
    dropped first until a bar of at least ``MIN_BAR`` fits; the last resort is truncation.
    """
    limit = max(columns - 1, 1)
    kept = list(fields)
    while True:
        rest = " ".join(text for _, text in kept)
        room = limit - len(description) - len(rest) - 4  # brackets and two spaces
        if room >= MIN_BAR or not kept:
            break
        kept.remove(max(kept, key=lambda f: f[0]))
    width = max(0, min(room, MAX_BAR))
    filled = round(width * min(max(fraction, 0.0), 1.0))
    bar = f"[{'#' * filled}{'-' * (width - filled)}]" if width else ""
    line = " ".join(part for part in (description, bar, rest) if part)
    return line[:limit]


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
        frac = self.patches_done / self.total_patches if self.total_patches else 1.0
        fields = [
            (3, f"slides {self.slides_done}/{self.total_slides}"),
            (0, f"patches {self.patches_done}/{self.total_patches}"),
            (2, f"{rate:,.0f} patches/s"),
            (4, f"elapsed {_format_seconds(elapsed)}"),
            (1, f"left {eta}"),
        ]
        return fit_line(self._description, frac, fields, columns=terminal_columns(self._stream))

    def _draw(self, now: float) -> None:
        # Clear to the end of the line: a shorter line must not leave the old one's tail.
        self._stream.write("\r" + self._line(now) + "\x1b[K")
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


class SlideProgress:
    """``locating [####--] 3/10 slides 1.5 slides/s left 00:05``, for the locating phase.

    Drawn only when ``enabled``; redrawn once per finished slide.
    """

    def __init__(
        self,
        *,
        total: int,
        description: str = "locating",
        enabled: bool,
        stream: TextIO | None = None,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.total = int(total)
        self.done = 0
        self._description = description
        self._started = time.perf_counter()

    def line(self) -> str:
        """The status line as it would be drawn now."""
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = self.done / elapsed
        left = self.total - self.done
        eta = _format_seconds(left / rate) if rate > 0 else "--:--"
        fields = [
            (0, f"{self.done}/{self.total} slides"),
            (2, f"{rate:,.2f} slides/s"),
            (1, f"left {eta}"),
        ]
        frac = self.done / self.total if self.total else 1.0
        return fit_line(self._description, frac, fields, columns=terminal_columns(self._stream))

    def update(self) -> None:
        """One more slide located."""
        self.done += 1
        if self.enabled:
            self._stream.write("\r" + self.line() + "\x1b[K")
            self._stream.flush()

    def close(self) -> None:
        """End the line (if anything was drawn)."""
        if self.enabled and self.done:
            self._stream.write("\n")
            self._stream.flush()
