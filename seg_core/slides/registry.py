"""Slides registered in a project (workspace) and the regions taken from them as images.

A slide is registered where it lies, no pixels copied: ``WS/slides/<stem>.json`` holds its file (absolute
path), size, levels, tile and pixel size, and the regions taken from it. A region becomes an image of the
project at full resolution, ``<stem>_x<X>_y<Y>_w<W>_h<H>.png`` (imported by the import rules, so painted and
trained like any other), and its entry in the slide's record links it back to its place on the slide.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from seg_core.base.atomic import atomic_write_text
from seg_core.workspace.importing.report import IMPORTED, REFUSED, FileResult, ImportReport
from seg_core.workspace.workspace import Workspace
from seg_core.slides.reader import Slide, is_slide, open_slide

SLIDES = "slides"


def region_name(stem: str, x: int, y: int, w: int, h: int) -> str:
    return f"{stem}_x{x}_y{y}_w{w}_h{h}"


def parse_region(text: str) -> tuple[int, int, int, int]:
    """``X,Y,W,H`` (level-0 pixels) as four integers; anything else is a ValueError saying the form."""
    try:
        x, y, w, h = (int(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"a region is X,Y,W,H in the slide's full-resolution pixels (e.g. 2048,4096,1024,1024), "
                         f"not {text!r}") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise ValueError(f"a region needs X and Y of 0 or more and a width and height of 1 or more, not {text!r}")
    return x, y, w, h


def record_path(root: Path, stem: str) -> Path:
    return Path(root) / SLIDES / f"{stem}.json"


def registered(root: Path) -> list[dict]:
    """The project's slides' records, by name."""
    folder = Path(root) / SLIDES
    out = []
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue  # a record half written by hand: left out, the others listed
    return out


def _save(root: Path, rec: dict) -> None:
    atomic_write_text(record_path(root, rec["name"]), json.dumps(rec, indent=1))


def register(root: Path, slide: Slide) -> tuple[dict, bool]:
    """The slide's record (created, or the existing one for this file); whether it was new."""
    path = record_path(root, slide.stem)
    if path.is_file():
        rec = json.loads(path.read_text())
        if rec.get("file") == str(slide.path.resolve()):
            return rec, False
        raise ValueError(f"a slide named {slide.stem} is registered already from another file ({rec.get('file')}); "
                         "rename this one")
    rec = {"name": slide.stem, "file": str(slide.path.resolve()), "width": slide.width, "height": slide.height,
           "levels": [[lv.width, lv.height, lv.downsample] for lv in slide.levels], "tile": list(slide.tile),
           "mpp": slide.mpp, "regions": []}
    _save(root, rec)
    return rec, True


def add_region(ws: Workspace, slide: Slide, x: int, y: int, w: int, h: int) -> str:
    """Take the region (level-0 pixels) of ``slide`` into the project as an image; returns its name. The slide
    is registered if it was not; the region is linked in its record."""
    if x + w > slide.width or y + h > slide.height:
        raise ValueError(f"{slide.name}: the region {x},{y},{w},{h} reaches beyond the slide "
                         f"({slide.width}x{slide.height} pixels)")
    rec, _ = register(ws.root, slide)
    pixels = slide.read(x, y, w, h)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    name = ws.add_image(f"{region_name(slide.stem, x, y, w, h)}.png", buf.getvalue())
    rec["regions"] = [r for r in rec["regions"] if r["image"] != name] + [
        {"image": name, "x": x, "y": y, "w": w, "h": h}]
    _save(ws.root, rec)
    return name


def split_slides(files: list[str], region: str | None) -> tuple[list[str], list[str]]:
    """(the slides among ``files``, the others). With a region every file is a slide to take it from."""
    slides = [f for f in files if region or is_slide(Path(f))]
    return slides, [f for f in files if f not in slides]


def import_slides(ws: Workspace, files: list[str], region: str | None, rep: ImportReport) -> ImportReport:
    """Register each slide of ``files`` (``import --workspace WS SLIDE``), or with ``region`` (``X,Y,W,H``) take
    that region of each as an image; a result per file added to ``rep``."""
    box = parse_region(region) if region else None
    for f in files:
        try:
            with open_slide(Path(f)) as slide:
                if box:
                    name = add_region(ws, slide, *box)
                    rep.add(FileResult(f, IMPORTED, name, f"the region {region} of {slide.name}"))
                else:
                    rec, new = register(ws.root, slide)
                    rep.add(FileResult(f, IMPORTED, rec["name"], ("registered where it lies, no pixels copied: "
                                       if new else "registered already: ") + slide.describe(), "slide"))
        except ValueError as err:
            rep.add(FileResult(f, REFUSED, reason=str(err).removeprefix(f"{Path(f).name}: ")))
    return rep
