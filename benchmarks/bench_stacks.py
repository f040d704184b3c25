"""Stacks, measured (issue #35's stack target): trained on 4 labelled planes of a 20-plane EM stack, the stack
route scores on the other 16 planes at least 0.98x what the same 4 planes saved as separate images score, and
predicting the stack writes one 20-page mask. Prints figures; asserts nothing.

    python benchmarks/bench_stacks.py [--budget 60] [--epochs N] [--seed 0] [--img-size 256x256]

The stack: the first 20 slices of ../shared/data/membrane (ISBI EM, 512x512, binary masks) as one ImageJ
TIFF (axes ZYX). Both routes train through the command line with the same settings and seed:

- stack: ``images/em.tif`` (20 planes) with per-plane masks ``masks/em_z00.png`` .. for 4 planes spread
  over the stack (z00, z05, z10, z15); the other 16 planes are unlabelled;
- separate: those 4 planes as ``images/em_z00.png`` .. with the same masks.

Each run is scored (``evaluate --json``, mIoU) on the 16 other planes saved as separate images with their
masks, and the ratio stack / separate printed. Then ``predict`` on the stack: the pages of ``em.tif`` written.
With ``--epochs`` both runs take the same steps whatever else loads the machine; with ``--budget`` (seconds)
the same training time.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MEMBRANE = ROOT.parent / "shared" / "data" / "membrane"
LABELLED = (0, 5, 10, 15)


def cli(*args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "seg_core", *args], capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        raise SystemExit(f"seg_core {args[0]} failed:\n{res.stderr}")
    return res


def build(tmp: Path) -> tuple[Path, Path, Path, Path]:
    """The stack folder, the separate-images folder, the test folder (16 planes) and the stack file."""
    names = sorted((p.name for p in (MEMBRANE / "images").iterdir()), key=lambda n: int(Path(n).stem))[:20]
    planes = np.stack([np.asarray(Image.open(MEMBRANE / "images" / n).convert("L")) for n in names])
    masks = [np.asarray(Image.open(MEMBRANE / "masks" / n)) for n in names]
    stack, single, test = tmp / "stack", tmp / "separate", tmp / "test"
    for d in (stack, single, test):
        (d / "images").mkdir(parents=True)
        (d / "masks").mkdir()
    tifffile.imwrite(stack / "images" / "em.tif", planes, imagej=True, metadata={"axes": "ZYX"})
    for z in range(20):
        stem = f"em_z{z:02d}"
        if z in LABELLED:
            Image.fromarray(masks[z]).save(stack / "masks" / f"{stem}.png")
            Image.fromarray(masks[z]).save(single / "masks" / f"{stem}.png")
            Image.fromarray(planes[z]).save(single / "images" / f"{stem}.png")
        else:
            Image.fromarray(masks[z]).save(test / "masks" / f"{stem}.png")
            Image.fromarray(planes[z]).save(test / "images" / f"{stem}.png")
    return stack, single, test, stack / "images" / "em.tif"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=60, help="training seconds per run (when no --epochs)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--img-size", default="256x256")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack, single, test, em = build(Path(tmp))
        how = ["--epochs", str(args.epochs)] if args.epochs else ["--time-budget", str(args.budget)]
        scores = {}
        for route, data in (("stack", stack), ("separate", single)):
            run = Path(tmp) / f"run_{route}"
            t0 = time.perf_counter()
            cli("train", "--data", str(data), "--out", str(run), *how, "--seed", str(args.seed), "--img-size",
                args.img_size, "--num-classes", "2", "--mask-values", "binary", "--quiet")
            seconds = time.perf_counter() - t0
            out = json.loads(cli("evaluate", "--run", str(run), "--data", str(test), "--mask-values", "binary",
                                 "--json").stdout)
            scores[route] = out["miou"]
            print(f"{route:9s} trained {seconds:6.1f} s on 4 labelled planes; mIoU on the 16 other planes "
                  f"{out['miou']:.4f} ({out['images']} images scored)")
        print(f"ratio stack / separate: {scores['stack'] / scores['separate']:.4f} (target >= 0.98)")
        pred = Path(tmp) / "pred"
        cli("predict", "--run", str(Path(tmp) / "run_stack"), "--images", str(em.parent), "--out", str(pred))
        with tifffile.TiffFile(pred / "masks" / "em.tif") as tif:
            print(f"predicted {em.name}: {pred.name}/masks/em.tif has {len(tif.pages)} pages, axes "
                  f"{tif.series[0].axes}, {tif.series[0].dtype} (target: 20 pages)")


if __name__ == "__main__":
    main()
