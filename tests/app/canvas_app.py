"""Test-only Streamlit app (not part of the app's navigation): one workspace image on a canvas, every edit
saved to the mask file at once. Started by tests/app/test_label_canvas_browser.py and benchmarks/bench_canvas.py
with ``segapp.harness.streamlit_app(..., script="tests/app/canvas_app.py")``.

Query parameters: ``stem`` (the image; default the first); ``mode``: ``label`` (``label_canvas``, the
default; ``format`` is its ``image_format``; ``fragment=1`` puts it in an ``st.fragment``) or ``drawable``
(streamlit-drawable-canvas as the Annotate page used it before label_canvas, ``display`` px wide, default
640; ``width``: its stroke width). Each save appends a JSON line to ``$CANVAS_LOG`` (when set): the time it was done and
what it wrote.
"""
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import streamlit as st

from seg_core.workspace.workspace import Workspace

st.set_page_config(page_title="label canvas (test)", layout="wide")


@st.cache_resource
def workspace(root: str) -> Workspace:
    return Workspace(Path(root), seed_sample=False)


@st.cache_resource(max_entries=2)
def read_image(root: str, stem: str, mtime: float) -> np.ndarray:
    return workspace(root).read_image(stem)


def log(record: dict) -> None:
    if os.environ.get("CANVAS_LOG"):
        with open(os.environ["CANVAS_LOG"], "a") as f:
            f.write(json.dumps(record) + "\n")


root = os.environ["SEGAPP_WORKSPACE"]
ws = workspace(root)
stem = st.query_params.get("stem") or ws.stems()[0]
path = ws.image_path(stem)
image = read_image(root, stem, path.stat().st_mtime)
h, w = image.shape[:2]
classes = ws.classes()
mode = st.query_params.get("mode", "label")
st.caption(f"{path.name}: {w}x{h}, mode {mode}")

if mode == "label":
    from segapp.label_canvas import label_canvas

    def canvas() -> None:
        patches = label_canvas(image, lambda: ws.read_mask(stem), classes, key=f"canvas_{stem}",
                               image_id=f"{stem}:{path.stat().st_mtime_ns}", name=path.name,
                               height=int(st.query_params.get("height", 600)),
                               image_format=st.query_params.get("format", "auto"))
        if patches:
            t0 = time.time()
            out = ws.masks.save_patches(stem, patches, shape=(h, w))
            log({"mode": mode, "t_saved": time.time(), "save_s": time.time() - t0, "changed": out.changed,
                 "fragment": st.query_params.get("fragment") == "1", "script_runs": st.session_state["runs"],
                 "patches": [{"kind": p.kind, "seq": p.seq, "box": list(p.box), "pixels": p.pixels,
                              "values": sorted({int(v) for v in p.values[p.touched]})} for p in patches]})

    st.session_state["runs"] = st.session_state.get("runs", 0) + 1  # whole-script runs
    # fragment=1: the canvas in a fragment, so an edit reruns only the canvas and its save
    (st.fragment(canvas) if st.query_params.get("fragment") == "1" else canvas)()
else:  # streamlit-drawable-canvas, as pages/annotate.py used it (whole canvas as RGBA after each stroke)
    import base64
    import io

    from PIL import Image
    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:  # not a requirement of the app: only benchmarks/bench_canvas.py compares with it
        st.error("mode=drawable needs streamlit-drawable-canvas: pip install streamlit-drawable-canvas")
        st.stop()

    from seg_core.data.annotation import apply_strokes, strokes_to_labels

    display = int(st.query_params.get("display", 640))
    scale = display / w
    cw, ch = max(1, round(w * scale)), max(1, round(h * scale))

    @st.cache_resource(max_entries=2)
    def background(stem: str, mtime: float, cw: int, ch: int) -> str:
        # a data URL made once: st_canvas would PNG-encode a PIL image again on every rerun
        buf = io.BytesIO()
        Image.fromarray(image).resize((cw, ch)).save(buf, format="PNG", compress_level=1)
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

    colour = classes.colours[1 % len(classes)]
    result = st_canvas(fill_color="rgba(%d,%d,%d,1)" % colour, stroke_width=int(st.query_params.get("width", 15)),
                       stroke_color="#%02x%02x%02x" % colour,
                       background_image=background(stem, path.stat().st_mtime, cw, ch), update_streamlit=True,
                       height=ch, width=cw, drawing_mode="freedraw", return_image_data=True, key=f"dc_{stem}")
    url = result._image_data_url
    if url is not None:
        digest = hashlib.sha1(url.encode()).hexdigest()
        if st.session_state.get("dc_digest") != digest:
            t0 = time.time()
            labels = strokes_to_labels(np.asarray(result.image_data), classes, (h, w))
            mask = apply_strokes(ws.read_mask(stem), labels, (h, w))
            if mask is not None:
                ws.save_mask(stem, mask)
            st.session_state["dc_digest"] = digest
            log({"mode": mode, "t_saved": time.time(), "save_s": time.time() - t0, "sent_chars": len(url)})
