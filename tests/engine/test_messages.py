"""Worker messages: an error that does not pickle still comes back, as its text."""

from __future__ import annotations

import pickle

from slidepatch.engine.messages import Done, Failed
from slidepatch.errors import SlideNotFoundError


def test_a_picklable_error_comes_back_as_itself() -> None:
    message = pickle.loads(pickle.dumps(Failed.of(SlideNotFoundError("/s.svs", "gone"), "tb")))
    error = message.rebuild()
    assert isinstance(error, SlideNotFoundError) and error.path == "/s.svs"
    assert message.traceback == "tb"


def test_an_unpicklable_error_comes_back_as_text() -> None:
    class Local(Exception):  # a local class cannot be pickled
        pass

    message = pickle.loads(pickle.dumps(Failed.of(Local("broken codec"), "tb")))
    error = message.rebuild()
    assert type(error) is RuntimeError and str(error) == "Local: broken codec"


def test_done_carries_result_and_pid() -> None:
    assert pickle.loads(pickle.dumps(Done(result=[1, 2], pid=7))) == Done(result=[1, 2], pid=7)
