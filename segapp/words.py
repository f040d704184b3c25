"""How the pages name what the engine writes: its table columns (the CSV keys stay as the engine writes them;
only the header a user reads changes), its values, and the scores, explained once."""
from __future__ import annotations

import re

import streamlit as st

OVERLAP = ("Overlap with your masks (IoU): for each class, the pixels where the model and your mask agree, "
           "divided by the pixels either of them gives that class; 1 = the same mask, 0 = nothing in common; "
           "averaged over the classes.")

# column key -> (header, help): the engine's keys (evaluation, objects, runs) in a domain expert's words
COLUMNS = {
    "miou": ("overlap (IoU)", "Overlap with your mask on this image (mIoU)."),
    "pixel_accuracy": ("pixels right", "Share of labelled pixels the model gives your class (pixel accuracy)."),
    "labelled_pixels": ("labelled pixels", None),
    "ignored_pixels": ("unlabelled pixels", "Pixels nobody painted: not scored (ignored_pixels)."),
    "split": ("used for", "train: the model learned from it; validation: kept aside to check it; unseen: "
                          "labelled after the run started."),
    "area_px": ("area (pixels)", None),
    "area_um2": ("area (µm²)", None),
    "eccentricity": ("elongation", "0 for a circle, towards 1 for a long thin shape (eccentricity)."),
    "solidity": ("solidity", "Area divided by the area of its convex outline: 1 for a shape without dents."),
    "centroid_y": ("centre row", None),
    "centroid_x": ("centre column", None),
    "bbox_min_y": ("top", None), "bbox_min_x": ("left", None),
    "bbox_max_y": ("bottom", None), "bbox_max_x": ("right", None),
}
VARIANTS = {"plain": "as predicted", "tta": "averaged with mirrored copies", "crf": "edges sharpened",
            "crf+tta": "both"}  # post-processing variants (seg_core.infer.postprocess)


def header(key: str) -> str:
    """A column's header: the known words, else the key with units spelled out (``major_axis_px`` ->
    ``major axis (pixels)``)."""
    if key in COLUMNS:
        return COLUMNS[key][0]
    text = re.sub(r"_px$", " (pixels)", re.sub(r"_um2$", " (µm²)", re.sub(r"_um$", " (µm)", str(key))))
    return text.replace("_", " ")


def column_config(columns, **extra) -> dict:
    """``st.dataframe(column_config=...)`` naming each of ``columns`` in words, the key in its help."""
    config = {}
    for key in columns:
        words, why = COLUMNS.get(key, (header(key), None))
        if words != key:
            config[key] = st.column_config.Column(words, help=f"{why + ' ' if why else ''}Column `{key}` in the "
                                                                "downloaded files.")
    return config | extra


SETTINGS = {"mask_values": "the mask reading", "ignore_index": "the unlabelled value"}  # a setting in words


def plain(message) -> str:
    """An engine message with the settings it names (``seg_core.base.messages.given``) in plain words (the
    command line names them by its flags)."""
    from seg_core.base.messages import worded

    def words(settings: list[tuple[str, str | None]]) -> str:
        return " and ".join(SETTINGS.get(k, k.replace("_", " ")) + ("" if v is None else f" {v}" if v.isdigit()
                                                                       else f" '{v}'") for k, v in settings) \
            or "the setting"
    return worded(str(message), words)


_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^@])")


def escaped(text) -> str:
    """``text`` (a name from the URL, a file or a person) escaped so that Streamlit's Markdown shows it as typed:
    no emphasis, links (an e-mail address included), images, colours, emoji codes or formulas made of it."""
    return _MARKUP.sub(r"\\\1", str(text))


def say(level: str, message) -> None:
    """An engine message as ``st.<level>`` ("error", "warning", "info", "caption"), in plain words (``plain``):
    what the user reads, and its technical details (an environment variable, a file to copy:
    ``seg_core.base.messages``) out of the way, in a caption's tooltip or a collapsed "Technical details" under
    an alert."""
    from seg_core.base.messages import split_details

    user, technical = split_details(plain(message))
    if level == "caption":
        st.caption(user, help=f"Technical details: {technical}" if technical else None)
        return
    getattr(st, level)(user)
    if technical:
        with st.expander("Technical details"):
            st.caption(technical)
