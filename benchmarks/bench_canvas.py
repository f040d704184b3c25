"""Canvas benchmark: from mouse-up to the edit applied and saved (``Workspace.save_mask``) for a brush
stroke on a 4000x4000 image, in headless Chromium (system ``chromium``, Playwright), for the two candidates:

- ``label_canvas`` (this project's components-v2 element): the stroke travels as a patch of its bounding box,
  is laid onto a fresh read of the mask file (``seg_core.workspace.masks.MaskStore.save_patches``) and saved;
- streamlit-drawable-canvas 0.13 as the Annotate page used it before label_canvas: after each stroke the whole
  canvas comes back as a PNG, is read back as labels (``annotation.strokes_to_labels``), laid over the mask
  (``apply_strokes``) and saved; at the page's 640 px display and at the image's own 4000 px.

Both run the test-only app ``tests/app/canvas_app.py``, which appends a line per save to a log with the server's
clock; the mouse-up time is taken in this process just before ``mouse.up()`` (same machine, same clock).

    python benchmarks/bench_canvas.py [--size 4000] [--strokes 5] [--skip-drawable-native]

streamlit-drawable-canvas is not a requirement of the app (only this comparison uses it): install it with
``pip install streamlit-drawable-canvas`` to measure it; without it only ``label_canvas`` is measured.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from seg_core.base.classes import ClassList
from seg_core.workspace.workspace import Workspace
from segapp.harness import CHROMIUM, INSTALL_HINT, ROOT, launch_chromium, streamlit_app


def make_workspace(folder: Path, size: int) -> Workspace:
    """A workspace with one size x size micrograph-like image (the sample upscaled, with sensor noise)."""
    ws = Workspace(folder / "ws", seed_sample=False)
    ws.save_classes(ClassList(["background", "cell", "nucleus"]))
    img = np.array(Image.open(ROOT / "data" / "images" / "tissue_00.png").convert("RGB"))
    big = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    big += np.random.default_rng(0).normal(0, 3, big.shape).astype(np.int16)
    Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(ws.images_dir / "big.png", compress_level=1)
    return ws


def read_log(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def wait_for_save(log: Path, n: int, timeout: float) -> dict | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = read_log(log)
        if len(lines) >= n:
            return lines[n - 1]
        time.sleep(0.02)
    return None


def stroke(page, x: float, y: float, length: float = 60) -> float:
    """A short diagonal brush stroke from page point (x, y); returns the time just before mouse-up."""
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x + length * i / 10, y + length * i / 20)
    t_up = time.time()
    page.mouse.up()
    return t_up


def bench_label_canvas(p, url: str, log: Path, strokes: int, image_format: str) -> dict:
    browser = launch_chromium(p)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(180_000)
    sent: list[int] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(len(f) if f else 0)))
    t0 = time.time()
    page.goto(f"{url}/?stem=big&format={image_format}")
    view = page.locator(".lc-view")
    view.wait_for()
    while view.get_attribute("data-ready") != "1":
        page.wait_for_timeout(50)
    load_s = time.time() - t0
    box = view.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    for _ in range(3):  # zoom in around the centre (about 1.4 screen px per image px)
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(100)
    scale = float(view.get_attribute("data-scale"))
    n0 = len(read_log(log))
    lat, save_s, sizes = [], [], []
    for i in range(strokes):
        sent.clear()
        t_up = stroke(page, cx - 200 + 40 * i, cy - 150 + 25 * i)
        rec = wait_for_save(log, n0 + i + 1, 30)
        if rec is None:
            raise RuntimeError("a label_canvas stroke was not saved within 30 s")
        lat.append(rec["t_saved"] - t_up)
        save_s.append(rec["save_s"])
        page.wait_for_timeout(300)  # Playwright delivers the websocket events while the page is waited on
        sizes.append(max(sent, default=0))
    # the worst case for a patch: a fill of the whole (unlabelled) image
    page.keyboard.press("g")
    t_up = time.time()
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    rec = wait_for_save(log, n0 + strokes + 1, 60)
    fill_s = None if rec is None else rec["t_saved"] - t_up
    fill_js_s = float(view.get_attribute("data-fill-ms") or "nan") / 1000
    browser.close()
    return {"load_s": load_s, "scale": scale, "latency": lat, "save_s": save_s, "sent_bytes": sizes,
            "fill_s": fill_s, "fill_js_s": fill_js_s, "fill_save_s": None if rec is None else rec["save_s"]}


DRAWABLE_MISSING = ("streamlit-drawable-canvas is not installed (it is not a requirement of the app): its rows "
                    "are left out; pip install streamlit-drawable-canvas to measure them")


def drawable_installed() -> bool:
    return importlib.util.find_spec("streamlit_drawable_canvas") is not None


def bench_drawable(p, url: str, log: Path, strokes: int, display: int, timeout: float) -> dict:
    browser = launch_chromium(p)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(300_000)
    sent: list[int] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(len(f) if f else 0)))
    t0 = time.time()
    page.goto(f"{url}/?stem=big&mode=drawable&display={display}")
    canvas = page.locator("[data-testid='stMain'] canvas").last
    canvas.wait_for()
    page.wait_for_timeout(3000)  # the background image
    load_s = time.time() - t0
    box = canvas.bounding_box()
    n0 = len(read_log(log))
    lat, save_s, sizes = [], [], []
    for i in range(strokes):
        sent.clear()
        t_up = stroke(page, box["x"] + 40 + 40 * i, box["y"] + 40 + 20 * i)
        rec = wait_for_save(log, n0 + i + 1, timeout)
        if rec is None:
            lat.append(None)
            break
        lat.append(rec["t_saved"] - t_up)
        save_s.append(rec["save_s"])
        page.wait_for_timeout(500)
        sizes.append(max(sent, default=0))
    browser.close()
    return {"load_s": load_s, "latency": lat, "save_s": save_s, "sent_bytes": sizes}


def show(name: str, r: dict) -> None:
    lat = [v for v in r["latency"] if v is not None]
    if not lat:
        print(f"| {name} | no save within the time limit | | | |")
        return
    print(f"| {name} | {statistics.median(lat):.2f} / {max(lat):.2f} | {statistics.median(r['save_s']):.2f} | "
          f"{statistics.median(r['sent_bytes']) / 1000:.1f} | {r['load_s']:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--strokes", type=int, default=5)
    ap.add_argument("--skip-drawable-native", action="store_true",
                    help="skip streamlit-drawable-canvas at the image's own size (slow)")
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit(INSTALL_HINT)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.time()
        ws = make_workspace(tmp, args.size)
        print(f"image {args.size}x{args.size} RGB ({(ws.images_dir / 'big.png').stat().st_size / 1e6:.1f} MB PNG), "
              f"made in {time.time() - t:.1f} s; {args.strokes} strokes per candidate\n")
        log = tmp / "saves.jsonl"
        results = {}
        with streamlit_app(ws.root, tmp / "server.log", script="tests/app/canvas_app.py",
                           env={"CANVAS_LOG": str(log)}) as url, sync_playwright() as p:
            for fmt in ("auto", "png"):
                ws.clear_mask("big")
                results[f"label_canvas (image as {'JPEG' if fmt == 'auto' else 'PNG'})"] = r = bench_label_canvas(
                    p, url, log, args.strokes, fmt)
                print(f"label_canvas, image_format={fmt}: strokes at {r['scale']:.2f} screen px per image px; a fill "
                      f"of the whole image: saved {r['fill_s']:.2f} s after the click (the fill itself in the "
                      f"browser {r['fill_js_s']:.2f} s, read+apply+save {r['fill_save_s']:.2f} s)")
            drawable = drawable_installed()
            if not drawable:
                print(DRAWABLE_MISSING, file=sys.stderr)
            else:
                ws.clear_mask("big")
                results["drawable-canvas, 640 px display (today's page)"] = bench_drawable(p, url, log, args.strokes,
                                                                                           640, 60)
            if drawable and not args.skip_drawable_native:
                ws.clear_mask("big")
                results[f"drawable-canvas, {args.size} px (native)"] = bench_drawable(p, url, log, 2, args.size, 120)
        print()
        for name, r in results.items():
            each = ", ".join("none within the limit" if v is None else f"{v:.2f}" for v in r["latency"])
            print(f"{name}: mouse-up to saved, stroke by stroke: {each} s")
        print()
        print("| candidate | mouse-up to saved, s (median / max) | of which read+apply+save, s | "
              "sent per stroke, kB | first load, s |")
        print("|---|---|---|---|---|")
        for name, r in results.items():
            show(name, r)


if __name__ == "__main__":
    main()
