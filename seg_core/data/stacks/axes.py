"""The order of a file's axes when the file does not say it: what was guessed, in plain words, and the user's
own order in its place (``import --axes ZYX``, the Data page's choice: ``files.given_axes`` reads it).

A TIFF without OME or ImageJ metadata (a plain multi-page TIFF, a shaped file) names its extra axis nothing:
tifffile calls it ``I`` (pages) or ``Q``, and ``files.plane_axes_of`` reads it as depth (``Z``). Whether those
pages are depth, time or the channels of one image, only the user knows.
"""
from __future__ import annotations

from seg_core.data.stacks.files import StackHeader

# the readings offered for one unnamed axis, in plain words: "read as 10 ..."
READINGS = {"Z": "planes of depth (a z-stack)", "T": "planes over time (a time series)",
            "C": "channels (one stain or band each)"}


def guessed(hdr: StackHeader) -> bool:
    """The file named none of its axes beyond height, width and colour (its pages were read as depth)."""
    return any(a in "IQ" and n > 1 for a, n in zip(hdr.axes, hdr.shape))


def reading_words(hdr: StackHeader) -> str:
    """How the file is read, in plain words: ``10 planes of depth``, ``4 time points of 10 planes of depth``,
    ``one image of 3 channels``, ``one image``."""
    dims = dict(zip(hdr.plane_axes, hdr.plane_shape))
    parts = []
    if "T" in dims:
        parts.append(f"{dims['T']} planes over time" if "Z" not in dims else f"{dims['T']} time points of")
    if "Z" in dims:
        parts.append(f"{dims['Z']} planes of depth")
    channels = f"{hdr.channels} channels" if hdr.channels > 1 else ""
    if not parts:
        return f"one image of {channels}" if channels else "one image"
    return " ".join(parts) + (f", each of {channels}" if channels else "")


def pages(hdr: StackHeader) -> int:
    """How many pages the axis the file does not name holds (``guessed``)."""
    return next(n for a, n in zip(hdr.axes, hdr.shape) if a in "IQ" and n > 1)


def choices(hdr: StackHeader) -> dict[str, str]:
    """For a file whose axes were guessed (``guessed``): each order the user may choose (``given_axes``' text)
    -> what it reads as, in plain words (``{"ZYX": "10 planes of depth (a z-stack)", "TYX": ..., "CYX": "one
    image of 10 channels (one stain or band each)"}``); the guess first."""
    unnamed = next(a for a, n in zip(hdr.axes, hdr.shape) if a in "IQ" and n > 1)
    n = pages(hdr)
    return {hdr.axes.replace(unnamed, letter): (f"one image of {n} " if letter == "C" else f"{n} ") + words
            for letter, words in READINGS.items()}
