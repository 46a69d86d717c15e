"""Slide reading: open a WSI, geometry, regions at a level or MPP."""

from slidepatch.slide.identity import SlideIdentity, real_slide_path, slide_identity
from slidepatch.slide.slide import ReadPlan, Slide, slide_id_from_path

__all__ = [
    "ReadPlan",
    "Slide",
    "SlideIdentity",
    "real_slide_path",
    "slide_id_from_path",
    "slide_identity",
]
