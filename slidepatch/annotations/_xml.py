"""XML helpers shared by the XML annotation readers: parsing and coordinates."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from slidepatch.errors import AnnotationError


def parse_xml(path: str) -> ET.Element:
    """The root element; an unreadable or malformed file raises AnnotationError naming it."""
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise AnnotationError(path, f"cannot parse XML: {exc}") from exc


def number(text: str | None) -> float:
    """A finite coordinate from an attribute (decimal commas accepted); ValueError says why."""
    if text is None:
        raise ValueError("missing coordinate")
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"bad coordinate {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"coordinate {text!r} is not finite")
    return value
