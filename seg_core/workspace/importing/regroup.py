"""A file whose axes were guessed at import, read again in the order the user chose (the Data page's "Files read
by a guess"): its planes, stored as images of their own, are put back together as the file was (their values as
stored, in order) and imported again with the chosen axes; the old images go to the trash once the new ones are
in. Masks follow their plane (``cells_z03`` -> ``cells_t03``); read as channels of one image, the planes' masks
no longer fit and go to the trash with them (restorable from there)."""
from __future__ import annotations

import io

import numpy as np

from seg_core.data.channel_layout import LayoutGuard
from seg_core.data.imageio import IMAGE_EXTS, read_raw
from seg_core.workspace.importing.guesses import forget_guess, guesses
from seg_core.workspace.importing.importer import Importer
from seg_core.workspace.importing.report import REFUSED, FileResult, ImportReport
from seg_core.workspace.importing.sources import bytes_entries
from seg_core.workspace.trash import move_to_trash


def _stacked(ws, stems: list[str]) -> bytes:
    """The images ``stems`` (one plane each, all of one size) as one TIFF of as many pages, naming no axes."""
    import tifffile

    planes = [read_raw(ws.image_path(s))[0] for s in stems]
    if len({p.shape for p in planes}) != 1:
        raise ValueError(f"the images {stems[0]} .. {stems[-1]} are no longer of one size; they cannot be read "
                         "again as one file")
    arr = np.stack([p[..., 0] if p.shape[-1] == 1 else p for p in planes])
    buf = io.BytesIO()
    rgb = arr.ndim == 4 and arr.shape[-1] == 3
    # planes of several channels: each page holds its channels interleaved (else each row became a page)
    tifffile.imwrite(buf, arr, metadata=None, photometric="rgb" if rgb else "minisblack",
                     planarconfig="contig" if arr.ndim == 4 else None)
    return buf.getvalue()


def read_again(ws, stem: str, axes: str) -> ImportReport:
    """Read the file imported as ``stem``'s planes again with ``axes`` (one of its ``guesses`` choices). The new
    images are imported first (a refusal changes nothing); then the old ones, and the masks that do not follow,
    go to the trash."""
    found = guesses(ws.root, ws.images_dir).get(stem)
    if found is None:
        raise ValueError(f"{stem}: no file read by a guess of its axes under this name (removed meanwhile?)")
    if axes not in found["choices"]:
        raise ValueError(f"{stem}: {axes} is not one of its readings ({', '.join(found['choices'])})")
    old = list(found["images"])
    importer = Importer(ws.masks, axes=axes)
    importer.channels = LayoutGuard(ws.images_dir, IMAGE_EXTS, leaving=frozenset(old))  # e.g. planes -> channels
    rep = importer.run(bytes_entries([(found["file"], _stacked(ws, old))]))
    new = [r.name for r in rep.files if r.status != REFUSED and r.kind == "image"]
    if not new:
        return rep
    follow = dict(zip(old, new)) if len(new) == len(old) else {}  # planes stay planes: masks follow by order
    with ws.masks.lock():
        for before, after in follow.items():
            mask = ws.read_mask(before)
            if mask is not None and before != after:
                ws.save_mask(after, mask)
        gone = [p for s in old if s not in new for p in ws.image_files(s) + [ws.mask_path(s)] if p.exists()]
        where = move_to_trash(ws.root, stem, gone) if gone else None
    forget_guess(ws.root, stem)
    masks = sum(ws.mask_path(a).exists() for a in follow.values())
    note = (f"{found['file']} is now read as {found['choices'][axes]}: {_names(new)}"
            + (f"; {masks} mask(s) followed their plane" if masks else "")
            + (f"; the images read before are in {where.relative_to(ws.root)}" if where else ""))
    rep.files.insert(0, FileResult(found["file"], "imported", stem, note, kind="file"))
    return rep


def _names(stems: list[str]) -> str:
    return stems[0] if len(stems) == 1 else f"{stems[0]} .. {stems[-1]} ({len(stems)} images)"

