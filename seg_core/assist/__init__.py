"""Assisted labelling: a live preview of the whole image's classes from a few strokes (``LivePreview``), and
one object from a click (``grow_region``) or a dragged box (``box_object``). On top of model and data."""
from seg_core.assist.preview import LivePreview
from seg_core.assist.region import box_object, grow_region
from seg_core.assist.click import click_object

__all__ = ["LivePreview", "box_object", "click_object", "grow_region"]
