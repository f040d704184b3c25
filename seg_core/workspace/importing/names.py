"""The name a file is stored under: its own, Unicode kept, made safe for every file system."""
from __future__ import annotations

import re
import unicodedata

DOUBLE_SUFFIXES = (".nii.gz",)  # suffixes of two parts (NIfTI, gzip-compressed)
MAX_NAME_BYTES = 200  # of a stem in UTF-8: room for "_NN" and the suffix within the usual 255


def split_name(filename: str) -> tuple[str, str]:
    """``(stem, suffix)`` of a file name: the suffix is lower-cased, the stem made safe (``safe_stem``)."""
    name = unicodedata.normalize("NFC", filename)
    if name.lower().endswith(DOUBLE_SUFFIXES) and len(name) > len(".nii.gz") and "/" not in name[-7:]:
        return safe_stem(name[:-7]), name[-7:].lower()
    dot = name.rfind(".")
    if dot > 0 and not re.search(r"[/\\]", name[dot:]):
        return safe_stem(name[:dot]), name[dot:].lower()
    return safe_stem(name), ""


def safe_stem(stem: str) -> str:
    """The stem as the user wrote it, Unicode kept; path separators, control characters and leading dots
    become ``_``; cut to ``MAX_NAME_BYTES`` bytes of UTF-8."""
    stem = unicodedata.normalize("NFC", stem)
    stem = "".join("_" if c in "/\\" or unicodedata.category(c) in ("Cc", "Cs") else c for c in stem)
    stem = re.sub(r"^\.+", lambda m: "_" * len(m.group()), stem)
    while len(stem.encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem if stem.strip() else "image"

