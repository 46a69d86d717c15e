"""The annotation readers under their former module (one module per format now).

``read_geojson`` (QuPath, :mod:`.geojson`), ``read_asap_xml`` (:mod:`.asap`) and
``read_sedeen_xml`` (:mod:`.sedeen`) are re-exported for code that imports them from here.
"""

from __future__ import annotations

from slidepatch.annotations.asap import read_asap_xml
from slidepatch.annotations.geojson import read_geojson
from slidepatch.annotations.sedeen import ELLIPSE_VERTICES, read_sedeen_xml

__all__ = ["ELLIPSE_VERTICES", "read_asap_xml", "read_geojson", "read_sedeen_xml"]
