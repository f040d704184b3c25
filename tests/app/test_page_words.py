"""Every page's default view in a domain expert's words: each page rendered (an empty workspace, the sample,
the sample with a finished run, the Train page after a training it started) shows no engineering word of
``ENGINEERING`` in what a user reads without opening a tooltip (help texts) or a collapsed "Technical
details" expander, and raises no exception. Outside checks (the CLI, the engine's files) keep their own
words."""
from __future__ import annotations

import json
import re
from io import StringIO

import pandas as pd
import pytest

from page_helpers import page, wait_for

# words an ML engineer says and a biologist or inspector does not (whole words, any case). "ONNX" stays
# allowed: it is a file format a user picks to take the model elsewhere, like PNG or CSV.
ENGINEERING = [
    "backbone", "encoder", "decoder", "freeze", "frozen", "unfreeze", "epoch", "epochs", "logits", "entropy",
    "miou", "tta", "crf", "ema", "bf16", "fp16", "autocast", "channels-last", "channels_last",
    "DistributedDataParallel", "torchrun", "DDP", "lr", "learning rate", "ce", "ce+dice", "focal", "HxW",
    "stem", "0-based", "environment variable", "SEG_CORE_\\w*", "SEGAPP_\\w*", "Hugging Face", "params",
    "checkpoint", "ImageNet", "TorchScript", "PyTorch", "torch", "tensor", "softmax", "argmax", "batch size",
    "augmentation", "inference", "sxy_bilateral", "srgb", "compat_bilateral", "val_miou", "freeze_depth",
    "unfreeze_after", "img_size", "time_budget_s", "ignored_pixels", "(N, 3, H, W)", "metadata_props",
    "ground truth", "timm", "dataloader", "mask_values",
]
_PATTERN = re.compile("|".join(rf"(?<!\w){w if w.startswith('SEG') else re.escape(w)}(?!\w)"
                               for w in sorted(ENGINEERING, key=len, reverse=True)), re.IGNORECASE)
_TEXT_FIELDS = {"label", "body", "options", "caption", "placeholder", "text", "title"}  # never "help"
TECHNICAL = "Technical details"


def _repeated(desc) -> bool:
    return desc.is_repeated if hasattr(desc, "is_repeated") else desc.label == desc.LABEL_REPEATED


def _strings(message) -> list[str]:
    """The user-facing strings of an element's proto (its label, body, options, captions, ...), not its help."""
    out = []
    for desc, value in message.ListFields():
        if desc.name == "help":
            continue
        if desc.type == desc.TYPE_MESSAGE:
            for item in (value if _repeated(desc) else [value]):
                out += _strings(item)
        elif desc.name in _TEXT_FIELDS and desc.type == desc.TYPE_STRING:
            out += list(value) if _repeated(desc) else [value]
    return out


def _table_strings(node) -> list[str]:
    """A table's column headers as shown (their ``column_config`` label, else the column's name) and its text
    cells."""
    frame = node.value
    config = json.loads(node.proto.columns or "{}")
    out = []
    for col in frame.columns:
        conf = config.get(str(col)) or config.get(f"_pos:{list(frame.columns).index(col)}") or {}
        if conf.get("hidden"):
            continue
        out.append(str(conf.get("label") or col))
        if frame[col].dtype == object:
            out += [str(v) for v in frame[col].dropna() if isinstance(v, str) and not v.startswith("data:")]
    return out


def _component_strings(node) -> list[str]:
    """The texts a components-v2 element is given to show (the training's progress line, chart titles)."""
    try:
        data = json.loads(node.proto.bidi_component.json or "null")
    except (AttributeError, ValueError):
        return []
    out = []

    def walk(v, key=""):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and key in ("text", "title", "x_label", "y_label", "note"):
            out.append(v)
    walk(data)
    return out


def visible_text(at) -> list[str]:
    """What a user reads on the rendered page without hovering a help icon or opening "Technical details"."""
    texts: list[str] = []

    def walk(node):
        kind = getattr(node, "type", None)
        proto = getattr(node, "proto", None)
        if kind == "expander" and TECHNICAL.lower() in proto.label.lower():
            assert not proto.expanded, f"'{proto.label}' is open by default"
            return
        if kind == "dataframe" or kind == "arrow_data_frame":
            texts.extend(_table_strings(node))
        elif kind in ("bidi_component", "custom_component"):
            texts.extend(_component_strings(node))
        elif proto is not None and hasattr(proto, "ListFields"):
            texts.extend(_strings(proto))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return [re.sub(r"</?(span|div|p|b|i|br|a)\b[^>]*>", " ", t) for t in texts]  # the HTML, not its text


def engineering_words(at) -> list[tuple[str, str]]:
    """(word, the text it is in) for every engineering word the page shows."""
    return [(m.group(0), t) for t in visible_text(at) for m in _PATTERN.finditer(t)]


def _check(at, where: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    found = engineering_words(at)
    assert not found, f"{where}: " + "\n".join(f"{w!r} in: {t[:160]}" for w, t in found)


def test_the_word_list_catches_what_it_should():
    """The check itself: it finds a word in a label, not in a help text or inside a longer word."""
    assert [w for w, _ in
            [(m.group(0), "") for m in _PATTERN.finditer("Backbone (ImageNet-pretrained encoder), val_miou")]] \
        == ["Backbone", "ImageNet", "encoder", "val_miou"]
    assert not _PATTERN.search("Celebrate the cell's sheer reception")  # ce, lr, ema inside words


PAGES = ["data.py", "annotate.py", "train.py", "review.py", "runs.py"]


@pytest.mark.parametrize("name", PAGES)
def test_an_empty_workspace_speaks_plainly(fresh_ws, name):
    _check(page(name).run(), f"{name} (a new workspace)")


@pytest.mark.parametrize("name", PAGES)
def test_a_workspace_with_a_finished_run_speaks_plainly(use_trained, name):
    _check(page(name).run(), f"{name} (with a finished run)")


def test_the_train_page_speaks_plainly_during_and_after_a_training(trained_copy):
    """A training started from the page: its progress line, charts and end message in plain words."""
    from seg_core import REGISTRY

    at = page("train.py").run()
    at.number_input(key="budget").set_value(10)
    at.text_input(key="img_size").set_value("64x64")
    next(b for b in at.button if b.key == "start_training").click().run()
    _check(at, "train.py (training started)")
    job = REGISTRY.latest()
    assert job is not None and job.wait(600), "the training did not end"
    at = page("train.py").run()
    wait_for(lambda: not job.snapshot().active, what="the training's end")
    _check(at.run(), "train.py (training finished)")
    assert any("finished" in s.value for s in at.success)
