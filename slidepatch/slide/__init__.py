"""Slide reading: open a WSI, geometry, regions at a level or MPP."""

from slidepatch.slide.slide import ReadPlan, Slide

__all__ = ["ReadPlan", "Slide"]
