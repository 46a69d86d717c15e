"""Output file names and directories, in the reference's scheme, checked to stay inside
``output_dir``.

File name: ``<wsi_id> <manifest_id> [<comment>] [<label>] x<X> y<Y>.<ext>`` with the fields
joined by the separator, empty comment/label omitted, ``X``/``Y`` the level-0 top-left of
that very patch. Multi-resolution files always have a comment slot, ``level<N>`` or
``mpp<value>``, prefixed by the user comment and the separator. Paths are
``output_dir / [label if create_subdirs] / [set dir (multi-resolution)] / file``.
"""

from __future__ import annotations

import os
import re
import secrets
import string
from collections.abc import Sequence

from slidepatch.errors import UnsafeOutputNameError

MANIFEST_ID_ALPHABET = string.ascii_lowercase + string.digits
MANIFEST_ID_LENGTH = 8


def new_manifest_id() -> str:
    """8 characters from ``[a-z0-9]``, drawn from the OS's CSPRNG (never the global random)."""
    return "".join(secrets.choice(MANIFEST_ID_ALPHABET) for _ in range(MANIFEST_ID_LENGTH))


def wsi_id_of(slide_path: str) -> str:
    """The slide's file name without its last extension (``/a/h1.svs`` -> ``h1``)."""
    return os.path.splitext(os.path.basename(slide_path))[0]


_SLIDE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}")


def slide_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a chosen slide id, or None when it can: ids name files on
    every file system, so letters, digits and ``. _ + -`` only, not first, at most 200."""
    if _SLIDE_ID.fullmatch(value):
        return None
    return (
        f"slide id {value!r} is not file-name safe (use letters, digits and . _ + - only, "
        "starting with a letter or digit, at most 200 characters)"
    )


def wsi_id_for(*, slide_path: str, wsi_id: str | None) -> str:
    """The id that names a slide's outputs: the chosen ``wsi_id``, else the file stem."""
    if wsi_id is None:
        return wsi_id_of(slide_path)
    problem = slide_id_problem(wsi_id)
    if problem is not None:
        raise UnsafeOutputNameError(f"{slide_path}: {problem}")
    return wsi_id


def _bad_characters(value: str) -> list[str]:
    bad = [c for c in ("/", "\\", "\x00") if c in value]
    if os.sep not in bad and os.sep in value:
        bad.append(os.sep)
    if os.altsep and os.altsep not in bad and os.altsep in value:
        bad.append(os.altsep)
    return bad


def check_name_part(value: object, *, what: str, slide_path: str = "") -> str:
    """A string usable inside a file name: no path separators, no NUL."""
    where = f"{slide_path}: " if slide_path else ""
    if not isinstance(value, str):
        raise UnsafeOutputNameError(f"{where}{what} must be a string, got {value!r}")
    bad = _bad_characters(value)
    if bad:
        raise UnsafeOutputNameError(
            f"{where}{what} {value!r} contains {', '.join(map(repr, bad))}, which would place "
            "files outside their directory"
        )
    return value


def check_directory_name(value: str, *, what: str, slide_path: str = "") -> str:
    """A string usable as one directory level: a safe name part, not empty, '.' or '..'."""
    check_name_part(value, what=what, slide_path=slide_path)
    if value in ("", ".", ".."):
        where = f"{slide_path}: " if slide_path else ""
        raise UnsafeOutputNameError(
            f"{where}{what} {value!r} cannot be used as a directory name (create_subdirs=True "
            "puts each label in its own directory)"
        )
    return value


def check_separator(value: object) -> str:
    sep = check_name_part(value, what="filename_separator")
    if sep == "":
        raise UnsafeOutputNameError("filename_separator must not be empty")
    return sep


def patch_file_name(
    *,
    wsi_id: str,
    manifest_id: str,
    comment: str,
    label: str,
    x: int,
    y: int,
    separator: str,
    extension: str,
) -> str:
    fields = [wsi_id, manifest_id]
    if comment:
        fields.append(comment)
    if label:
        fields.append(label)
    fields += [f"x{int(x)}", f"y{int(y)}"]
    return separator.join(fields) + "." + extension


def relative_dir(*, label: str, create_subdirs: bool, set_dir: str | None = None) -> str:
    """Directory of a file relative to ``output_dir`` ('' for the root), '/'-separated."""
    parts: list[str] = []
    if create_subdirs and label:
        parts.append(label)
    if set_dir:
        parts.append(set_dir)
    return "/".join(parts)


def set_dir_name(*, number: int, wsi_id: str | None) -> str:
    """``set<N>`` with a global counter, ``<wsi_id>__set<N>`` without one."""
    return f"set{number}" if wsi_id is None else f"{wsi_id}__set{number}"


def ensure_inside(output_dir: str, relative_paths: Sequence[str], *, slide_path: str) -> None:
    """Defence in depth: every relative path must resolve to a place under ``output_dir``."""
    root = os.path.abspath(output_dir)
    for rel in relative_paths:
        full = os.path.abspath(os.path.join(root, rel))
        if os.path.isabs(rel) or os.path.commonpath([root, full]) != root or full == root:
            raise UnsafeOutputNameError(f"{slide_path}: output path {rel!r} leaves {output_dir}")
