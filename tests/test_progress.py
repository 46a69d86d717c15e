"""The progress bar: what it prints, and that it stays silent off a terminal."""

from __future__ import annotations

import io

from slidepatch.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(total_slides=2, total_patches=10, stream=stream)
    bar.update(slides=1, patches=5)
    bar.close()
    assert stream.getvalue() == ""


def test_draws_counts_on_a_terminal() -> None:
    stream = _Terminal()
    bar = Progress(total_slides=2, total_patches=10, stream=stream, min_interval=0.0)
    bar.update(slides=1, patches=5)
    bar.update(slides=1, patches=5)
    bar.close()
    text = stream.getvalue()
    assert "slides 2/2" in text
    assert "patches 10/10" in text
    assert "patches/s" in text
    assert text.endswith("\n")


def test_disabled_explicitly_even_on_a_terminal() -> None:
    stream = _Terminal()
    bar = Progress(total_slides=1, total_patches=1, stream=stream, enabled=False)
    bar.update(slides=1, patches=1)
    bar.close()
    assert stream.getvalue() == ""
    assert "slides 1/1" in bar.line()
