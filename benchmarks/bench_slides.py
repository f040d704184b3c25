"""Whole slides, measured (issue #38's targets). Prints figures; asserts nothing.

    python benchmarks/bench_slides.py [--size 40000] [--objects-size 6144] [--run RUN] [--epochs 3]
                                      [--parts open,predict,objects]

1. The slide: a ``--size`` x ``--size`` pyramidal OME-TIFF (JPEG tiles of 512, levels 1, 4, 16, 64 as a
   scanner writes them, 0.25 µm/pixel) built tile by tile from the real H&E tiles of ../shared/data/nuclei-he
   side by side (all tissue, so no tile is skipped as glass and both routes below predict every pixel).
2. Open and overview: seconds to open it (``seg_core.slides.open_slide``, in a fresh process: imports
   included, and the open alone) and to read its overview (2048 pixels on its longest side).
3. Prediction: ``python -m seg_core predict`` on the slide (tiled into the pyramid ``masks/<stem>.ome.tif``),
   and on the same pixels cut into separate 2048 x 2048 PNG images (the route without slides), each its own
   process, one after the other: wall seconds, pixels/s, the ratio slide / separate, and the peak resident
   memory of the slide's process (its ``ru_maxrss``).
4. Objects: on a ``--objects-size`` slide of the same tiles, ``measure`` on the slide (objects across tiles,
   each once) against the same pixels predicted as one image and counted as one (``label_objects`` on the
   whole mask): the counts and their difference in %.

The model: ``--run`` (a run folder), else a run trained here on nuclei-he for ``--epochs`` epochs (a few: the
figures are about tiling, not accuracy). On a shared CPU, use a smaller ``--size`` (4096 or 6144) and say so:
the throughput ratio and the memory bound are what the target is about. ``--parts open`` builds the slide and
times 2 only (no model): the full 40,000 x 40,000 slide's open and overview on a CPU where predicting it would
take hours.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NUCLEI = ROOT.parent / "shared" / "data" / "nuclei-he"

from seg_core.slides.pyramid import write_pyramid  # noqa: E402


def tiles() -> list[np.ndarray]:
    """The nuclei-he images, each cut to the smallest one's size."""
    ims = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((NUCLEI / "images").glob("*.png"))]
    h, w = min(i.shape[0] for i in ims), min(i.shape[1] for i in ims)
    return [i[:h, :w] for i in ims]


def mosaic_sample(ts: list[np.ndarray]):
    """``sample(ys, xs)`` of an endless mosaic of the tiles side by side (row by row, in turn)."""
    h, w = ts[0].shape[:2]
    stack = np.stack(ts)
    per_row = 1000003  # tiles are taken in turn along rows and down columns

    def sample(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        k = ((ys[:, None] // h) * per_row + xs[None, :] // w) % len(ts)
        return stack[k, (ys % h)[:, None], (xs % w)[None, :]]
    return sample


def build_slide(path: Path, size: int, ts) -> float:
    t0 = time.perf_counter()
    sizes = [(size // d, size // d) for d in (1, 4, 16, 64) if size // d >= 256]
    write_pyramid(path, mosaic_sample(ts), sizes, 512, 0.25, rgb=True, compression="jpeg")
    return time.perf_counter() - t0


def cut_into_images(slide: Path, folder: Path, side: int = 2048) -> int:
    """The slide's full-resolution pixels as separate ``side`` x ``side`` PNG images; returns how many."""
    from seg_core.slides.reader import open_slide

    folder.mkdir(parents=True)
    n = 0
    with open_slide(slide) as s:
        for y in range(0, s.height, side):
            for x in range(0, s.width, side):
                img = s.read(x, y, min(side, s.width - x), min(side, s.height - y))
                Image.fromarray(img).save(folder / f"tile_{y:06d}_{x:06d}.png", compress_level=1)
                n += 1
    return n


def timed_cli(*args, env=None) -> tuple[float, float, str]:
    """Run ``python -m seg_core ARGS`` in its own process: (wall seconds, its peak resident memory in GB,
    stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "seg_core", *args], cwd=ROOT, stdout=out, stderr=err,
                                env=os.environ | (env or {}))
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak memory
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{args[0]} failed: {err.read()[-2000:]}")
        return wall, usage.ru_maxrss / 1e6, out.read()  # ru_maxrss is in KB on Linux


def open_times(slide: Path) -> dict:
    code = ("import time; t0 = time.perf_counter(); import tiffslide; from seg_core.slides.reader import open_slide; t1 = "
            "time.perf_counter(); s = open_slide(%r); t2 = time.perf_counter(); ov, ds = s.overview(); "
            "t3 = time.perf_counter(); import json; print(json.dumps({'import_s': t1 - t0, 'open_s': t2 - t1, "
            "'overview_s': t3 - t2, 'overview': list(ov.shape), 'levels': len(s.levels)}))" % str(slide))
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(res.stdout) | {"process_s": time.perf_counter() - t0}


def train_run(out: Path, epochs: int) -> Path:
    from seg_core import TrainConfig, train

    run = train(TrainConfig(data=str(NUCLEI), out=str(out), epochs=epochs, img_size=(256, 256), precision="fp32",
                            val_interval_s=0, require_masks=False))
    return Path(run.path)


def objects_check(run: Path, work: Path, size: int, ts) -> dict:
    """measure on a ``size`` slide against the same pixels predicted and counted as one image."""
    from seg_core.infer.predictor import Predictor
    from seg_core.objects.folder import objects_of
    from seg_core.objects.settings import ObjectSettings
    from seg_core.runs.folder import Run
    from seg_core.slides.reader import open_slide

    folder = work / "objects_slide"
    folder.mkdir()
    slide = folder / "small.ome.tif"
    build_slide(slide, size, ts)
    env = {"SEG_CORE_MAX_PIXELS": str(size * size - 1)}
    _, _, out = timed_cli("measure", "--run", str(run), "--images", str(folder), "--out", str(work / "measured"),
                          "--json", "--no-crf", "--no-tta", env=env)  # as the one image below is predicted
    tiled = json.loads(out)["objects"]
    pred = Predictor(Run(run))
    with open_slide(slide) as s:
        os.environ["SEG_CORE_MAX_PIXELS"] = str(size * size)
        image = s.read(0, 0, s.width, s.height)
    p = pred.predict(image)
    settings = ObjectSettings(split_touching=False, pixel_size=0.25)  # as measure's flags give them
    whole = len(objects_of(p, settings, len(pred.classes)))
    return {"size": size, "objects_across_tiles": tiled, "objects_as_one_image": whole,
            "difference_pct": round(100 * (tiled - whole) / max(whole, 1), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=40000, help="the slide's side in pixels (4096 on a shared CPU)")
    ap.add_argument("--objects-size", type=int, default=6144, help="the side of the slide the objects are counted on")
    ap.add_argument("--run", help="a run folder to predict with (default: one trained here)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--keep", help="a folder to keep the files in (default: a temporary one)")
    ap.add_argument("--parts", default="open,predict,objects", help="which of open, predict, objects to measure")
    a = ap.parse_args()
    parts = set(a.parts.split(","))
    if parts - {"open", "predict", "objects"}:
        ap.error(f"--parts: unknown {sorted(parts - {'open', 'predict', 'objects'})}")
    work = Path(a.keep or tempfile.mkdtemp(prefix="bench_slides_"))
    work.mkdir(parents=True, exist_ok=True)
    ts = tiles()
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; slide {a.size} x {a.size}")
    run = None
    if parts & {"predict", "objects"}:
        run = Path(a.run) if a.run else train_run(work / "run", a.epochs)

    slides = work / "slide"
    slides.mkdir()
    slide = slides / "mosaic.ome.tif"
    print(f"built the slide in {build_slide(slide, a.size, ts):.1f} s ({slide.stat().st_size / 1e6:.0f} MB)")
    o = open_times(slide)
    print(f"open: {o['open_s']:.3f} s (imports {o['import_s']:.2f} s, the process {o['process_s']:.2f} s), "
          f"{o['levels']} levels; overview {o['overview'][1]}x{o['overview'][0]} in {o['overview_s']:.2f} s")

    if "predict" in parts:
        predict_check(run, work, slide, a.size)
    if "objects" in parts:
        obj = objects_check(run, work, min(a.objects_size, a.size), ts)
        print(f"objects on a {obj['size']}x{obj['size']} slide: {obj['objects_across_tiles']} across tiles, "
              f"{obj['objects_as_one_image']} as one image, difference {obj['difference_pct']} % (target within 1 %)")


def predict_check(run: Path, work: Path, slide: Path, size: int) -> None:
    """``predict`` on the slide and on the same pixels as separate 2048 x 2048 images: throughput and memory."""
    slides = slide.parent
    n = cut_into_images(slide, work / "separate")
    pixels = size * size
    env = {"SEG_CORE_MAX_PIXELS": str(min(pixels - 1, 100_000_000))}
    sep_s, sep_gb, _ = timed_cli("predict", "--run", str(run), "--images", str(work / "separate"), "--out",
                            str(work / "out_separate"), "--no-crf", "--no-tta", env=env)
    slide_s, peak_gb, _ = timed_cli("predict", "--run", str(run), "--images", str(slides), "--out",
                                    str(work / "out_slide"), "--no-crf", "--no-tta", env=env)
    print(f"separate: {n} images of 2048x2048, {sep_s:.1f} s, {pixels / sep_s / 1e6:.3f} MP/s, peak memory "
          f"{sep_gb:.2f} GB")
    print(f"slide:    {slide_s:.1f} s, {pixels / slide_s / 1e6:.3f} MP/s, peak memory {peak_gb:.2f} GB")
    print(f"throughput slide / separate: {sep_s / slide_s:.3f} (target >= 0.8); peak memory target < 3 GB")


if __name__ == "__main__":
    main()
