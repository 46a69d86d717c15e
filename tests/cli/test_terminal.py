"""What a terminal shows: progress lines that fit its width, for locating and extracting."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _run_in_terminal(args: list[str], *, columns: int, timeout: float = 120) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal ``columns`` wide; return (status, text)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "slidepatch", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
@pytest.mark.parametrize("columns", [80, 50])
def test_progress_lines_fit_the_terminal(
    columns: int, two_slides: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_slides
    status, text = _run_in_terminal(
        ["extract", str(a), str(b), "--out", str(tmp_path / "o"), "--procs", "2",
         "--patch-size", "128", "--foreground-ratio", "0.3"],
        columns=columns,
    )  # fmt: skip
    assert status == 0, text
    drawn = [ESCAPE.sub("", part) for part in re.split(r"[\r\n]+", text) if part.strip()]
    locating = [line for line in drawn if line.startswith("locating")]
    extracting = [line for line in drawn if line.startswith("writing")]
    assert locating and extracting, drawn
    assert all(len(line) < columns for line in locating + extracting), drawn
    assert "2/2 slides" in locating[-1]
    assert "slides/s" in locating[-1] or columns < 80
    assert "left" in locating[-1]
    assert "patches" in extracting[-1]
    assert "left" in extracting[-1]
