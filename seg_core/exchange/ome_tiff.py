"""Class masks and object maps as OME-TIFF, so that Fiji (Bio-Formats) and napari open them in micrometres
and know what the values mean: the OME metadata carries the physical pixel size (``PhysicalSizeX/Y`` in µm,
when known) and the class names (a ``MapAnnotation`` of value -> class name; for an object map, the class
of each object id)."""
from __future__ import annotations

import io

import numpy as np
import tifffile


def ome_tiff(values: np.ndarray, names: dict[int, str], pixel_size: float | None = None,
             description: str = "") -> bytes:
    """(H, W) ``values`` (a class mask, uint8, or an object map, uint16) as OME-TIFF bytes; ``names``: what
    each value means (class names by index, or each object's class by id)."""
    meta: dict = {"axes": "YX", "Name": description or "labels"}
    if pixel_size is not None:
        meta |= {"PhysicalSizeX": float(pixel_size), "PhysicalSizeXUnit": "µm",
                 "PhysicalSizeY": float(pixel_size), "PhysicalSizeYUnit": "µm"}
    meta["MapAnnotation"] = {"Namespace": "segmentation-studio/labels",
                             "Value": {str(k): str(v) for k, v in sorted(names.items())}}
    buf = io.BytesIO()
    tifffile.imwrite(buf, values, ome=True, metadata=meta, compression="zlib")
    return buf.getvalue()


def read_ome_tiff(data: bytes) -> tuple[np.ndarray, float | None, dict[int, str]]:
    """The values, the pixel size in µm (None when the file has none) and the value -> name map of an OME-TIFF
    written by ``ome_tiff`` (read back with tifffile's OME reader)."""
    from xml.etree import ElementTree

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        values = tif.asarray()
        xml = tif.ome_metadata or ""
    root = ElementTree.fromstring(xml)
    ns = {"ome": root.tag.split("}")[0].strip("{")}
    pixels = root.find(".//ome:Pixels", ns)
    size = pixels.get("PhysicalSizeX") if pixels is not None else None
    names = {int(m.get("K")): m.text or "" for m in root.findall(".//ome:MapAnnotation/ome:Value/ome:M", ns)}
    return values, float(size) if size is not None else None, names
