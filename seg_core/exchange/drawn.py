"""What an annotation file holds, read but not yet applied: the objects drawn on each image, each with its
class name and its outline (a polygon) or its pixels (a COCO run-length encoding)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seg_core.exchange.outlines import fill

UNCLASSIFIED = "Unclassified"  # QuPath's word for an object without a class: the class name it is read as


class AnnotationError(ValueError):
    """An annotation file refused; the message names the file, the object and the problem."""


@dataclass
class Drawn:
    """One object drawn in an annotation file: ``what`` names it in messages ("object 3 (class 'Tumor')")."""

    what: str
    class_name: str
    shape: object = None  # a shapely polygon or multipolygon (QuPath GeoJSON, COCO polygons)
    rle: dict | None = None  # a COCO run-length encoding (pycocotools' compressed form)
    colour: tuple[int, int, int] | None = None  # the class's colour where the file gives one
    plane: tuple[int, int] | None = None  # (z, t) of a stack's plane where the file places it (QuPath's plane)

    def pixels(self, hw: tuple[int, int]) -> np.ndarray:
        """(H, W) bool: the pixels of the object (a polygon: those whose centres lie inside it)."""
        if self.rle is not None:
            from pycocotools import mask as coco_mask

            return coco_mask.decode(self.rle).astype(bool)
        return fill(self.shape, hw)


@dataclass
class ImageAnnotations:
    """The objects drawn on one image: ``stem`` the image's name without its suffix, ``size`` (H, W) where the
    file says it (COCO), ``source`` how the file names the image (its ``file_name``); ``plane`` (z, t): the
    objects are on that plane of the stack ``stem`` (the importer finds the plane's image, ``<stem>_z03``)."""

    stem: str
    source: str
    size: tuple[int, int] | None = None
    drawn: list[Drawn] = field(default_factory=list)
    plane: tuple[int, int] | None = None
