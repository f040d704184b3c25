"""Soak benchmark: several browser sessions use the app at once while a training runs, for a bounded few
minutes. Prints figures, asserts nothing.

    python benchmarks/bench_soak.py [--minutes 2] [--sessions 3] [--no-memory]

Each session (its own headless Chromium) loops: paint a stroke on the Annotate page (every session paints
the same mask, tissue_00, each stroke in a place of its own), open Data, upload a new image, open Train,
open Runs & export, open Review and wait for its scores. All the while the app trains a model (started
from the Train page first, budget longer than the soak). Printed:

- clicks served (an action whose answer showed), clicks failed, the slowest click, per action the median
  and the slowest;
- exceptions seen: Streamlit exception boxes in any browser plus tracebacks in the server's log (target 0);
- strokes lost: strokes whose pixels are not in the mask file at the end (target 0);
- the run's state after the server is stopped (it was still training: "interrupted");
- peak memory (VmHWM) of a fresh process refusing a 30000x30000 TIFF (a small zlib file whose header says
  900 megapixels) through the import path, and of predicting an 8000x8000 image with the soak's run.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from segapp.harness import CHROMIUM, INSTALL_HINT, ROOT, CanvasView, launch_chromium, streamlit_app

STEP = re.compile(r"step \d+( of \d+)? · ")
HEADINGS = {name: name for name in ("Data", "Annotate", "Train", "Review", "Runs & export")}  # link -> heading


# -- memory probes, each in a fresh process ----------------------------------------------------------
def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_refuse_tiff(folder: str) -> dict:
    import tifffile

    from seg_core import Workspace

    path = Path(folder) / "huge.tif"
    tile = np.zeros((1024, 1024), np.uint8)
    n = (-(-30000 // 1024)) ** 2
    tifffile.imwrite(path, (tile for _ in range(n)), shape=(30000, 30000), dtype=np.uint8, tile=(1024, 1024),
                     compression="zlib")
    ws = Workspace(Path(folder) / "ws", seed_sample=False)
    base = _rss_mb("VmRSS")
    if hasattr(ws, "import_paths"):
        rep = ws.import_paths([path])
        refused = list(getattr(rep, "problems", []))  # "file: why" of each refused file
        added = list(getattr(rep, "added", []))
    else:
        try:
            ws.add_image(path.name, path.read_bytes())
            refused, added = [], [path.stem]
        except ValueError as err:
            refused, added = [str(err)], []
    return {"file_mb": path.stat().st_size / 2**20, "baseline_mb": base, "peak_mb": _rss_mb("VmHWM"),
            "refused": refused[:1], "added": added}


def child_predict(run_path: str) -> dict:
    from seg_core import Predictor, Run

    tissue = np.array(Image.open(ROOT / "data" / "images" / "tissue_00.png").convert("RGB"))
    pred = Predictor(Run(run_path))
    base = _rss_mb("VmRSS")
    image = np.tile(tissue, (32, 32, 1))[:8000, :8000]  # 192 MB of RGB
    t = time.perf_counter()
    out = pred.predict(image, crf=False)
    return {"image_mb": image.nbytes / 2**20, "baseline_mb": base, "peak_mb": _rss_mb("VmHWM"),
            "seconds": time.perf_counter() - t, "mask": list(out.mask.shape)}


def probe(kind: str, arg: str) -> dict:
    res = subprocess.run([sys.executable, __file__, "--child", kind, arg], capture_output=True, text=True, cwd=ROOT)
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": (res.stderr or res.stdout)[-1500:]}


# -- browser sessions -----------------------------------------------------------------------------------
class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.failed: list[str] = []
        self.exceptions: list[str] = []
        self.strokes: list[tuple[int, int, int, int, bool]] = []  # session, row, col0, col1, seen saved

    def ok(self, action: str, seconds: float) -> None:
        with self.lock:
            self.times[action].append(seconds)

    def fail(self, action: str, err: Exception) -> None:
        with self.lock:
            self.failed.append(f"{action}: {type(err).__name__}: {str(err).splitlines()[0][:200]}")


def _nav(page, name: str):
    from playwright.sync_api import expect

    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=HEADINGS[name])).to_be_visible()


def _exceptions(page) -> list[str]:
    boxes = page.locator("[data-testid='stException']")
    return [boxes.nth(i).inner_text()[:300] for i in range(boxes.count())]


def session(i: int, url: str, ws: Path, uploads: Path, deadline: float, tally: Tally) -> None:
    from playwright.sync_api import expect, sync_playwright

    mask = ws / "data" / "masks" / "tissue_00.png"
    k = 0
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(60_000)
        page.goto(url)
        expect(page.get_by_role("heading", name="Data")).to_be_visible()

        def timed(action, fn):
            t = time.perf_counter()
            try:
                fn()
            except Exception as err:  # noqa: BLE001 (a failed click is a figure, not the end of the soak)
                tally.fail(action, err)
            else:
                tally.ok(action, time.perf_counter() - t)
            seen = _exceptions(page)
            if seen:
                with tally.lock:
                    tally.exceptions += [f"session {i}, {action}: {s}" for s in seen]

        def open_annotate():
            _nav(page, "Annotate")
            expect(page.get_by_role("heading", name="Mask", exact=True)).to_be_visible()
            CanvasView(page)  # the image every session paints (tissue_00), loaded

        def paint():
            page.wait_for_timeout(300)  # the app's runs end (the header's Stop button goes) and the canvas mounts
            expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()
            view = CanvasView(page)
            row = 8 + (k % 40) * 6  # a place of its own: a row band per stroke, a column band per session
            x0, x1 = 12 + i * 80, 12 + i * 80 + 60
            t = time.perf_counter()
            view.stroke([(x + 0.5, row + 0.5) for x in range(x0, x1 + 1, 10)])
            c0, c1 = x0 + 1, x1 - 1
            saved = False
            while time.perf_counter() - t < 30:
                try:
                    m = np.array(Image.open(mask))
                    if (m[row, c0:c1] == 0).all():
                        saved = True
                        break
                except (OSError, ValueError):  # not there yet
                    pass
                time.sleep(0.1)
            with tally.lock:
                tally.strokes.append((i, row, c0, c1, saved))
            if not saved:
                raise TimeoutError(f"row {row} not in the file within 30 s")

        def upload():
            name = f"zz_soak_{i}_{k}.png"  # sorts after tissue_00, which Annotate opens first
            path = uploads / name
            rng = np.random.default_rng(1000 * i + k)
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
            button = page.get_by_role("button", name="Import uploaded files")
            if not button.is_visible():
                page.get_by_text("Add images and masks").click()
            page.locator("input[type=file]").first.set_input_files(str(path))
            expect(button).to_be_enabled()
            button.click()
            expect(page.get_by_text(re.compile(rf"Added \d+ image\(s\):.*zz_soak_{i}_{k}\b"))).to_be_visible()

        def review():
            _nav(page, "Review")
            expect(page.get_by_text("Per class")).to_be_visible(timeout=120_000)

        while time.time() < deadline:
            timed("open Annotate", open_annotate)
            timed("stroke saved to the mask file", paint)
            timed("open Data", lambda: _nav(page, "Data"))
            timed("upload an image", upload)
            timed("open Train", lambda: _nav(page, "Train"))
            timed("open Runs & export", lambda: _nav(page, "Runs & export"))
            timed("open Review + scores", review)
            k += 1
        browser.close()


def start_training(url: str, seconds: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(90_000)
        page.goto(f"{url}/train")
        expect(page.get_by_role("heading", name="Train")).to_be_visible()
        budget = page.get_by_label("Training time (seconds)", exact=True)
        budget.fill(str(seconds))
        budget.press("Enter")
        page.get_by_text("Advanced options").click()
        crop = page.get_by_label("Piece of each image trained on", exact=True)
        crop.fill("128x128")
        crop.press("Enter")
        page.wait_for_timeout(1000)
        page.get_by_role("button", name="Start training").click()
        expect(page.get_by_text(STEP)).to_be_visible(timeout=120_000)
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0, help="how long the sessions click (bounded)")
    ap.add_argument("--sessions", type=int, default=3, help="browser sessions at once")
    ap.add_argument("--no-memory", action="store_true", help="skip the two memory probes")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, arg = args.child
        print(json.dumps(child_refuse_tiff(arg) if kind == "refuse-tiff" else child_predict(arg)))
        return
    if CHROMIUM is None:
        sys.exit(INSTALL_HINT)
    from playwright.sync_api import expect

    from seg_core import Run, Workspace

    expect.set_options(timeout=60_000)  # an answer slower than that counts as a failed click

    tmp = Path(tempfile.mkdtemp(prefix="bench_soak_"))
    root = tmp / "ws"
    ws = Workspace(root)
    ws.clear_mask("tissue_00")  # every session paints here: strokes show as class 0 on unlabelled pixels
    uploads = tmp / "uploads"
    uploads.mkdir()
    log = tmp / "streamlit.log"
    print(f"# Soak {time.strftime('%Y-%m-%d %H:%M')}: {args.sessions} browser sessions for {args.minutes:g} min "
          f"while the app trains; workspace {root}\n")
    tally = Tally()
    t_start = time.time()
    with streamlit_app(root, log) as url:
        start_training(url, int(args.minutes * 60 + 120))
        deadline = time.time() + args.minutes * 60
        threads = [threading.Thread(target=session, args=(i, url, root, uploads, deadline, tally), daemon=True)
                   for i in range(args.sessions)]
        for t in threads:
            t.start()
            time.sleep(2)
        for t in threads:
            t.join(args.minutes * 60 + 300)
        final = np.array(Image.open(root / "data" / "masks" / "tissue_00.png")) \
            if (root / "data" / "masks" / "tissue_00.png").exists() else None
        runs = ws.runs()
        state_during = runs[0].state if runs else None
    soak_s = time.time() - t_start
    server_log = log.read_text(errors="replace")
    tracebacks = server_log.count("Traceback (most recent call last)")

    times = [s for v in tally.times.values() for s in v]
    slowest = max(((s, a) for a, v in tally.times.items() for s in v), default=(float("nan"), "-"))
    saved = [s for s in tally.strokes if s[4]]
    lost = [s for s in saved if final is None or not (final[s[1], s[2]:s[3]] == 0).all()]
    print("| action | served | median s | slowest s |\n|---|---|---|---|")
    for action, v in tally.times.items():
        print(f"| {action} | {len(v)} | {statistics.median(v):.2f} | {max(v):.2f} |")
    print()
    print(f"clicks served: {len(times)} (failed: {len(tally.failed)})")
    print(f"slowest click: {slowest[0]:.2f} s ({slowest[1]})")
    print(f"exceptions seen: {len(tally.exceptions) + tracebacks} (in browsers: {len(tally.exceptions)}, "
          f"tracebacks in the server log: {tracebacks})")
    print(f"strokes lost: {len(lost)} of {len(saved)} saved ({len(tally.strokes) - len(saved)} never seen saved)")
    for line in (tally.failed[:5] + tally.exceptions[:5]):
        print(f"  {line}")
    if runs:
        after = Run(runs[0].path)
        print(f"training run {after.name}: '{state_during}' during the soak, '{after.state}' after the server "
              f"stopped (checkpoint: {'yes' if after.has_checkpoint else 'no'})")
    print(f"soak wall time {soak_s:.0f} s")

    if args.no_memory:
        return
    print()
    tiff = probe("refuse-tiff", str(tmp))
    if "error" in tiff:
        print(f"refusing a 30000x30000 TIFF: probe failed: {tiff['error']}")
    else:
        print(f"refusing a 30000x30000 TIFF ({tiff['file_mb']:.1f} MB zlib file): peak {tiff['peak_mb']:.0f} MB "
              f"(+{tiff['peak_mb'] - tiff['baseline_mb']:.0f} MB over the {tiff['baseline_mb']:.0f} MB process before "
              f"the import); refused: {tiff['refused'][0][:160] if tiff['refused'] else 'NO'}"
              + (f"; ADDED {tiff['added']}" if tiff["added"] else ""))
    if runs and Run(runs[0].path).has_checkpoint:
        pr = probe("predict", str(runs[0].path))
        if "error" in pr:
            print(f"predicting an 8000x8000 image: probe failed: {pr['error']}")
        else:
            print(f"predicting an 8000x8000 image ({pr['image_mb']:.0f} MB RGB): peak {pr['peak_mb']:.0f} MB "
                  f"(+{pr['peak_mb'] - pr['baseline_mb']:.0f} MB over the {pr['baseline_mb']:.0f} MB process with the "
                  f"model loaded, the image included), {pr['seconds']:.1f} s")


if __name__ == "__main__":
    main()
