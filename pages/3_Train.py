"""Train: pick a backbone and how much of it to freeze, then fine-tune in the background."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # app_state, seg_core

import pandas as pd
import streamlit as st

from app_state import registry, workspace
from seg_core import ARCHITECTURES, BACKBONES, LOSSES, JobRefused, TrainConfig, encoder_info, get_backbone, \
    imagenet_offline, train
from seg_core.augment import AugmentConfig
from seg_core.io_utils import atomic_write_bytes

ws = workspace()
reg = registry()
DEFAULTS = TrainConfig(data="", out="")  # the engine's measured beginner recipe
APP_BUDGET_S = 120  # a first model within about two minutes
st.title("Train")


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
    return f"{n / 1e6:.1f} M" if n >= 1e6 else f"{n / 1e3:.0f} k"


def _backbone_label(name: str) -> str:
    info = _info(name)
    ok = "offline ✓" if _offline(name) else "needs download"
    return f"{name} — {_fmt_params(info['encoder_params'])} params, {ok} ({BACKBONES[name].note})"


ds = ws.scan()
n_lab = len(ds.labelled)
st.caption(f"{n_lab} labelled image(s) of {len(ds.samples)}; unlabelled images and pixels are skipped.")

job = reg.get(st.session_state.get("job_id")) or reg.active() or reg.latest()
running = job is not None and job.active

c1, c2 = st.columns(2)
with c1:
    names = list(BACKBONES)
    backbone = st.selectbox("Backbone (ImageNet-pretrained encoder)", names, format_func=_backbone_label,
                            key="backbone")
    arch = st.selectbox("Architecture", list(ARCHITECTURES), key="arch")
    wchoice = st.radio("Initial weights", ["ImageNet", "None (from scratch)", "Upload a file"], horizontal=True,
                       key="weights_choice")
    weights = "imagenet"
    if wchoice.startswith("None"):
        weights = "none"
    elif wchoice.startswith("Upload"):
        up = st.file_uploader("Weights file (.pth, .pt, .safetensors)", type=["pth", "pt", "bin", "safetensors"])
        if up is not None:
            wdir = ws.root / "weights"
            wdir.mkdir(exist_ok=True)
            wpath = wdir / Path(up.name).name
            atomic_write_bytes(wpath, up.getvalue())
            weights = str(wpath)
            st.caption(f"saved as `{wpath}`")
        else:
            weights = None
    if weights == "imagenet" and not _offline(backbone):
        st.warning(f"ImageNet weights for {backbone} are not on this machine and need a download.")
with c2:
    info = _info(backbone)
    stages = info["stages"]
    depth = st.slider("Freeze depth (encoder stages kept fixed)", 0, stages, min(DEFAULTS.freeze_depth, stages),
                      key="freeze_depth")
    frozen = sum(info["stage_params"][:depth])
    total_enc = info["encoder_params"]
    stage_txt = " ".join(("🔒" if i < depth else "🔓") + f"S{i}" for i in range(stages))
    st.markdown(f"Stages: {stage_txt}")
    st.caption(f"Frozen encoder parameters: {_fmt_params(frozen)} of {_fmt_params(total_enc)} — "
               f"trainable encoder parameters: {_fmt_params(total_enc - frozen)} (+ the decoder)")
    unfreeze = st.number_input("Unfreeze everything after epoch (0 = never)", 0, 1000, DEFAULTS.unfreeze_after or 0,
                               key="unfreeze")
    mode = st.radio("Stop after", ["time budget", "epochs"], horizontal=True, key="stop_mode")
    if mode == "time budget":
        budget = st.number_input("Time budget (seconds)", 5, 36000, APP_BUDGET_S, step=10, key="budget")
        epochs = None
    else:
        epochs = st.number_input("Epochs", 1, 10000, 20, key="epochs")
        budget = None

with st.expander("Advanced options"):
    a1, a2, a3 = st.columns(3)
    lr = a1.number_input("Learning rate", 1e-6, 1.0, DEFAULTS.lr, format="%.5f", key="lr")
    batch = a1.number_input("Batch size", 1, 256, DEFAULTS.batch_size, key="batch")
    size_txt = a2.text_input("Training crop HxW (empty = automatic)", "", key="img_size")
    loss = a2.selectbox("Loss", list(LOSSES), index=list(LOSSES).index(DEFAULTS.loss), key="loss")
    balanced = a2.checkbox("Rare classes weigh more (balanced class weights)", DEFAULTS.class_weights == "balanced",
                           key="balanced", help="Weights from how many pixels of each class the training masks hold.")
    aug = DEFAULTS.augment
    hflip = a3.checkbox("Horizontal flips", aug.hflip, key="hflip")
    vflip = a3.checkbox("Vertical flips (top-down images: microscopy, aerial)", aug.vflip, key="vflip")
    scale = a3.checkbox(f"Random scale ({aug.scale[0]}-{aug.scale[1]}x)", aug.scale != (1.0, 1.0), key="scale")
    rotate = a3.slider("Max rotation (degrees)", 0, 180, int(aug.rotate), key="rotate")
    colour = a3.slider("Colour jitter", 0.0, 0.5, float(aug.colour), key="colour")

if running:
    st.info(f"'{job.label}' is training; Start is available again when it ends or is cancelled.")
if st.button("Start training", type="primary", disabled=running or weights is None or n_lab == 0):
    try:
        from seg_core.train import parse_img_size
        img_size = parse_img_size(size_txt.strip()) if size_txt.strip() else None
        cfg = TrainConfig(data=str(ws.data_dir), out=str(ws.new_run_dir(backbone)), backbone=backbone, arch=arch,
                          weights=weights, freeze_depth=int(depth), unfreeze_after=int(unfreeze) or None,
                          epochs=int(epochs) if epochs else None, time_budget=float(budget) if budget else None,
                          img_size=img_size, loss=loss, lr=float(lr), batch_size=int(batch),
                          class_weights="balanced" if balanced else None,
                          augment=AugmentConfig(hflip=hflip, vflip=vflip, scale=aug.scale if scale else (1.0, 1.0),
                                                rotate=float(rotate), colour=float(colour)),
                          require_masks=False)
        label = f"{Path(cfg.out).name} ({backbone}/{arch}, freeze {depth})"
        job = reg.start("train", label, lambda progress, stop: train(cfg, progress, stop), output=cfg.out)
        st.session_state["job_id"] = job.id
        st.rerun()
    except JobRefused as err:
        st.warning(str(err))
    except ValueError as err:
        st.error(str(err))


@st.fragment(run_every=1.0 if running else None)  # idle: no polling
def live():
    job = reg.get(st.session_state.get("job_id")) or reg.active() or reg.latest()
    if job is None:
        st.info("No training job yet.")
        return
    snap = job.snapshot()
    st.session_state["job_id"] = snap["id"]
    state = snap["state"]
    lt = snap["latest"]
    st.subheader(f"Job {snap['label']} — {state}")
    active = state in ("starting", "running")
    prog = float(lt.get("progress") or 0.0)
    if state == "done":
        prog = 1.0
    eta = lt.get("eta")
    total = lt.get("total_steps")
    step_txt = f"step {lt.get('step', 0)}" + (f"/{total}" if total else "")
    if lt.get("time_budget") and lt.get("elapsed") is not None:
        step_txt += f" · {lt['elapsed']:.0f}/{lt['time_budget']:.0f} s"
    text = f"{step_txt} · epoch {lt.get('epoch', 0)} · loss {lt.get('loss_avg', lt.get('loss', float('nan'))) or 0:.4f}"
    if active and eta is not None:
        text += f" · ETA {eta:.0f} s"
    if lt.get("images_per_s"):
        text += f" · {lt['images_per_s']:.1f} img/s"
    st.progress(min(max(prog, 0.0), 1.0), text=text)
    if snap["message"]:
        st.caption(snap["message"][:2000])
    if state == "starting":
        st.caption("Preparing data and model…")
    if snap["error"]:
        st.error(snap["error"])
    c1, c2 = st.columns(2)
    if snap["steps"]:
        c1.caption("Training loss")
        c1.line_chart(pd.DataFrame(snap["steps"]).set_index("step")[["loss"]], height=220)
    if snap["validations"]:
        v = pd.DataFrame(snap["validations"])
        if "val_miou" in v:
            c2.caption("Validation mIoU")
            c2.line_chart(v.set_index("epoch")[["val_miou"]], height=220)
    if active:
        if st.button("Cancel training", disabled=snap.get("cancel_requested", False)):
            job.cancel()
    elif state == "done":
        st.success("Training finished: see **Review** and **Runs & export**.")
    elif state == "cancelled":
        st.warning("Cancelled; the best checkpoint so far was kept.")
    if not active and running:
        st.rerun()  # the job ended: rerun the page (stops polling, enables Start again)


live()
