"""The Train page's advanced options: the mask-drawing architecture, learning speed, pieces, what counts as a
mistake, the copies trained on, and any setting TrainConfig declares for the page that the layout does not
place."""
from __future__ import annotations

import streamlit as st

from seg_core import ARCHITECTURES
from seg_core.data.augment import ORIENTATIONS, AugmentConfig
from seg_core.model.architectures import supported_archs
from seg_core.model.losses import LOSS_WORDS
from seg_core.runs.config import SETTINGS
from segapp.train.network import DEFAULTS
from segapp.train.widgets import about, widget

# the settings the page places; any other setting TrainConfig declares for the page (a new one) gets a widget by
# its type under Advanced options. Labels, help texts, bounds and choices: TrainConfig's SETTINGS.
LAID_OUT = {"backbone", "arch", "weights", "init_run", "freeze_depth", "unfreeze_after", "time_budget", "epochs",
            "lr", "batch_size", "img_size", "loss", "class_weights", "num_workers", "val_fraction", "ema",
            "cache_mb", "even_colours", "orientation"}


def advanced_options(backbone: str, continuing: bool) -> dict:
    """The options' widgets (``arch`` only when not ``continuing`` a run, whose it is); the TrainConfig fields
    chosen."""
    fields = {}
    if not continuing:
        fields["arch"] = st.selectbox(options=supported_archs(backbone), key="arch",
                                      format_func=lambda a: ARCHITECTURES[a].plain, **about("arch"))
    a1, a2, a3 = st.columns(3)
    lr = widget(a1, "lr", format="%.5f")
    batch = widget(a1, "batch_size", key="batch")
    size_txt = a2.text_input(value="", key="img_size", placeholder="automatic", **about("img_size"))
    loss = widget(a2, "loss", format_func=LOSS_WORDS.get)
    balanced = a2.checkbox(value=DEFAULTS.class_weights == "balanced", key="balanced", **about("class_weights"))
    aug = DEFAULTS.augment
    hflip = a3.checkbox("Mirror left-right", aug.hflip, key="hflip",
                        help="The model also learns from each piece mirrored left to right (horizontal flips).")
    orientation = widget(a3, "orientation", format_func=ORIENTATIONS.get)
    scale = a3.checkbox(f"Random scale ({aug.scale[0]}-{aug.scale[1]}x)", aug.scale != (1.0, 1.0), key="scale")
    rotate = a3.slider("Max rotation (degrees)", 0, 180, int(aug.rotate), key="rotate")
    even = widget(a3, "even_colours")
    colour = a3.slider("Colour changes", 0.0, 0.5, float(aug.colour), key="colour",
                       help="How much brightness, contrast and colour vary between the copies trained on (colour "
                            "jitter).")
    workers = widget(a1, "num_workers")
    val_fraction = widget(a1, "val_fraction", step=0.05)
    ema = widget(a3, "ema")
    cache_mb = widget(a2, "cache_mb", step=256)
    # a setting declared for the page that the layout above does not place: a widget by its type
    more = {name: widget(a1, name) for name, s in SETTINGS.items() if s.page and name not in LAID_OUT}
    return more | fields | {
        "img_size": size_txt, "loss": loss, "lr": float(lr), "batch_size": int(batch),
        "class_weights": "balanced" if balanced else None,
        "orientation": orientation,
        "augment": AugmentConfig(hflip=hflip, vflip=aug.vflip, scale=aug.scale if scale else (1.0, 1.0),
                                 rotate=float(rotate), colour=float(colour)),
        "num_workers": int(workers), "cache_mb": int(cache_mb), "val_fraction": float(val_fraction),
        "ema": bool(ema), "even_colours": bool(even)}
