"""label_canvas's Python side (AppTest, no browser): what it sends to the browser and when, and how the
edits that arrive become patches, in order, each once. The browser side: test_label_canvas_browser.py."""
import base64
import json
import zlib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from seg_core.workspace.label_patches import encode_patch, make_patch

SCRIPT = """
import numpy as np
import streamlit as st
from segapp.label_canvas import label_canvas
from seg_core.base.classes import ClassList

args = st.session_state.get("args", {})
calls = st.session_state.setdefault("mask_reads", [])

def read_mask():
    calls.append(1)
    m = np.full((40, 60), 255, np.uint8)
    m[:5] = 1
    return m

out = label_canvas(np.zeros((40, 60, 3), np.uint8), read_mask, ClassList(["background", "cell"]), key="c1",
                   image_id=args.get("image_id", "img1"), mask_id=args.get("mask_id"), name="cells.png")
st.session_state["out"] = out
"""
STORE = "_label_canvas_c1"


def _app() -> AppTest:
    return AppTest.from_string(SCRIPT, default_timeout=30)


def _data(at: AppTest) -> dict:
    [el] = [e for e in at.main if getattr(e, "type", None) == "bidi_component"]
    return json.loads(el.proto.json)


def _wire(seq, x=1, y=2, value=1, sid="s1", size=(3, 4)):
    return encode_patch(make_patch(x, y, np.full(size, value, np.uint8), seq=seq, sid=sid, kind="brush"))


def _arrive(at: AppTest, *wires) -> None:
    """The browser's trigger, as the on_edits_change callback keeps it."""
    at.session_state[STORE]["inbox"].append({"patches": list(wires)})


def test_the_image_and_mask_go_to_the_browser_once():
    at = _app().run()
    assert not at.exception
    d = _data(at)
    assert d["image"].startswith("data:image/png;base64,") and (d["w"], d["h"]) == (60, 40)
    labels = np.frombuffer(zlib.decompress(base64.b64decode(d["mask"])), np.uint8).reshape(40, 60)
    assert (labels[:5] == 1).all() and (labels[5:] == 255).all()
    assert d["classes"] == [{"name": "background", "color": [0, 0, 0]}, {"name": "cell", "color": [230, 25, 75]}]
    at.run()
    d = _data(at)
    assert d["image"] is None and d["mask"] is None  # not again on the next rerun
    assert len(at.session_state["mask_reads"]) == 1  # the mask was read only when it was sent


def test_a_new_mask_id_sends_the_mask_again_but_not_the_image():
    at = _app().run()
    at.session_state["args"] = {"mask_id": "v2"}
    at.run()
    d = _data(at)
    assert d["image"] is None and d["mask"] is not None and d["mask_id"].endswith("/v2")
    at.session_state["args"] = {"image_id": "img2", "mask_id": "v2"}
    at.run()
    d = _data(at)
    assert d["image"] is not None and d["mask"] is not None  # another image: both


def test_the_browser_asking_again_gets_them_again():
    at = _app().run()
    d = _data(at)
    at.session_state[STORE]["need"] = {"image": d["image_id"], "mask": d["mask_id"], "n": 7}
    at.run()
    d = _data(at)
    assert d["image"] is not None and d["mask"] is not None
    at.run()
    assert _data(at)["image"] is None  # the same request is answered once


def test_edits_arrive_as_patches_in_order_each_once_and_are_acknowledged():
    at = _app().run()
    _arrive(at, _wire(1), _wire(2, x=10))
    at.run()
    out = at.session_state["out"]
    assert [p.seq for p in out] == [1, 2] and out[1].box == (10, 2, 14, 5) and out[0].kind == "brush"
    assert _data(at)["ack"] == {"s1": 2}
    _arrive(at, _wire(2, x=10), _wire(3, x=20))  # sent again (no ack seen yet) with one more
    at.run()
    assert [p.seq for p in at.session_state["out"]] == [3]
    assert _data(at)["ack"] == {"s1": 3}
    at.run()
    assert at.session_state["out"] is None  # nothing new


def test_an_edit_after_a_missing_one_waits_for_it():
    at = _app().run()
    _arrive(at, _wire(1))
    at.run()
    _arrive(at, _wire(3))
    at.run()
    assert at.session_state["out"] is None and _data(at)["ack"] == {"s1": 1}
    _arrive(at, _wire(2), _wire(3))
    at.run()
    assert [p.seq for p in at.session_state["out"]] == [2, 3]


def test_a_session_seen_first_midway_starts_there():
    """After a server restart the browser still holds edits 4 and 5 of its session, 1 to 3 long saved."""
    at = _app().run()
    _arrive(at, _wire(4, sid="old"), _wire(5, sid="old"))
    at.run()
    assert [p.seq for p in at.session_state["out"]] == [4, 5] and _data(at)["ack"] == {"old": 5}


def test_a_bad_edit_is_reported_naming_the_image_and_the_rest_still_arrive():
    at = _app().run()
    _arrive(at, _wire(1, x=58), _wire(2, value=7), _wire(3))
    at.run()
    assert [p.seq for p in at.session_state["out"]] == [3]
    errors = [e.value for e in at.error]
    assert len(errors) == 2 and all(e.startswith("cells.png: ") for e in errors)
    assert "outside the 60x40 image" in errors[0] and "values [7]" in errors[1]
    assert _data(at)["ack"] == {"s1": 3}  # refused ones are not sent again


def test_a_crafted_huge_box_is_refused_before_its_data_is_inflated(monkeypatch):
    """The canvas passes the image's size to the decoder: a box that does not fit is refused by its numbers."""
    import seg_core.workspace.label_patches as lp

    at = _app().run()
    bomb = {"sid": "s1", "seq": 1, "kind": "fill", "x": 0, "y": 0, "w": 50_000, "h": 50_000,
            "data": base64.b64encode(zlib.compress(bytes(20_000_000), 9)).decode()}
    inflated = []
    real = zlib.decompressobj
    monkeypatch.setattr(lp.zlib, "decompressobj", lambda *a, **k: inflated.append(1) or real(*a, **k))
    _arrive(at, bomb)
    at.run()
    assert not at.session_state["out"] and inflated == []
    assert [e.value for e in at.error] == ["cells.png: the patch covers x 0..49999, y 0..49999, outside the 60x40 image"]


def test_refuses_an_image_it_cannot_show():
    at = AppTest.from_string("""
import numpy as np
from segapp.label_canvas import label_canvas
from seg_core.base.classes import ClassList
label_canvas(np.zeros((4, 4), np.float32), None, ClassList(["a"]), key="k", name="odd.tif")
""").run()
    assert "odd.tif: label_canvas shows uint8" in str(at.exception[0].value)


@pytest.mark.parametrize("size, fmt", [((100, 100, 3), "image/png"), ((2100, 2100, 3), "image/jpeg")])
def test_auto_format_is_png_up_to_2048_squared(size, fmt):
    from segapp.label_canvas import image_data_url

    assert image_data_url(np.zeros(size, np.uint8), f"t{size}").startswith(f"data:{fmt};base64,")
