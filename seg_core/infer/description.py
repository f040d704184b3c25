"""What an exported model file says about itself: its classes and colours, what input it takes (layout, colour
order, value range, normalisation, side multiple and padding), what it returns, how it was made and how well it
scored on held-out images. No torch: the ONNX predictor reads it back (``from_metadata``) and uses nothing else.

The same description is the ONNX file's ``metadata_props`` (one entry per top-level key; text as it is, other
values as JSON), a JSON file beside a TorchScript file (and inside it, ``description.json``), and the
``classes`` part of it is a masks zip's ``classes.json``.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from seg_core.base.classes import ClassList
from seg_core.data.colour import how_text
from seg_core.data.model_input import colour_layout
from seg_core.infer.tiling import MAX_WHOLE_PIXELS, TILE, TILE_OVERLAP
from seg_core.runs.folder import Run

FORMAT = "segmentation-studio model description 1"
INPUT_NAME, OUTPUT_NAME = "image", "logits"
JSON_NAME = "description.json"  # inside a TorchScript file (torch.jit.load's _extra_files)


def _when(t) -> str | None:
    return datetime.fromtimestamp(float(t), timezone.utc).isoformat(timespec="seconds") if t else None


def _best_validation(run: Run) -> dict:
    """The held-out scores of the validation that saved the checkpoint (the last 'best' row of history.csv)."""
    try:
        best = [r for r in run.history() if r.get("best") in (True, 1, "True") and r.get("val_miou") is not None]
    except ValueError:
        best = []
    row = best[-1] if best else {}
    return {k: row.get(k) for k in ("val_miou", "val_dice", "val_pixel_accuracy", "scored_on", "epoch") if k in row}


def _colour(run: Run) -> dict | None:
    """How each image is brought to the training images' colours before scaling (``seg_core.data.colour``),
    or None when the run was trained on images as they are."""
    ref = run.colour_reference
    if ref is None:
        return None
    return {"how": how_text(), "mean": list(ref.mean), "std": list(ref.std)}


def _intensities(run: Run) -> dict | None:
    """How an image stored with more than 8 bits becomes the 8-bit values above (``seg_core.data.intensities``),
    or None: the run was trained on 8-bit images (or before fixed ranges), each such image stretched by itself."""
    ref = run.intensities
    return ref.to_dict() if ref is not None else None


def _layout(n: int, rgb: bool) -> str:
    return f"NCHW: (images, {n} {'colour channels' if rgb else 'channels'}, height, width)"


def describe(run: Run, mean, std, multiple: int) -> dict:
    """The description of ``run``'s model as exported: the network takes RGB in 0..1 and normalises with
    ``mean``/``std`` itself (``seg_core.model.network.SegModel``); sides must be multiples of ``multiple``."""
    cfg, status = run.config, run.status
    reading = run.reading
    rgb = reading.legacy or colour_layout(reading.channels)  # gray (repeated to 3) or RGB
    split = cfg.get("split") or {}
    held_out = _best_validation(run)
    if held_out.get("val_miou") is None and status.get("best_val_miou") is not None:
        held_out["val_miou"] = status["best_val_miou"]
    return {
        "format": FORMAT,
        "what": "An image segmentation model: it gives every pixel of an image one of the classes below.",
        "classes": run.classes.to_json(),
        "input": {"name": INPUT_NAME, "layout": _layout(reading.in_channels, rgb), "axes": "NCHW",
                  "colour_order": "RGB" if rgb else None, "dtype": "float32", "value_range": [0.0, 1.0],
                  "scaling": "8-bit pixel values divided by 255 (images stored with more than 8 bits: first brought "
                             "to 8 bits by input_normalisation)",
                  **reading.to_config(),  # channels read (names, in order), the file's channel_layout, in_channels,
                  # channel_normalisation (how each becomes 0..1); one channel read: repeated to 3
                  "normalisation": "done inside the model ((x - mean) / std per channel); do not normalise again",
                  "mean": [float(v) for v in mean], "std": [float(v) for v in std],
                  "colour_normalisation": _colour(run),
                  "input_normalisation": _intensities(run)},
        "side_multiple": int(multiple),
        "padding": {"where": "bottom and right, up to the next multiple of side_multiple",
                    "mode": "reflect (mirror without repeating the edge pixel); edge (repeat the last pixel) "
                            "when a side is shorter than its padding",
                    "then": "crop the output back to the image's height and width"},
        "tiling": {"whole_up_to_pixels": MAX_WHOLE_PIXELS, "tile": TILE, "overlap": TILE_OVERLAP,
                   "how": "larger images are predicted in overlapping square tiles; class probabilities averaged "
                          "where tiles overlap"},
        "output": {"name": OUTPUT_NAME, "layout": "NCHW: (images, classes, height, width)",
                   "meaning": "class scores per pixel (logits): the pixel's class is the one with the highest "
                              "score; softmax over the classes gives probabilities"},
        "architecture": cfg.get("arch"),
        "backbone": cfg.get("backbone"),
        "held_out_scores": held_out,
        "postprocess": run.postprocess,  # CRF and flips as measured on held-out images, and the choice
        "trained": {"run": run.name, "started": _when(status.get("started")),
                    "finished": _when(run.checkpoint_mtime), "state": status.get("state"),
                    "data": cfg.get("data"), "train_images": len(split.get("train", [])),
                    "held_out_images": len(split.get("val", [])), "epochs": status.get("epochs"),
                    "seconds": status.get("seconds"), "crop": cfg.get("img_size"),
                    "start_weights": cfg.get("weights")},
    }


def to_metadata(description: dict) -> dict[str, str]:
    """ONNX ``metadata_props``: one text entry per key (text as it is, other values as JSON)."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in description.items()}


def from_metadata(props: dict[str, str], name: str = "the model file") -> dict:
    """The description back from ``metadata_props``; a file without one is refused, saying so."""
    if props.get("format") != FORMAT:
        raise ValueError(f"{name}: has no model description (metadata 'format' is not '{FORMAT}'): export it "
                         "again from the Runs page or with `python -m seg_core export`")
    out = {}
    for k, v in props.items():
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    out["format"] = props["format"]
    return out


def classes_of(description: dict) -> ClassList:
    return ClassList.from_json(description["classes"])


def write_beside(model_file: Path, description: dict) -> Path:
    """The description as ``<model file without suffix>.json`` beside the model file."""
    from seg_core.base.atomic import atomic_write_text

    path = Path(model_file).with_suffix(".json")
    atomic_write_text(path, json.dumps(description, indent=2))
    return path
