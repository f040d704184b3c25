"""The Annotate page (AppTest) on a stack and a 16-bit image: a slider and the "." / "," keys over the planes of
the stack, and per-channel display settings (on/off, colour, contrast, Auto) kept in the project, shown on the
canvas, never changing what the model reads."""
import base64
import io
import json

import numpy as np
import tifffile
from PIL import Image

from page_helpers import elements, page
from seg_core import Workspace
from seg_core.workspace.display import DisplaySettings


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]


def _canvas(at, stem) -> dict:
    [el] = [e for e in elements(at, "bidi_component") if json.loads(e.proto.json)["key"] == f"ann_mask_{stem}"]
    return json.loads(el.proto.json)


def _sent(data) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image"].split(",", 1)[1]))).convert("RGB"))


def _stack(ws_root):
    """deep.tif: 3 planes of depth of 16-bit counts, 300 background and a bright square per plane."""
    planes = np.full((3, 32, 32), 300, np.uint16)
    for i in range(3):
        planes[i, 4 + 8 * i:12 + 8 * i, 4:12] = 20000 + 10000 * i
    path = ws_root.parent / "deep.tif"
    tifffile.imwrite(path, planes, imagej=True, metadata={"axes": "ZYX"})
    Workspace(ws_root).import_paths([path])
    return planes


def _press(at, stem, what, n):
    at.session_state[f"_label_canvas_ann_mask_{stem}"]["command"] = {"what": what, "n": n}


def test_the_planes_of_a_stack_are_browsed_with_a_slider_and_keys(fresh_ws):
    _stack(fresh_ws)
    at = page("annotate.py")
    at.session_state["ann_stem"] = "deep_z01"
    at.run()
    _ok(at)
    slider = at.select_slider(key="ann_plane_deep")
    assert slider.options == ["z00", "z01", "z02"] and slider.value == "z01"
    assert "Plane 2 of 3 (depth)." in [c.value for c in at.caption]
    slider.set_value("z02").run()
    _ok(at)
    assert at.selectbox(key="ann_stem").value == "deep_z02" and _canvas(at, "deep_z02")["w"] == 32
    _press(at, "deep_z02", "plane_previous", "k1")
    at.run()
    _press(at, "deep_z01", "plane_previous", "k2")
    at.run()
    _ok(at)
    assert at.selectbox(key="ann_stem").value == "deep_z00" and at.select_slider(key="ann_plane_deep").value == "z00"
    _press(at, "deep_z00", "plane_next", "k3")
    at.run()
    assert at.selectbox(key="ann_stem").value == "deep_z01"
    at.selectbox(key="ann_stem").set_value("tissue_00").run()  # an image of no stack: no slider
    _ok(at)
    assert not [s for s in at.select_slider if s.key.startswith("ann_plane_")]


def test_display_settings_per_channel_are_kept_in_the_project_and_shown_on_the_canvas(fresh_ws):
    planes = _stack(fresh_ws)
    ws = Workspace(fresh_ws)
    model_before = ws.read_image("deep_z02")
    at = page("annotate.py")
    at.session_state["ann_stem"] = "deep_z00"
    at.run()
    _ok(at)
    kept = DisplaySettings(fresh_ws).get(1)  # set from the first 16-bit image shown, and kept
    assert kept is not None and (kept[0].low, kept[0].high) == (300.0, 20000.0)
    at.number_input(key=next(n.key for n in at.number_input if n.label == "gray: full colour at")) \
        .set_value(40000.0).run()
    _ok(at)
    assert DisplaySettings(fresh_ws).get(1)[0].high == 40000.0
    shown = _sent(_canvas(at, "deep_z00"))
    expected = np.clip((planes[0].astype(np.float32) - 300) / (40000 - 300), 0, 1) * 255
    assert np.abs(shown[..., 0].astype(float) - expected).max() <= 1  # gray: the range chosen, not the image's own
    at.select_slider(key="ann_plane_deep").set_value("z02").run()  # another plane: the same range, kept
    _ok(at)
    bright = _sent(_canvas(at, "deep_z02"))[20, 6, 0]
    assert bright == round((40000 - 300) / (40000 - 300) * 255) and _sent(_canvas(at, "deep_z02"))[0, 0, 0] == 0
    colour = next(c for c in at.color_picker if c.label == "Colour of gray")
    colour.set_value("#00ff00").run()
    _ok(at)
    assert DisplaySettings(fresh_ws).get(1)[0].colour == (0, 255, 0)
    rgb = _sent(_canvas(at, "deep_z02"))
    assert rgb[20, 6].tolist() == [0, 255, 0]  # green now
    next(b for b in at.button if b.key == "disp_auto_0").click().run()
    _ok(at)
    low, high = DisplaySettings(fresh_ws).get(1)[0].low, DisplaySettings(fresh_ws).get(1)[0].high
    assert (low, high) == (300.0, 40000.0)  # Auto: this plane's own percentiles
    assert np.array_equal(ws.read_image("deep_z02"), model_before)  # what the model reads did not change
    again = page("annotate.py")  # a new visit (another person): the settings are the project's
    again.session_state["ann_stem"] = "deep_z01"
    again.run()
    _ok(again)
    assert next(c for c in again.color_picker if c.label == "Colour of gray").value == "#00ff00"
