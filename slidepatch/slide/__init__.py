"""Slide reading: open a WSI, geometry, regions at a level or MPP."""

from slidepatch.slide.slide import ReadPlan, Slide, slide_id_from_path

__all__ = ["ReadPlan", "Slide", "slide_id_from_path"]
