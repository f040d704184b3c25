"""What a file's metadata says about its pixels beyond their values: their physical size (``pixel_size``), read
from the header alone (the names of its channels: ``imageio.ImageHeader.names``).

The pixel size, in micrometres, from (first found wins):

- OME-TIFF: ``Pixels`` ``PhysicalSizeX/Y/Z`` with their units (``PhysicalSizeXUnit``, micrometres when absent);
- ImageJ TIFF: ``XResolution``/``YResolution`` (pixels per unit) in the description's ``unit`` (``micron``,
  ``um``, ``nm``, ``mm`` ...), the plane spacing its ``spacing``;
- plain TIFF: ``XResolution``/``YResolution`` with ``ResolutionUnit`` centimetre or inch. A resolution of 72 or
  96 pixels per inch (what image editors and screenshots write when nothing was measured), or one without a
  unit, is no pixel size;
- NIfTI: ``pixdim`` (the voxel's size along X, Y, Z) in the header's spatial unit (millimetres when it names
  none, as scanners write it).

``parse_length`` reads a length given as text (``0.325``, ``0.325um``, ``325nm``): the ``--pixel-size`` flag.
"""
from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from seg_core.data.stacks.files import NIFTI_SUFFIXES, TIFF_SUFFIXES, file_suffix

# micrometres per unit; the names as OME, ImageJ and NIfTI write them (ImageJ escapes µ as \u00B5)
UNITS_UM = {"pm": 1e-6, "å": 1e-4, "angstrom": 1e-4, "nm": 1e-3, "nanometer": 1e-3, "nanometre": 1e-3,
            "um": 1.0, "µm": 1.0, "μm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
            "micrometre": 1.0, "mm": 1e3, "millimeter": 1e3, "millimetre": 1e3, "cm": 1e4, "centimeter": 1e4,
            "m": 1e6, "meter": 1e6, "metre": 1e6, "inch": 25400.0, "in": 25400.0}
SCREEN_DPI = (72.0, 96.0)  # written by default when nothing was measured: no pixel size
_TIFF_UNITS = {2: 25400.0, 3: 1e4}  # ResolutionUnit: 2 inch, 3 centimetre (1: none)


@dataclass(frozen=True)
class PixelSize:
    """Micrometres per pixel along X and Y, per plane along Z (None: not known), and where it was read."""

    x: float
    y: float
    z: float | None = None
    source: str = ""  # "OME metadata", "ImageJ metadata", "TIFF resolution", "NIfTI header", "--pixel-size"

    @property
    def square(self) -> bool:
        """X and Y agree within 1 %: lengths (perimeter, diameters) in micrometres are meaningful."""
        return abs(self.x - self.y) <= 0.01 * max(self.x, self.y)

    @property
    def area(self) -> float:
        """Square micrometres per pixel."""
        return self.x * self.y

    def describe(self) -> str:
        """``0.325 µm per pixel (OME metadata)``, ``0.5 x 0.25 µm ..., planes 2 µm apart``"""
        xy = f"{self.x:g}" if self.square else f"{self.x:g} x {self.y:g}"
        z = f", planes {self.z:g} µm apart" if self.z else ""
        return f"{xy} µm per pixel{z}" + (f" ({self.source})" if self.source else "")


def unit_um(unit: str | None) -> float | None:
    """Micrometres per ``unit`` (``"micron"``, ``"nm"``, ``"\\u00B5m"`` ...); None for an unknown one or none."""
    if not unit:
        return None
    return UNITS_UM.get(str(unit).strip().lower())


def parse_length(text: str) -> float:
    """A length as text in micrometres: a number (micrometres) or a number with a unit (``0.325um``, ``0.325 µm``,
    ``325nm``, ``0.000325mm``). ValueError saying what is accepted."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([^\s0-9]*)\s*", str(text))
    scale = unit_um(m.group(2)) if m and m.group(2) else 1.0 if m else None
    if m is None or scale is None or not float(m.group(1)) > 0:
        raise ValueError(f"'{text}' is not a pixel size: give micrometres per pixel, a positive number (0.325) or "
                         "a number with its unit (0.325um, 325nm, 0.000325mm)")
    return float(m.group(1)) * scale


def pixel_size(path: Path, data: bytes | None = None) -> PixelSize | None:
    """The pixel size the file's metadata states (see the module; ``data``: a TIFF's bytes, named ``path``), or
    None: none stated, not a TIFF or NIfTI file, or a header that cannot be read (reading the image says what is
    wrong with it)."""
    path = Path(path)
    try:
        if file_suffix(path.name) in TIFF_SUFFIXES:
            return _tiff(io.BytesIO(data) if data is not None else path)
        if file_suffix(path.name) in NIFTI_SUFFIXES and data is None:
            return _nifti(path)
    except Exception:  # a damaged header: the image's reader names the problem
        return None
    return None


# -- TIFF -------------------------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ome_pixels(xml: str):
    """The first image's ``Pixels`` element of OME-XML, or None."""
    root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    for el in root.iter():
        if _local(el.tag) == "Pixels":
            return el
    return None


def _tiff(path) -> PixelSize | None:
    import tifffile

    logging.getLogger("tifffile").setLevel(logging.CRITICAL)
    with tifffile.TiffFile(path) as tif:
        if tif.is_ome and tif.ome_metadata:
            found = _ome(tif.ome_metadata)
            if found is not None:
                return found
        page = tif.pages.first
        if tif.is_imagej and tif.imagej_metadata:
            meta = tif.imagej_metadata
            scale = unit_um(meta.get("unit"))
            xy = _resolution(page)
            if scale is not None and xy is not None:
                spacing = meta.get("spacing")
                z = float(spacing) * scale if isinstance(spacing, (int, float)) and spacing > 0 else None
                return PixelSize(scale / xy[0], scale / xy[1], z, "ImageJ metadata")
        unit = page.tags.get("ResolutionUnit")
        scale = _TIFF_UNITS.get(int(unit.value)) if unit is not None else None
        xy = _resolution(page)
        if scale is None or xy is None or (scale == 25400.0 and xy[0] in SCREEN_DPI and xy[1] in SCREEN_DPI):
            return None
        return PixelSize(scale / xy[0], scale / xy[1], None, "TIFF resolution")


def _resolution(page) -> tuple[float, float] | None:
    """Pixels per unit along X and Y (``XResolution``, ``YResolution``), or None when absent, zero or 1 (unset)."""
    out = []
    for name in ("XResolution", "YResolution"):
        tag = page.tags.get(name)
        if tag is None:
            return None
        num, den = tag.value if isinstance(tag.value, tuple) else (tag.value, 1)
        value = float(num) / float(den) if den else 0.0
        if not value > 0:
            return None
        out.append(value)
    return None if out == [1.0, 1.0] else (out[0], out[1])


def _ome(xml: str) -> PixelSize | None:
    pixels = _ome_pixels(xml)
    if pixels is None:
        return None

    def size(axis: str) -> float | None:
        value = pixels.get(f"PhysicalSize{axis}")
        scale = unit_um(pixels.get(f"PhysicalSize{axis}Unit") or "µm")
        try:
            return float(value) * scale if value is not None and scale is not None and float(value) > 0 else None
        except ValueError:
            return None

    x, y = size("X"), size("Y")
    if x is None and y is None:
        return None
    return PixelSize(x or y, y or x, size("Z"), "OME metadata")


# -- NIfTI ------------------------------------------------------------------------------------------
def _nifti(path: Path) -> PixelSize | None:
    import nibabel

    img = nibabel.load(str(path))
    zooms = [float(z) for z in img.header.get_zooms()]
    space = img.header.get_xyzt_units()[0]
    scale = unit_um(space) if space not in (None, "unknown") else 1e3  # scanners' voxels in mm when unnamed
    if scale is None or len(zooms) < 2 or not (zooms[0] > 0 and zooms[1] > 0):
        return None
    z = zooms[2] * scale if len(zooms) > 2 and zooms[2] > 0 else None
    return PixelSize(zooms[0] * scale, zooms[1] * scale, z, "NIfTI header")

