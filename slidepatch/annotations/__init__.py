"""Annotations: polygons with holes and labels, and readers for common annotation tools."""

from slidepatch.annotations.asap import read_asap_xml
from slidepatch.annotations.detect import annotation_format, read_annotations
from slidepatch.annotations.geojson import read_geojson
from slidepatch.annotations.halo import read_halo_xml
from slidepatch.annotations.imagescope import read_imagescope_xml
from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.annotations.polygon_data import (
    PolygonSource,
    load_polygon_data,
    save_polygons_json,
)
from slidepatch.annotations.sedeen import read_sedeen_xml

__all__ = [
    "AnnotationPolygon",
    "PolygonSource",
    "annotation_format",
    "load_polygon_data",
    "read_annotations",
    "read_asap_xml",
    "read_geojson",
    "read_halo_xml",
    "read_imagescope_xml",
    "read_sedeen_xml",
    "save_polygons_json",
]
