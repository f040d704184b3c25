"""Exported-model benchmark: ``predict --run`` (torch) against ``predict --model FILE.onnx`` (onnxruntime, no torch)
on the same images, in one run. Prints figures, asserts nothing.

    python benchmarks/bench_export.py [--run RUN] [--images DIR ...] [--limit 8] [--rounds 2]

Without ``--run`` a run is trained on the bundled sample first (``--budget`` seconds). The run is exported to
ONNX; then, alternating which goes first in each of ``--rounds`` rounds: the whole command's seconds (process
start, imports, model loading and writing masks and overlays included) of both, on each ``--images`` folder (its
first ``--limit`` images; default the sample's unseen ``data/new``), and the seconds per image of both predictors
in this process (after a warm-up image). Agreement: the share of mask pixels on which the two commands agree.
Targets: agreement >= 99.5 %, the ONNX command >= 1.2x as fast.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def command_seconds(*args: str) -> float:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "seg_core", *args], cwd=ROOT, capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(f"python -m seg_core {' '.join(args)} failed:\n{res.stderr}")
    return time.perf_counter() - t0


def agreement(a: Path, b: Path) -> float:
    same = total = 0
    for f in sorted(a.glob("*.png")):
        x, y = np.asarray(Image.open(f)), np.asarray(Image.open(b / f.name))
        same, total = same + int((x == y).sum()), total + x.size
    return same / total


def per_image_seconds(predict, images: list[np.ndarray]) -> float:
    predict(images[0])  # warm-up: the first call of either sets itself up
    t0 = time.perf_counter()
    for im in images:
        predict(im)
    return (time.perf_counter() - t0) / len(images)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="a trained run (default: train one on the bundled sample)")
    ap.add_argument("--budget", type=float, default=60, help="training seconds when no --run is given")
    ap.add_argument("--images", nargs="+", default=[str(ROOT / "data" / "new")])
    ap.add_argument("--limit", type=int, default=8, help="images per folder")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()

    from seg_core.data.imageio import read_image
    from seg_core.infer.export import export_onnx
    from seg_core.infer.onnx_predictor import OnnxPredictor
    from seg_core.infer.prediction import image_files
    from seg_core.infer.predictor import Predictor
    from seg_core.runs.folder import Run

    tmp = Path(tempfile.mkdtemp(prefix="bench_export_"))
    if a.run is None:
        run_dir = tmp / "run"
        subprocess.run([sys.executable, "-m", "seg_core", "train", "--data", str(ROOT / "data"), "--out", str(run_dir),
                        "--time-budget", str(a.budget), "--quiet"], cwd=ROOT, check=True)
    run = Run(Path(a.run) if a.run else run_dir)
    t0 = time.perf_counter()
    onnx_file = export_onnx(run, tmp / "model.onnx")
    print(f"run {run.path} ({run.config['backbone']}, {run.config['arch']}); "
          f"ONNX export {time.perf_counter() - t0:.1f} s")
    by_run, by_file = Predictor(run, device="cpu"), OnnxPredictor(onnx_file, device="cpu")
    for i, folder in enumerate(map(Path, a.images)):
        files = image_files(folder)[:a.limit]
        images = tmp / "images" / str(i)
        images.mkdir(parents=True)
        for f in files:
            shutil.copy(f, images / f.name)
        arrays = [read_image(f) for f in files]
        h, w = arrays[0].shape[:2]
        cmd = {"--run": [], "--model": []}
        for r in range(a.rounds):
            for flag in (["--run", "--model"] if r % 2 == 0 else ["--model", "--run"]):
                given = str(run.path) if flag == "--run" else str(onnx_file)
                cmd[flag].append(command_seconds("predict", flag, given, "--images", str(images), "--out",
                                                 str(tmp / "out" / str(i) / flag.strip("-")), "--no-crf",
                                                 "--no-tta"))
        s_run, s_onnx = (per_image_seconds(lambda im: p.predict(im, crf=False, tta=False), arrays)
                         for p in (by_run, by_file))
        c_run, c_onnx = statistics.median(cmd["--run"]), statistics.median(cmd["--model"])
        agree = agreement(tmp / "out" / str(i) / "run" / "masks", tmp / "out" / str(i) / "model" / "masks")
        print(f"{folder} ({len(files)} images, first {w}x{h}):")
        print(f"  seconds per image  predict --run {s_run:.3f}  predict --model {s_onnx:.3f}  "
              f"({s_run / s_onnx:.2f}x as fast)")
        print(f"  whole command (median of {a.rounds})  --run {c_run:.1f} s  --model {c_onnx:.1f} s  "
              f"({c_run / c_onnx:.2f}x as fast)  [each: --run {', '.join(f'{x:.1f}' for x in cmd['--run'])}; "
              f"--model {', '.join(f'{x:.1f}' for x in cmd['--model'])}]")
        print(f"  pixels on which the masks agree: {100 * agree:.3f} %")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
