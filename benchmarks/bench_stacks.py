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

    python benchmarks/bench_stacks.py --memory-gb 1 [--side 1024]

The memory target instead (a stack of 1 GB predicts with peak memory under 3 GB): a run trained briefly on two
membrane slices (1 epoch: its quality is not measured, only the memory), then ``predict --run RUN --images DIR
--out OUT`` in a process of its own on a synthetic uint16 z-stack of ``--memory-gb`` GiB written in the temporary
folder (``--side`` x ``--side`` planes, as many as make the size; a plain multi-page TIFF with ImageJ axes ZYX,
as microscopes write them; ``SEG_CORE_MAX_PIXELS`` raised to its pixel count). Prints the peak resident memory
of that process (``/usr/bin/time -v``, else ``getrusage``), its time and the pages of the mask written; first
the same for whole predictions of 4 and 8 such planes (the peak should not grow with the planes). On a slow CPU
the 1 GiB stack takes hours: ``--memory-seconds S`` stops it after S seconds and says how many planes were
done (the file opened and read plane by plane up to there).
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


def synthetic_stack(path: Path, gib: float, side: int) -> tuple[int, int]:
    """A uint16 z-stack of ``gib`` GiB at ``path``, written one plane at a time (bright blobs on a dim, noisy
    background, shifting from plane to plane); (planes, bytes)."""
    planes = max(1, int(gib * 2 ** 30 // (side * side * 2)))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:side, :side].astype(np.float32) / side
    centres = rng.random((40, 2)).astype(np.float32)

    def pages():
        for z in range(planes):
            img = 300 + rng.normal(0, 5, (side, side)).astype(np.float32)
            for cy, cx in centres + 0.002 * z:
                img += 20000 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.0005)
            yield np.clip(img, 0, 65535).astype(np.uint16)

    tifffile.imwrite(path, pages(), shape=(planes, side, side), dtype=np.uint16, imagej=True,
                     metadata={"axes": "ZYX"})
    return planes, path.stat().st_size


def timed_predict(run: Path, images: Path, out: Path, pixels: int, limit: float | None,
                  options: tuple[str, ...] = ()) -> tuple[float, float, int]:
    """``predict --run RUN --images DIR --out OUT [options]`` in a process of its own (``SEG_CORE_MAX_PIXELS`` =
    ``pixels``), stopped after ``limit`` seconds (None: to its end): (peak resident memory in GiB, seconds, planes
    done)."""
    import os
    import resource

    env = dict(os.environ, SEG_CORE_MAX_PIXELS=str(pixels))
    cmd = [sys.executable, "-m", "seg_core", "predict", "--run", str(run), "--images", str(images), "--out", str(out),
           *options]
    if limit:
        cmd = ["timeout", str(int(limit))] + cmd  # TERM: a background job ignores SIGINT
    timed = Path("/usr/bin/time").is_file()  # its peak covers the process's descendants (wait4's rusage)
    t0 = time.perf_counter()
    res = subprocess.run((["/usr/bin/time", "-v"] if timed else []) + cmd, capture_output=True, text=True, cwd=ROOT,
                         env=env)
    seconds = time.perf_counter() - t0
    if res.returncode != 0 and not limit:
        raise SystemExit(f"predict failed:\n{res.stderr[-3000:]}")
    if timed:
        line = next(x for x in res.stderr.splitlines() if "Maximum resident set size" in x)
        peak_kb = int(line.rsplit(":", 1)[1])
    else:
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = len(list((out / "overlays").glob("*.png"))) if (out / "overlays").is_dir() else 0
    return peak_kb / 2 ** 20, seconds, done


def peak_memory(gib: float, side: int, limit: float, tmp: Path, options: tuple[str, ...] = ()) -> None:
    """The memory target (module docstring)."""
    _, single, _, _ = build(tmp)
    run = tmp / "run_small"
    cli("train", "--data", str(single), "--out", str(run), "--epochs", "1", "--img-size", "256x256",
        "--num-classes", "2", "--mask-values", "binary", "--quiet")
    for small in (4, 8):  # whole predictions: does the peak grow with the planes?
        folder = tmp / f"small{small}"
        (folder / "images").mkdir(parents=True)
        planes, size = synthetic_stack(folder / "images" / "volume.tif", small * side * side * 2 / 2 ** 30, side)
        peak, seconds, done = timed_predict(run, folder / "images", tmp / f"pred{small}", planes * side * side, None,
                                            options)
        print(f"{planes:4d} planes of {side}x{side} uint16 ({size / 2 ** 20:6.1f} MiB): predict peak {peak:.2f} GiB, "
              f"{seconds:.0f} s, all {done} planes")
    big = tmp / "big"
    (big / "images").mkdir(parents=True)
    t0 = time.perf_counter()
    planes, size = synthetic_stack(big / "images" / "volume.tif", gib, side)
    print(f"synthetic stack: {planes} planes of {side}x{side} uint16, {size / 2 ** 30:.3f} GiB "
          f"(written in {time.perf_counter() - t0:.0f} s)")
    peak, seconds, done = timed_predict(run, big / "images", tmp / "big_pred", planes * side * side, limit, options)
    mask = tmp / "big_pred" / "masks" / "volume.tif"
    pages = len(tifffile.TiffFile(mask).pages) if mask.is_file() else 0
    print(f"predict on it: peak resident memory {peak:.2f} GiB (target < 3 GB), {seconds:.0f} s, {done} of "
          f"{planes} planes predicted" + (f", masks/volume.tif {pages} pages" if pages else
                                          f" (stopped after {limit:.0f} s: no mask file, written whole or not at all)"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=60, help="training seconds per run (when no --epochs)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--img-size", default="256x256")
    ap.add_argument("--memory-gb", type=float, help="measure predict's peak memory on a stack of this many GiB")
    ap.add_argument("--side", type=int, default=1024, help="plane side of the --memory-gb stack")
    ap.add_argument("--memory-seconds", type=float, default=0,
                    help="stop the --memory-gb stack's prediction after this many seconds (0: to its end)")
    ap.add_argument("--predict-options", default="",
                    help='options for the --memory-gb predictions, e.g. "--no-crf --no-tta" (default: as the run chose)')
    args = ap.parse_args()
    if args.memory_gb:
        with tempfile.TemporaryDirectory() as tmp:
            peak_memory(args.memory_gb, args.side, args.memory_seconds or None, Path(tmp),
                        tuple(args.predict_options.split()))
        return
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
