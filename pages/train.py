"""Train: pick the pretrained network the model starts from and how much of it stays fixed, then train in the
background."""
from pathlib import Path

import streamlit as st

from segapp.navigation import through_app
from segapp.heap import settled
from segapp.live_panel import Curve, live_panel
from segapp.state import registry, workspace
from segapp.words import say
from seg_core import ARCHITECTURES, BACKBONES, JobRefused, TrainConfig, encoder_info, get_backbone, \
    imagenet_offline
from seg_core.runner import launch
from seg_core.model.architectures import supported_archs
from seg_core.data.augment import AugmentConfig
from seg_core.base.device import describe as describe_device, describe_plainly
from seg_core.model.losses import LOSS_WORDS
from seg_core.runs.config import SETTINGS, ConfigError, build_config, default_of
from seg_core.base.locks import describe as describe_holder, holder as training_holder

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
reg = registry()
DEFAULTS = TrainConfig(data="", out="")  # the engine's measured beginner recipe
APP_BUDGET_S = 120  # a first model within about two minutes
# the live progress is sent this often while a training runs (the browser ticks its clock in between): each update
# is Python in this server and a render in the browser, taken from the training's CPU (benchmarks/bench_ui.py,
# part watch, measures the cost)
LIVE_REFRESH_S = 5.0
FIRST_REFRESH_S = 1.0  # until the first step shows, so it shows at once; then the page reruns at the calm pace
# the settings the layout below places; any other setting TrainConfig declares for the page (a new one) gets a
# widget by its type under Advanced options. Labels, help texts, bounds and choices: TrainConfig's SETTINGS.
LAID_OUT = {"backbone", "arch", "weights", "init_run", "freeze_depth", "unfreeze_after", "time_budget", "epochs",
            "lr", "batch_size", "img_size", "loss", "class_weights", "num_workers", "val_fraction", "ema",
            "cache_mb", "even_colours"}
st.title("Train")


def _label(name: str, suffix: str = "") -> str:
    return SETTINGS[name].page_label + suffix


def _about(name: str, suffix: str = "") -> dict:
    """A setting's label in the page's words (with the page's ``suffix``) and its help text with the technical
    name, as TrainConfig declares them."""
    return {"label": _label(name, suffix), "help": SETTINGS[name].page_help}


def _limits(name: str) -> dict:
    """A numeric setting's declared bounds as widget limits, where the bound is itself allowed (an excluded
    bound, like a learning rate above 0, is no widget limit: Start names it)."""
    s = SETTINGS[name]
    kw = {}
    if s.min is not None and not s.above:
        kw["min_value"] = s.kind(s.min)
    if s.max is not None and not s.below:
        kw["max_value"] = s.kind(s.max)
    return kw


def _widget(where, name: str, value=None, key: str | None = None, suffix: str = "", **kw):
    """The widget of setting ``name`` by its type: a checkbox, a choice of its choices, a number within its
    bounds, or a text box; ``value``: the initial value (default: the setting's default)."""
    s = SETTINGS[name]
    value = default_of(name) if value is None else value
    kw = _about(name, suffix) | {"key": key or name} | kw
    if s.kind is bool:
        return where.checkbox(value=bool(value), **kw)
    if s.choices is not None:
        options = list(s.choices)
        return where.selectbox(options=options, index=options.index(value) if value in options else 0, **kw)
    if s.kind in (int, float):
        return where.number_input(value=None if value is None else s.kind(value), **(_limits(name) | kw))
    return where.text_input(value="" if value is None else str(value), **kw)


@st.cache_data(show_spinner=False)
def _info(name: str) -> dict:
    return encoder_info(name)


@st.cache_data(show_spinner=False, ttl=60)
def _offline(name: str) -> bool:
    try:
        return bool(imagenet_offline(get_backbone(name)))
    except Exception:
        return False


def _fmt_params(n: int) -> str:
    return f"{n / 1e6:.1f} million" if n >= 1e6 else f"{n / 1e3:.0f} thousand"


SPEED = {"CPU": "quick", "CPU or GPU": "quicker with a graphics card", "GPU": "slow without a graphics card"}
# (Backbone.suits in words)


def _backbone_label(name: str) -> str:
    info = _info(name)
    ok = "ready offline ✓" if _offline(name) else "downloads first"
    return f"{name} — {_fmt_params(info['encoder_params'])} values, {SPEED[BACKBONES[name].suits]}, {ok}"


try:
    ds = ws.scan()
except ValueError as err:  # a damaged classes.json: named; nothing can train until it is fixed
    st.error(f"{err}. Fix it on the **Data** page (Classes: Save classes writes a new one).")
    st.stop()
n_lab = len(ds.labelled)
st.caption(f"{n_lab} labelled image(s) of {len(ds.samples)}; unlabelled images and pixels are skipped.")
st.markdown("**Three choices matter most:** the network the model starts from, how much of it stays as it is, "
            "and how long to train. The defaults suit a first model from a few images.")

# a torchrun training started before a page reload or a server restart is picked up again (launch.py)
job = launch.reattach(reg, ws.runs_dir) or reg.training_of(ws.runs_dir, st.session_state.get("job_id"))
running = job is not None and job.active
elsewhere = None if running else training_holder(ws.runs_dir)  # a training in another process (another server)
if elsewhere is not None:
    st.info(f"{describe_holder(elsewhere)} in another process; Start is available again when it ends.")
other = None if running else reg.training()  # another project's (another tab's): one training at a time here
if other is not None:
    whose = f"The project '{Path(other.output).parent.parent.name}'" if other.output else "Another project"
    st.info(f"{whose} is training ('{other.label}'); one training runs at a time, so Start is available again "
            "when it ends.")

runs = ws.runs_to_continue()
if runs:
    last_start = runs[0].status.get("started")
    if isinstance(last_start, (int, float)):
        st.caption(f"{ws.masks_changed_since(last_start)} mask(s) saved since the latest run started "
                   f"({runs[0].name}).")

c1, c2 = st.columns(2)
with c1:
    init = st.selectbox(options=[None] + runs, key="init_run", **_about("init_run"),
                        format_func=lambda r: "no: start afresh from the network below" if r is None else
                        f"{r.name} ({r.settings.get('backbone')})")
    if init is not None:
        backbone, arch = init.settings["backbone"], init.settings["arch"]
        st.caption(f"{_label('backbone')}: {backbone} · {_label('arch')}: {ARCHITECTURES[arch].plain} (from the run)")
    else:
        backbone = st.selectbox(options=list(SETTINGS["backbone"].choices), format_func=_backbone_label,
                                key="backbone", **_about("backbone"))
    WEIGHTS = {"imagenet": "Learned from everyday photos", "none": "Nothing (needs many more images)",
               "file": "My own file"}
    wchoice = "imagenet" if init is not None else st.radio(options=list(WEIGHTS), format_func=WEIGHTS.get,
                                                           horizontal=True, key="weights_choice", **_about("weights"))
    weights = "imagenet"
    if wchoice == "none":
        weights = "none"
    elif wchoice == "file":
        up = st.file_uploader("Weights file (.pth, .pt, .safetensors)", type=["pth", "pt", "bin", "safetensors"])
        if up is not None:
            wpath = ws.save_weights_file(up.name, up.getvalue())
            weights = str(wpath)
            st.caption(f"saved as `{wpath}`")
        else:
            weights = None
    if weights == "imagenet" and init is None and not _offline(backbone):
        st.warning(f"What {backbone} learned from photos is not on this computer yet: it is downloaded when "
                   "training starts (this needs the internet). The networks marked 'ready offline' need nothing.")
with c2:
    info = _info(backbone)
    stages = info["stages"]
    depth = st.slider(min_value=_limits("freeze_depth")["min_value"], max_value=stages,
                      value=min(DEFAULTS.freeze_depth, stages), key="freeze_depth",
                      **_about("freeze_depth"))
    frozen = sum(info["stage_params"][:depth])
    total_enc = info["encoder_params"]
    stage_txt = " ".join(("🔒" if i < depth else "✏️") + f"{i + 1}" for i in range(stages))
    st.markdown(f"Parts: {stage_txt}", help="🔒 kept as learned from the photos, ✏️ adapts to your images")
    st.caption(f"{depth} of {stages} parts kept as they are: {_fmt_params(frozen)} of the network's "
               f"{_fmt_params(total_enc)} learned values stay; {_fmt_params(total_enc - frozen)} (and the part that "
               "draws the mask) adapt to your images. Keeping the first parts helps with few images: they see "
               "edges and textures, useful for any image, and cannot learn your few images by heart.")
    unfreeze = _widget(st, "unfreeze_after", DEFAULTS.unfreeze_after or 0, key="unfreeze", suffix=" (0 = never)")
    STOPS = {"time budget": "a time", "epochs": "a number of rounds"}
    mode = st.radio("Stop after", list(STOPS), format_func=STOPS.get, horizontal=True, key="stop_mode",
                    help="A time: about how long you wait, preparation and scoring included. Rounds: passes over "
                         "all training images (epochs).")
    if mode == "time budget":
        budget = _widget(st, "time_budget", APP_BUDGET_S, key="budget", step=10.0, format="%g")
        epochs = None
    else:
        epochs = _widget(st, "epochs", 20, key="epochs")
        budget = None

with st.expander("Advanced options"):
    if init is None:  # continuing: the run's
        arch = st.selectbox(options=supported_archs(backbone), key="arch", format_func=lambda a: ARCHITECTURES[a].plain,
                            **_about("arch"))
    a1, a2, a3 = st.columns(3)
    lr = _widget(a1, "lr", format="%.5f")
    batch = _widget(a1, "batch_size", key="batch")
    size_txt = a2.text_input(value="", key="img_size", placeholder="automatic", **_about("img_size"))
    loss = _widget(a2, "loss", format_func=LOSS_WORDS.get)
    balanced = a2.checkbox(value=DEFAULTS.class_weights == "balanced", key="balanced", **_about("class_weights"))
    aug = DEFAULTS.augment
    hflip = a3.checkbox("Horizontal flips", aug.hflip, key="hflip")
    vflip = a3.checkbox("Vertical flips (top-down images: microscopy, aerial)", aug.vflip, key="vflip")
    scale = a3.checkbox(f"Random scale ({aug.scale[0]}-{aug.scale[1]}x)", aug.scale != (1.0, 1.0), key="scale")
    rotate = a3.slider("Max rotation (degrees)", 0, 180, int(aug.rotate), key="rotate")
    even = _widget(a3, "even_colours")
    colour = a3.slider("Colour changes", 0.0, 0.5, float(aug.colour), key="colour",
                       help="How much brightness, contrast and colour vary between the copies trained on (colour "
                            "jitter).")
    workers = _widget(a1, "num_workers")
    val_fraction = _widget(a1, "val_fraction", step=0.05)
    ema = _widget(a3, "ema")
    cache_mb = _widget(a2, "cache_mb", step=256)
    # a setting declared for the page that the layout above does not place: a widget by its type
    more = {name: _widget(a1, name) for name, s in SETTINGS.items() if s.page and name not in LAID_OUT}

max_procs, unit = launch.available_processes()
procs = 1
if max_procs > 1:  # several GPUs (or SEG_CORE_CPU_PROCESSES): train in one process per device with torchrun
    procs = st.selectbox(f"{unit} to use", list(range(1, max_procs + 1)), index=max_procs - 1, key="processes",
                         help="More than one: torchrun starts one training process each (DistributedDataParallel); "
                              "every step trains on batch size x processes images. One: a background thread.")
    if procs > 1:
        st.caption(f"Trains in {procs} processes; follow it here, it keeps running if the page or the server "
                   "restarts.")
st.caption(f"Trains on {describe_plainly()}.", help=f"Technical details: {describe_device()}")

if running:
    st.info(f"'{job.label}' is training; Start is available again when it ends or is cancelled.")
if st.button("Start training", type="primary", key="start_training", disabled=running or elsewhere is not None
             or other is not None or weights is None or n_lab == 0):
    try:
        cfg = build_config(more | dict(
            data=str(ws.data_dir), out=str(ws.new_run_dir(backbone)), backbone=backbone, arch=arch, weights=weights,
            freeze_depth=int(depth), unfreeze_after=int(unfreeze) or None,
            epochs=int(epochs) if epochs is not None else None,
            time_budget=float(budget) if budget is not None else None, img_size=size_txt, loss=loss, lr=float(lr),
            batch_size=int(batch), class_weights="balanced" if balanced else None,
            augment=AugmentConfig(hflip=hflip, vflip=vflip, scale=aug.scale if scale else (1.0, 1.0),
                                  rotate=float(rotate), colour=float(colour)),
            require_masks=False, init_run=str(init.path) if init is not None else None, num_workers=int(workers),
            cache_mb=int(cache_mb), val_fraction=float(val_fraction), ema=bool(ema),
            even_colours=bool(even))).validate()
        label = f"{Path(cfg.out).name} ({backbone}, {depth} parts kept" + (f", {procs} {unit})" if procs > 1 else ")")
        job = launch.start_training(reg, cfg, label, int(procs))
        st.session_state["job_id"] = job.id
        st.rerun()
    except JobRefused as err:
        st.warning(str(err))
    except ConfigError as err:
        say("error", err)


waiting_for_a_step = running and job.snapshot().last_step is None
STATES = {"starting": "starting", "running": "running", "done": "finished", "cancelled": "cancelled",
          "failed": "failed"}


@st.fragment(run_every=(FIRST_REFRESH_S if waiting_for_a_step else LIVE_REFRESH_S) if running else None)  # idle: none
@settled
def live():
    job = reg.training_of(ws.runs_dir, st.session_state.get("job_id"))
    if job is None:
        st.info("No training job yet.")
        return
    snap = job.snapshot()
    st.session_state["job_id"] = snap.id
    st.subheader(f"Training {snap.label} — {STATES.get(snap.state, snap.state)}")
    curves = []
    if snap.curve:
        curves.append(Curve("Training error (lower is better)", [(p["step"], p["loss"]) for p in snap.curve], "step",
                            "error", digits=4))
    scored = [v for v in snap.validations if v.val_miou is not None]
    if scored:
        curves.append(Curve("Overlap with your masks on the images kept aside (IoU)",
                            [(v.step, v.val_miou) for v in scored], "step", "overlap",
                            y_range=(0.0, 1.0), note=f"Scored on {scored[-1].scored_on}." if scored[-1].scored_on
                            else ""))
    live_panel(snap.fraction, snap.text(clock=False), key="training_progress", clock=snap.clock(),
               running=snap.active, curves=curves, height=220)
    if snap.start is not None:
        st.caption("Training error: how far the model's masks are from yours on the pieces it learns from. "
                   "Overlap (IoU): the share of pixels where the model's mask and yours agree, per class, 1 = all.",
                   help=f"Technical details: {snap.start.processes} process(es) · {snap.start.device} · "
                        f"{snap.start.precision}; the error is the training loss, the overlap the validation mIoU.")
    if snap.message:
        say("caption", snap.message[:2000])
    if snap.error:
        say("error", snap.error)
    if snap.active:
        if st.button("Cancel training", disabled=snap.cancel_requested):
            job.cancel()
    elif snap.state == "done":
        st.success("Training finished: see **Review** and **Runs & export**.")
    elif snap.state == "cancelled":
        st.warning("Cancelled; the best model so far was kept." if snap.end and snap.end.checkpoint
                   else "Cancelled before the first step; nothing was saved.")
    if not snap.active and running:
        st.rerun()  # the job ended: rerun the page (stops polling, enables Start again)
    if waiting_for_a_step and snap.last_step is not None:
        st.rerun()  # the first step is shown: the page again, polling at the calm pace


latest = next(iter(ws.runs()), None)  # e.g. after a restart: the newest run's process died while it trained
if latest is not None and latest.state == "interrupted":
    m = latest.best_val_miou
    st.warning(f"Run {latest.name}: interrupted. The process training it stopped before it ended (the server was "
               "restarted or killed). " + (f"Its best model (overlap {m:.3f}) is kept: review it, or continue "
               "from it above." if latest.has_checkpoint and m is not None else "Its best model is kept: "
               "review it, or continue from it above." if latest.has_checkpoint else "It had saved no model."))
live()
