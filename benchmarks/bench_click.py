"""A click that gets the object (issue #39): a simulated annotator clicks once at the centre of each true object
(the inside point farthest from its border) and the clicked mask is scored against the object (IoU); median
IoU per click, with a trained run and without. Prints figures; asserts nothing.

    python benchmarks/bench_click.py [--sets nuclei-he,gowt1,hela] [--train 4] [--budget 120]
                                     [--clicks 60] [--no-run] [--old] [--run RUN]

Sets (``../shared/data``): nuclei-he (H&E tiles, ``instances/`` one id per nucleus), fluo-ctc's gowt1 and hela
(fluorescent nuclei, 8-bit). Per set, ``--train`` images spread over the set are trained on (a run of
``--budget`` seconds, the default recipe, its class masks the true objects' union) and the others are clicked
on. Methods:

- with a run: ``click_object(image, point, run)``: the run's prediction, its objects separated as ``measure``
  does;
- without: ``click_object(image, point)``: the local classifier round the click;
- ``--old``: also ``grow_region`` (the click tool before: grown in colour, stopped at edges).

``--clicks``: at most this many objects clicked per image (spread over the image's objects; 0: all). Seconds
are per click (with a run: the first click on an image predicts it, the others reuse it; both shown).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SETS = {"nuclei-he": DATA / "nuclei-he", "gowt1": DATA / "fluo-ctc" / "gowt1", "hela": DATA / "fluo-ctc" / "hela"}

from seg_core import TrainConfig, train  # noqa: E402
from seg_core.assist.click import click_object  # noqa: E402
from seg_core.assist.region import grow_region  # noqa: E402
from seg_core.data.imageio import read_image  # noqa: E402
from seg_core.objects.folder import read_instances  # noqa: E402
from seg_core.runs.folder import Run  # noqa: E402


def centres(instances: np.ndarray, limit: int, rng) -> list[tuple[int, tuple[int, int]]]:
    """(id, (row, col)) of each object: its inside point farthest from its border; at most ``limit`` objects."""
    ids = np.unique(instances)
    ids = ids[ids > 0]
    if limit and len(ids) > limit:
        ids = np.sort(rng.choice(ids, limit, replace=False))
    out = []
    for i in ids:
        ys, xs = np.nonzero(instances == i)
        y0, x0 = ys.min(), xs.min()
        crop = np.pad(instances[y0:ys.max() + 1, x0:xs.max() + 1] == i, 1).astype(np.uint8)
        dist = cv2.distanceTransform(crop, cv2.DIST_L2, 5)
        r, c = np.unravel_index(int(np.argmax(dist)), dist.shape)
        out.append((int(i), (int(r) - 1 + y0, int(c) - 1 + x0)))
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def split(root: Path, n_train: int) -> tuple[list[Path], list[Path]]:
    images = sorted(p for p in (root / "images").iterdir() if not p.name.startswith("."))
    n_train = max(1, min(n_train, len(images) // 2))
    train_images = [images[round(i)] for i in np.linspace(0, len(images) - 1, n_train, endpoint=False)]
    return train_images, [p for p in images if p not in train_images]


def training_folder(out: Path, root: Path, images: list[Path]) -> Path:
    """images/ (links) and masks/ (the union of the true objects: 1 nucleus, 0 background) of ``images``."""
    for sub in ("images", "masks"):
        (out / sub).mkdir(parents=True)
    for im in images:
        (out / "images" / im.name).symlink_to(im.resolve())
        mask = (read_instances(root / "instances", im.stem) > 0).astype(np.uint8)
        Image.fromarray(mask).save(out / "masks" / f"{im.stem}.png")
    return out


def score(name: str, images: list[Path], root: Path, methods: dict, limit: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    ious = {m: [] for m in methods}
    secs = {m: [] for m in methods}
    first = {m: [] for m in methods}
    for im in images:
        image = read_image(im)
        inst = read_instances(root / "instances", im.stem)
        for m, fn in methods.items():
            for k, (i, point) in enumerate(centres(inst, limit, rng)):
                t0 = time.perf_counter()
                got = fn(image, point)
                dt = time.perf_counter() - t0
                (first[m] if k == 0 else secs[m]).append(dt)
                ious[m].append(iou(got, inst == i))
    for m in methods:
        v = np.array(ious[m])
        print(f"{name:10s} {m:22s} clicks {len(v):5d}  median IoU {np.median(v):.3f}  mean {v.mean():.3f}  "
              f">=0.5: {np.mean(v >= 0.5):.2f}  s/click {np.median(secs[m]) if secs[m] else 0:.3f} "
              f"(first on an image {np.median(first[m]):.2f})", flush=True)
    return {m: float(np.median(v)) for m, v in ious.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="nuclei-he,gowt1,hela")
    ap.add_argument("--train", type=int, default=4)
    ap.add_argument("--budget", type=float, default=120)
    ap.add_argument("--clicks", type=int, default=60)
    ap.add_argument("--no-run", action="store_true", help="only the clicks without a run (no training)")
    ap.add_argument("--old", action="store_true", help="also grow_region, the click tool before")
    ap.add_argument("--run", help="a run to click with (skips training; its set is the first of --sets)")
    args = ap.parse_args()
    for name in args.sets.split(","):
        root = SETS[name]
        train_images, scored = split(root, args.train)
        methods = {"without a run": lambda image, p: click_object(image, p)}
        if args.old:
            methods["grow_region (before)"] = lambda image, p: grow_region(image, p)
        if not args.no_run:
            if args.run:
                run = Run(Path(args.run))
            else:
                tmp = Path(tempfile.mkdtemp(prefix="bench_click_"))
                t0 = time.perf_counter()
                run = train(TrainConfig(data=str(training_folder(tmp / "data", root, train_images)),
                                        out=str(tmp / "run"), num_classes=2, time_budget=args.budget))
                print(f"{name}: trained on {', '.join(p.stem for p in train_images)} in "
                      f"{time.perf_counter() - t0:.0f} s (budget {args.budget:.0f} s); best validation mIoU "
                      f"{run.summary().get('best_val_miou')}", flush=True)
            methods["with a run"] = lambda image, p, run=run: click_object(image, p, run.path)
        print(f"{name}: clicking on {len(scored)} images ({', '.join(p.stem for p in scored)})", flush=True)
        score(name, scored, root, methods, args.clicks)


if __name__ == "__main__":
    main()
