"""The errors of reading an image file, each naming the file and what is wrong with it."""
from __future__ import annotations

from seg_core.base.limits import LimitError


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file and why."""


class ImageTooLarge(ImageReadError, LimitError):
    """The file's header declares more pixels than ``limits.max_pixels``; nothing was decoded."""
