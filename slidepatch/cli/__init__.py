"""The ``slidepatch`` command line: ``info``, ``extract``, ``locate`` and ``demo``.

Errors are one line on stderr (``slidepatch: error: ...``) with exit status 2 for usage
mistakes and 1 for failures (a missing or unreadable slide, a bad mask...); ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from slidepatch.cli.errors import SlideFailedError, UsageError, cli_text
from slidepatch.cli.parser import PROG, build_parser
from slidepatch.errors import SlidepatchError

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _extract_command(args: argparse.Namespace) -> int:
    from slidepatch.cli.extract import (
        check_something_written,
        extract,
        format_dry_run,
        format_summary,
        run_from_args,
    )

    summary = extract(run_from_args(args))
    if summary.dry_run:
        print(format_dry_run(summary), flush=True)
    elif not args.quiet:
        print(format_summary(summary), flush=True)
    check_something_written(summary)
    return EXIT_FAILURE if summary.failed else EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "info":
        from slidepatch.cli.info import run_info

        return run_info(args)
    if args.command == "extract":
        return _extract_command(args)
    if args.command == "locate":
        from slidepatch.cli.coordinates import run_locate

        return run_locate(args)
    from slidepatch.cli.demo import run_demo

    return run_demo(args)


def _one_line(exc: BaseException) -> str:
    text = " ".join(cli_text(str(exc)).split()) or type(exc).__name__
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except UsageError as exc:
        if debug:
            raise
        sys.stderr.write(f"{PROG}: error: {_one_line(exc)}\n")
        return EXIT_USAGE
    except (SlidepatchError, SlideFailedError, OSError, ValueError, TypeError) as exc:
        if debug:
            raise
        sys.stderr.write(f"{PROG}: error: {_one_line(exc)}\n")
        return EXIT_FAILURE
