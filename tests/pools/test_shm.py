"""The shared block: workers write it by descriptor on Linux, and nothing stays in /dev/shm."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from slidepatch.pools._shm import SharedBlock, open_block_for_writing, pwrite_all


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pwrite path is Linux-only")
def test_pwrite_through_a_descriptor_shows_in_the_parents_view() -> None:
    with SharedBlock(size=4096 * 3) as block:
        view = block.array()
        fd = open_block_for_writing(block.name)
        assert fd is not None
        try:
            data = np.arange(5000, dtype=np.uint16).view(np.uint8)  # crosses a page
            pwrite_all(fd, data, 16)
        finally:
            os.close(fd)
        np.testing.assert_array_equal(view[16 : 16 + data.size], data)
        assert not view[:16].any() and not view[16 + data.size :].any()
    assert not os.path.exists(f"/dev/shm/{block.name}")


def test_no_descriptor_for_a_missing_block() -> None:
    assert open_block_for_writing("slidepatch_no_such_block") is None
    assert open_block_for_writing("") is None
