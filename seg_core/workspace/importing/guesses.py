"""Files whose axes were guessed at import (``stacks.axes``: a TIFF naming no axes, its pages read as depth),
kept in the workspace's ``axes_guesses.json`` so the Data page can show the guess and read the file again in
another order (``regroup``): ``{stem: {"file", "axes", "read_as", "choices": {axes: words}, "images": [stems]}}``.
"""
from __future__ import annotations

import json
from pathlib import Path

from seg_core.base.atomic import atomic_write_text
from seg_core.data.stacks.axes import choices, reading_words
from seg_core.data.stacks.files import StackHeader

GUESSES_FILE = "axes_guesses.json"


def guessed_note(hdr: StackHeader) -> str:
    """What an import says of a file whose axes it guessed."""
    other = ", ".join(f"{words.split(' (')[0]} (--axes {order})" for order, words in list(choices(hdr).items())[1:])
    return (f"its file names no axes: read as {reading_words(hdr)}; if they are {other.replace(', ', ' or ', 1)}, "
            "choose so on the Data page (Files read by a guess) or import it again with --axes")


def _path(root: Path) -> Path:
    return Path(root) / GUESSES_FILE


def _load(root: Path) -> dict:
    try:
        data = json.loads(_path(root).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def record_guess(root: Path, stem: str, file: str, hdr: StackHeader, images: list[str]) -> None:
    """Remember that ``file`` (imported as the images ``images``) was read by a guess of its axes."""
    data = _load(root)
    data[stem] = {"file": file, "axes": hdr.axes, "read_as": reading_words(hdr), "choices": choices(hdr),
                  "images": images}
    atomic_write_text(_path(root), json.dumps(data, indent=2, ensure_ascii=False))


def forget_guess(root: Path, stem: str) -> None:
    data = _load(root)
    if data.pop(stem, None) is not None:
        atomic_write_text(_path(root), json.dumps(data, indent=2, ensure_ascii=False))


def guesses(root: Path, images_dir: Path) -> dict[str, dict]:
    """The files read by a guess whose images are all still in ``images_dir`` (removed ones are not offered)."""
    have = {p.stem for p in Path(images_dir).iterdir() if p.is_file()} if Path(images_dir).is_dir() else set()
    return {stem: g for stem, g in _load(root).items()
            if isinstance(g, dict) and g.get("images") and set(g["images"]) <= have}
