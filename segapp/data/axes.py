"""Files whose axes the file does not name (a TIFF of many pages without OME or ImageJ metadata), on the Data
page: before import, how each upload will be read with a choice (``upload_axes``); after import, each file read by
a guess with a choice to read it again (``guesses_panel``). The engine: ``seg_core.data.stacks.axes``,
``seg_core.workspace.importing.regroup``."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from seg_core.data.errors import ImageReadError
from seg_core.data.stacks.axes import choices, guessed, pages
from seg_core.data.stacks.files import TIFF_SUFFIXES, file_suffix, read_stack_header
from seg_core.workspace.importing.guesses import guesses
from segapp import access
from segapp.flash import flash, show_flash
from segapp.words import say

FLASH = "data_axes"


def upload_axes(files) -> dict[str, str]:
    """For each uploaded TIFF (``files``: the uploader's) that names no axes: how it will be read and a choice
    of reading; returns the orders chosen other than the guess, by file name (``Workspace.import_uploads``'
    ``axes``)."""
    chosen = {}
    for f in files or []:
        if file_suffix(f.name) not in TIFF_SUFFIXES:
            continue
        try:
            hdr = read_stack_header(Path(f.name), f.getvalue())
        except ImageReadError:  # the import names what is wrong with it
            continue
        if not guessed(hdr):
            continue
        options = choices(hdr)
        order = st.selectbox(
            f"{f.name} does not say what its {pages(hdr)} pages are. Read them as:",
            list(options), format_func=options.get, key=f"up_axes_{f.name}",
            help="The file names no axes (no OME or ImageJ information). Depth: each page an image of its own "
                 "(cells_z00, cells_z01, ...); time: the same, named cells_t00, ...; channels: one image whose "
                 "channels are the pages (one stain or band each). You can change it after importing too.")
        if order != next(iter(options)):  # the guess kept: read as guessed, and offered again after import
            chosen[f.name] = order
    return chosen


def guesses_panel(ws) -> None:
    """Each file imported by a guess of its axes: how it was read, and reading it again in another order."""
    show_flash(FLASH)
    found = guesses(ws.root, ws.images_dir)
    if not found:
        return
    st.subheader("Files read by a guess")
    st.caption("These files do not say whether their pages are depth, time or channels; they were read as "
               "planes of depth. Choose how to read one and press Read it again: its images are made again "
               "and the ones read before go to the trash.")
    may = access.can(ws.root, "import")
    for stem, g in found.items():
        c1, c2, c3 = st.columns([3, 2, 1])
        c1.markdown(f"**{g['file']}**: read as {g['read_as']} ({g['images'][0]} … {g['images'][-1]})")
        options = g["choices"]
        order = c2.selectbox("Read it as", list(options), format_func=options.get, key=f"axes_again_{stem}",
                             label_visibility="collapsed")
        if c3.button("Read it again", key=f"axes_read_{stem}", disabled=not may or order == g["axes"]) \
                and access.allowed(ws.root, "import"):
            try:
                rep = ws.read_again(stem, order)
            except (OSError, ValueError) as err:
                say("error", err)
                continue
            access.did(ws.root, "import", f"{g['file']} read again as {options[order]}")
            if rep.problems:  # nothing changed: the new reading was refused
                flash(FLASH, f"{g['file']} was not read again:", "warning", more=[("error", p) for p in rep.problems])
            flash(FLASH, rep.files[0].reason)
