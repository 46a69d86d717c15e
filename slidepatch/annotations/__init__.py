"""Annotations: polygons with holes and labels, and readers for common annotation tools."""

from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.annotations.polygon_data import load_polygon_data, save_polygons_json
from slidepatch.annotations.readers import read_asap_xml, read_geojson, read_sedeen_xml

__all__ = [
    "AnnotationPolygon",
    "load_polygon_data",
    "read_asap_xml",
    "read_geojson",
    "read_sedeen_xml",
    "save_polygons_json",
]
