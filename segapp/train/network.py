"""The three choices that matter most on the Train page: the network the model starts from (or a run to continue
from) and what it learned first, how much of it stays as it is, and how long to train."""
from __future__ import annotations

import streamlit as st

from seg_core import ARCHITECTURES, BACKBONES, TrainConfig, encoder_info, get_backbone, imagenet_offline
from seg_core.runs.config import SETTINGS
from segapp.train.widgets import about, label, limits, widget
from segapp import access

DEFAULTS = TrainConfig(data="", out="")  # the engine's measured beginner recipe
APP_BUDGET_S = 120  # a first model within about two minutes
SPEED = {"CPU": "quick", "CPU or GPU": "quicker with a graphics card", "GPU": "slow without a graphics card"}
# (Backbone.suits in words)
WEIGHTS = {"imagenet": "Learned from everyday photos", "none": "Nothing (needs many more images)",
           "file": "My own file"}
STOPS = {"time budget": "a time", "epochs": "a number of rounds"}


@st.cache_data(show_spinner=False)
def network_info(name: str) -> dict:
    return encoder_info(name)


@st.cache_data(show_spinner=False, ttl=60)
def _offline(name: str) -> bool:
    try:
        return bool(imagenet_offline(get_backbone(name)))
    except Exception:
        return False


def _fmt_params(n: int) -> str:
    return f"{n / 1e6:.1f} million" if n >= 1e6 else f"{n / 1e3:.0f} thousand"


def _backbone_label(name: str) -> str:
    info = network_info(name)
    ok = "ready offline ✓" if _offline(name) else "downloads first"
    return f"{name} — {_fmt_params(info['encoder_params'])} values, {SPEED[BACKBONES[name].suits]}, {ok}"


def start_from(ws, runs: list) -> tuple:
    """A run to continue from, or the network and what it learned first (photos, nothing, a file uploaded).
    Returns the run continued (None: none) and the TrainConfig fields chosen (``weights`` None: the file is not
    uploaded yet)."""
    init = st.selectbox(options=[None] + runs, key="init_run", **about("init_run"),
                        format_func=lambda r: "no: start afresh from the network below" if r is None else
                        f"{r.name} ({r.settings.get('backbone')})")
    fields = {"init_run": str(init.path) if init is not None else None}
    if init is not None:
        backbone, arch = init.settings["backbone"], init.settings["arch"]
        fields["arch"] = arch
        st.caption(f"{label('backbone')}: {backbone} · {label('arch')}: {ARCHITECTURES[arch].plain} (from the run)")
    else:
        backbone = st.selectbox(options=list(SETTINGS["backbone"].choices), format_func=_backbone_label,
                                key="backbone", **about("backbone"))
    wchoice = "imagenet" if init is not None else st.radio(options=list(WEIGHTS), format_func=WEIGHTS.get,
                                                           horizontal=True, key="weights_choice", **about("weights"))
    weights = "imagenet"
    if wchoice == "none":
        weights = "none"
    elif wchoice == "file":
        up = st.file_uploader("Weights file (.pth, .pt, .safetensors)", type=["pth", "pt", "bin", "safetensors"])
        if up is not None and access.allowed(ws.root, "train"):
            wpath = ws.save_weights_file(up.name, up.getvalue())
            weights = str(wpath)
            st.caption(f"saved as `{wpath}`")
        else:
            weights = None
    if weights == "imagenet" and init is None and not _offline(backbone):
        st.warning(f"What {backbone} learned from photos is not on this computer yet: it is downloaded when "
                   "training starts (this needs the internet). The networks marked 'ready offline' need nothing.")
    return init, fields | {"backbone": backbone, "weights": weights}


def parts_and_length(backbone: str) -> dict:
    """How many of the network's parts stay as they are (and when all learn), and when training stops: the
    TrainConfig fields chosen."""
    info = network_info(backbone)
    stages = info["stages"]
    depth = st.slider(min_value=limits("freeze_depth")["min_value"], max_value=stages,
                      value=min(DEFAULTS.freeze_depth, stages), key="freeze_depth",
                      **about("freeze_depth"))
    frozen = sum(info["stage_params"][:depth])
    total_enc = info["encoder_params"]
    stage_txt = " ".join(("🔒" if i < depth else "✏️") + f"{i + 1}" for i in range(stages))
    st.markdown(f"Parts: {stage_txt}", help="🔒 kept as learned from the photos, ✏️ adapts to your images")
    if depth:
        st.caption(f"{depth} of {stages} parts kept as they are: {_fmt_params(frozen)} of the network's "
                   f"{_fmt_params(total_enc)} learned values stay; {_fmt_params(total_enc - frozen)} (and the part "
                   "that draws the mask) adapt to your images. Keeping the first parts makes each step faster and "
                   "steadies a short training on few images: they see edges and textures, useful for any image.")
    else:
        st.caption(f"All {stages} parts adapt to your images ({_fmt_params(total_enc)} learned values, and the part "
                   "that draws the mask). This can learn more in a longer training; in a short one, keeping the "
                   "first parts did better in our tests.")
    unfreeze = widget(st, "unfreeze_after", DEFAULTS.unfreeze_after or 0, key="unfreeze", suffix=" (0 = never)",
                      disabled=not depth)  # with no part kept, every part learns from the start
    mode = st.radio("Stop after", list(STOPS), format_func=STOPS.get, horizontal=True, key="stop_mode",
                    help="A time: about how long you wait, preparation and scoring included. Rounds: passes over "
                         "all training images (epochs).")
    if mode == "time budget":
        budget = widget(st, "time_budget", APP_BUDGET_S, key="budget", step=10.0, format="%g")
        epochs = None
    else:
        epochs = widget(st, "epochs", 20, key="epochs")
        budget = None
    return {"freeze_depth": int(depth), "unfreeze_after": int(unfreeze) or None,
            "epochs": int(epochs) if epochs is not None else None,
            "time_budget": float(budget) if budget is not None else None}
