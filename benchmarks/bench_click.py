"""A click that gets the object (issue #39): a simulated annotator clicks once at the centre of each true object
(the inside point farthest from its border) and the clicked mask is scored against the object (IoU); median
IoU per click, with a trained run and without. Prints figures; asserts nothing.

    python benchmarks/bench_click.py [--sets nuclei-he,gowt1,hela] [--train 4] [--budget 120 | --epochs N]
                                     [--clicks 60] [--no-run] [--old] [--boxes] [--run RUN | --runs DIR]

Sets (``../shared/data``): nuclei-he (H&E tiles, ``instances/`` one id per nucleus), fluo-ctc's gowt1 and hela
(fluorescent nuclei, 8-bit). Per set, ``--train`` images spread over the set are trained on (a run of
``--budget`` seconds, or of ``--epochs`` rounds with no time limit, so that a loaded machine does not starve it;
the default recipe, its class masks the true objects' union) and the others are clicked on. ``--runs DIR`` keeps
each set's run in ``DIR/<set>`` and clicks with the one already there (trained once, clicked many times).
Methods:

- with a run: ``click_object(image, point, run)``: the run's prediction (see ``seg_core.assist.click``);
- without: ``click_object(image, point)``: the local classifier round the click;
- ``--old``: also ``grow_region`` (the click tool before: grown in colour, stopped at edges);
- ``--boxes``: also ``box_object(image, box)`` and ``box_object(image, box, run)``, the box round each clicked
  object ``BOX_MARGIN`` pixels wider on each side.

``--clicks``: at most this many objects clicked per image (spread over the image's objects; 0: all). Seconds
are per click (with a run: the first click on an image predicts it, the others reuse it; both shown).
"""
from __future__ import annotations

import argparse
import shutil
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
BOX_MARGIN = 2  # pixels the simulated annotator's box leaves round the object
SETS = {"nuclei-he": DATA / "nuclei-he", "gowt1": DATA / "fluo-ctc" / "gowt1", "hela": DATA / "fluo-ctc" / "hela"}

from seg_core import TrainConfig, train  # noqa: E402
from seg_core.assist.click import box_object, click_object  # noqa: E402
from seg_core.assist.region import grow_region  # noqa: E402
from seg_core.data.imageio import read_image  # noqa: E402
from seg_core.objects.folder import read_instances  # noqa: E402
from seg_core.runs.folder import Run  # noqa: E402


def centres(instances: np.ndarray, limit: int, rng) -> list[tuple[int, tuple[int, int], tuple[int, int, int, int]]]:
    """(id, (row, col), box) of each object: its inside point farthest from its border, and the box round it
    (row0, col0, row1, col1; ends exclusive) ``BOX_MARGIN`` pixels wider on each side; at most ``limit``
    objects."""
    ids = np.unique(instances)
    ids = ids[ids > 0]
    if limit and len(ids) > limit:
        ids = np.sort(rng.choice(ids, limit, replace=False))
    h, w = instances.shape
    out = []
    for i in ids:
        ys, xs = np.nonzero(instances == i)
        y0, x0 = ys.min(), xs.min()
        crop = np.pad(instances[y0:ys.max() + 1, x0:xs.max() + 1] == i, 1).astype(np.uint8)
        dist = cv2.distanceTransform(crop, cv2.DIST_L2, 5)
        r, c = np.unravel_index(int(np.argmax(dist)), dist.shape)
        box = (max(0, int(y0) - BOX_MARGIN), max(0, int(x0) - BOX_MARGIN), min(h, int(ys.max()) + 1 + BOX_MARGIN),
               min(w, int(xs.max()) + 1 + BOX_MARGIN))
        out.append((int(i), (int(r) - 1 + y0, int(c) - 1 + x0), box))
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


def train_run(root: Path, images: list[Path], out: Path | None, budget: float, epochs: int | None) -> Run:
    """A run of the default recipe on ``images`` (``epochs`` rounds, no time limit; else ``budget`` seconds),
    written to ``out`` (default a temporary folder); its data folder beside it (``<out>-data``)."""
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="bench_click_")) / "run"
    data = out.parent / f"{out.name}-data"
    if data.exists():
        shutil.rmtree(data)
    t0 = time.perf_counter()
    run = train(TrainConfig(data=str(training_folder(data, root, images)), out=str(out), num_classes=2,
                            epochs=epochs, time_budget=None if epochs else budget))
    print(f"trained in {time.perf_counter() - t0:.0f} s " + (f"({epochs} epochs, no time limit)" if epochs else
                                                            f"(budget {budget:.0f} s)"), flush=True)
    return run


def describe(run: Run) -> str:
    """How much the run trained and how well it scored on its held-out images."""
    s = run.status
    return (f"steps {s.get('steps', '?')}, epochs {s.get('epochs', '?')}, {s.get('seconds', 0):.0f} s, "
            f"best validation mIoU {run.best_val_miou}")


def score(name: str, images: list[Path], root: Path, methods: dict, limit: int, seed: int = 0) -> dict:
    ious = {m: [] for m in methods}
    secs = {m: [] for m in methods}
    first = {m: [] for m in methods}
    for n, im in enumerate(images):
        image = read_image(im)
        inst = read_instances(root / "instances", im.stem)
        clicks = centres(inst, limit, np.random.default_rng([seed, n]))  # every method clicks the same objects
        for m, fn in methods.items():
            for k, (i, point, box) in enumerate(clicks):
                t0 = time.perf_counter()
                got = fn(image, box) if m.startswith("box") else fn(image, point)
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
    ap.add_argument("--boxes", action="store_true", help="also a box dragged round each object (BOX_MARGIN "
                    "pixels wider), with the run and without")
    ap.add_argument("--epochs", type=int, help="train this many rounds over the training images, no time limit "
                    "(instead of --budget)")
    ap.add_argument("--run", help="a run to click with (skips training; its set is the first of --sets)")
    ap.add_argument("--runs", help="a folder keeping each set's run (DIR/<set>): reused where it has a checkpoint, "
                    "else trained and kept there")
    args = ap.parse_args()
    for name in args.sets.split(","):
        root = SETS[name]
        train_images, scored = split(root, args.train)
        methods = {"without a run": lambda image, p: click_object(image, p)}
        if args.old:
            methods["grow_region (before)"] = lambda image, p: grow_region(image, p)
        if args.boxes:
            methods["box without a run"] = lambda image, b: box_object(image, b)
        if not args.no_run:
            kept = Run(Path(args.runs) / name) if args.runs else None
            if args.run:
                run = Run(Path(args.run))
            elif kept is not None and kept.has_checkpoint:
                run = kept
                print(f"{name}: clicking with the run kept in {run.path}", flush=True)
            else:
                run = train_run(root, train_images, kept.path if kept else None, args.budget, args.epochs)
                print(f"{name}: trained on {', '.join(p.stem for p in train_images)}", flush=True)
            print(f"{name}: the run's {describe(run)}", flush=True)
            methods["with a run"] = lambda image, p, run=run: click_object(image, p, run.path)
            if args.boxes:
                methods["box with a run"] = lambda image, b, run=run: box_object(image, b, run.path)
        print(f"{name}: clicking on {len(scored)} images ({', '.join(p.stem for p in scored)})", flush=True)
        score(name, scored, root, methods, args.clicks)


if __name__ == "__main__":
    main()
