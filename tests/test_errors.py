"""Errors name their slide and survive the trip from a worker process to the parent."""

from __future__ import annotations

import pickle

import pytest

from slidepatch import errors


@pytest.mark.parametrize(
    "cls",
    [
        errors.SlideNotFoundError,
        errors.UnsupportedSlideError,
        errors.SlideReadError,
        errors.LevelOutOfRangeError,
        errors.MppUnavailableError,
        errors.ExtractionError,
        errors.WorkerDiedError,
        errors.AnnotationError,
    ],
)
def test_errors_pickle_with_path_and_message(cls: type[errors.SlideError]) -> None:
    error = cls("/slides/a.svs", "something is wrong")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert copy.path == "/slides/a.svs"
    assert str(copy) == "/slides/a.svs: something is wrong"


def test_slide_errors_are_builtin_errors_too() -> None:
    assert issubclass(errors.SlideNotFoundError, FileNotFoundError)
    assert issubclass(errors.UnsupportedSlideError, ValueError)
    assert issubclass(errors.SlideReadError, OSError)


def test_run_mismatch_error_lists_every_slide_and_pickles() -> None:
    one = errors.RunMismatchError([("a.svs", "seed=1, now seed=2")], "use --overwrite")
    assert str(one) == "a.svs: finished earlier with seed=1, now seed=2; use --overwrite"
    two = errors.RunMismatchError([("a.svs", "seed=1, now seed=2"), ("b.svs", "x=1, now x=2")], "h")
    assert str(two).startswith("2 slides were finished earlier with other parameters: a.svs: ")
    copy = pickle.loads(pickle.dumps(two))
    assert str(copy) == str(two) and copy.mismatches == two.mismatches
    assert isinstance(one, ValueError) and isinstance(one, OSError)
