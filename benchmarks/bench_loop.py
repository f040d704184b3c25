"""The labelling loop, measured (issue #10): label next by rank against at random, continuing a run
against a fresh one, and training from scribbles. Prints figures; asserts nothing.

    python benchmarks/bench_loop.py [--budget 60] [--seeds 3] [--parts 1,2,3,4] [--curve-domains camvid,membrane]

1. Label next (street scenes, ../shared/data/camvid-val): the last 35 frames (in time order) are the
   held-out test set, the first 66 the pool. Per seed: 4 random pool frames are labelled and a run
   trains on them; then 4 more are added, either the first 4 "label next" proposes (``rank_images``) or 4
   at random, and a fresh run trains on the 8 in the same budget. Both are scored on the test set. Also:
   the Spearman correlation between an image's uncertainty (flip disagreement) and its error (1 - mIoU)
   on the test frames, under the 4-frame run. (``benchmarks/bench_rank.py`` measures three domains.)
2. Continue (camvid-val): a run trains 120 s on 8 frames; 4 frames are then labelled; continuing from
   it for 30 s is compared with a fresh 120 s run on the 12.
3. Scribbles (../shared/data/membrane, 2 classes): 20 slices train, 10 score; full masks against masks
   thinned to strokes (skeletons of each class region, widened to about 5 % of the pixels, the rest
   unlabelled), same budget; the ratio of their scores is printed.
4. Learning curves (``--parts 4``; ``bench_rank.py --curve 2`` draws the same): per domain and seed, from 4
   random labelled images, twice 4 more chosen by "label next" (ranked by the run trained on the labels so far)
   or at random, a fresh run at each count (4 -> 8 -> 12), its held-out mIoU and the gain per step.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.stats import spearmanr
from skimage.morphology import binary_dilation, skeletonize

from seg_core import Predictor, Run, TrainConfig, evaluate_run, train
from seg_core.infer.evaluation import Evaluation
from seg_core.infer.ranking import rank_images

warnings.filterwarnings("ignore")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CAMVID_IGNORE = 11


def folder(root: Path, name: str, images: list[Path], mask_dir: Path, classes: dict | None = None) -> Path:
    """A data set folder of links to ``images`` and their masks."""
    out = root / name
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    for im in images:
        (out / "images" / im.name).symlink_to(im)
        (out / "masks" / im.name).symlink_to(mask_dir / im.name)
    if classes:
        (out / "classes.json").write_text(json.dumps(classes))
    return out


def fit(data: Path, out: Path, budget: float | None, **kw) -> Run:
    return train(TrainConfig(data=str(data), out=str(out), time_budget=budget, **kw))


def score(run: Run, data: Path, ignore: int) -> Evaluation:
    return evaluate_run(run, data, ignore_index=ignore)


def label_next(tmp: Path, budget: float, seeds: int, epochs: int | None = None) -> None:
    """``epochs``: each run trains this many epochs instead of ``budget`` seconds (the same steps whatever else
    loads the machine: the fair comparison on a shared CPU)."""
    length = dict(epochs=epochs) if epochs else {}
    budget = None if epochs else budget
    src = SHARED / "camvid-val"
    frames = sorted((src / "images").glob("*.png"))
    pool, test_frames = frames[:66], frames[-35:]
    test = folder(tmp, "test", test_frames, src / "masks")
    print("## 1. Label next: 4 labelled frames + 4 more, chosen by rank or at random "
          f"({f'{epochs} epochs' if epochs else f'{budget:.0f} s'} a run, scored on {len(test_frames)} held-out "
          "frames)\n")
    print("| seed | 4 frames | + 4 by rank | + 4 at random |\n|---|---|---|---|")
    rank_m, rand_m, rhos = [], [], []
    for seed in range(seeds):
        rng = random.Random(seed)
        start = rng.sample(pool, 4)
        rest = [f for f in pool if f not in start]
        base = fit(folder(tmp, f"s{seed}_base", start, src / "masks"), tmp / f"r{seed}_base", budget,
                   ignore_index=CAMVID_IGNORE, seed=seed, val_fraction=0, **length)
        base_m = score(base, test, CAMVID_IGNORE)
        pred = Predictor(base)
        ranked = rank_images(pred, rest)
        by_rank = [next(f for f in rest if f.name == r.image) for r in ranked[:4]]
        at_random = rng.sample(rest, 4)
        m = {}
        for arm, extra in (("rank", by_rank), ("random", at_random)):
            data = folder(tmp, f"s{seed}_{arm}", start + extra, src / "masks")
            m[arm] = score(fit(data, tmp / f"r{seed}_{arm}", budget, ignore_index=CAMVID_IGNORE, seed=seed,
                               val_fraction=0, **length), test, CAMVID_IGNORE).miou
        rank_m.append(m["rank"])
        rand_m.append(m["random"])
        per_image = {r.image: r.miou for r in base_m.per_image}
        test_rank = {r.image: r.uncertainty for r in rank_images(pred, test_frames)}
        names = sorted(per_image)
        rho = spearmanr([test_rank[n] for n in names], [1 - per_image[n] for n in names]).statistic
        rhos.append(rho)
        print(f"| {seed} | {base_m.miou:.4f} | {m['rank']:.4f} | {m['random']:.4f} |", flush=True)
    print(f"| mean | | {np.mean(rank_m):.4f} | {np.mean(rand_m):.4f} |\n")
    print(f"rank / random mIoU: {np.mean(rank_m) / np.mean(rand_m):.3f}x; Spearman(uncertainty, 1 - IoU) on the "
          f"test frames per seed: {', '.join(f'{r:.3f}' for r in rhos)} (mean {np.mean(rhos):.3f})\n")


def continue_training(tmp: Path, fresh_s: float, cont_s: float) -> None:
    src = SHARED / "camvid-val"
    frames = sorted((src / "images").glob("*.png"))
    pool, test_frames = frames[:66], frames[-35:]
    test = folder(tmp, "c_test", test_frames, src / "masks")
    rng = random.Random(7)
    first = rng.sample(pool, 8)
    added = rng.sample([f for f in pool if f not in first], 4)
    kw = dict(ignore_index=CAMVID_IGNORE, val_fraction=0)
    old = fit(folder(tmp, "c8", first, src / "masks"), tmp / "c_old", fresh_s, **kw)
    twelve = folder(tmp, "c12", first + added, src / "masks")
    t = time.time()
    cont = fit(twelve, tmp / "c_cont", cont_s, init_run=str(old.path), **kw)
    cont_wall = time.time() - t
    fresh = fit(twelve, tmp / "c_fresh", fresh_s, **kw)
    a, b, c = (score(r, test, CAMVID_IGNORE).miou for r in (old, cont, fresh))
    print(f"## 2. Continue after 4 new labels (camvid-val, 8 -> 12 frames, {len(test_frames)} held-out frames)\n")
    print("| run | mIoU |\n|---|---|")
    print(f"| 8 frames, fresh {fresh_s:.0f} s | {a:.4f} |\n| 12 frames, continued {cont_s:.0f} s "
          f"({cont_wall:.0f} s wall) | {b:.4f} |\n| 12 frames, fresh {fresh_s:.0f} s | {c:.4f} |\n")
    print(f"continued {cont_s:.0f} s / fresh {fresh_s:.0f} s: {b / c:.3f}x (target >= 1.0)\n")


def scribble(mask: np.ndarray, target: float = 0.05) -> np.ndarray:
    """Strokes: each class region's skeleton, widened until about ``target`` of the pixels are labelled."""
    out = np.full(mask.shape, 255, np.uint8)
    strokes = {c: skeletonize(mask == c) for c in np.unique(mask)}
    while True:
        for c, s in strokes.items():
            out[s & (mask == c)] = c
        if (out != 255).mean() >= target:
            return out
        strokes = {c: binary_dilation(s) for c, s in strokes.items()}


def scribbles(tmp: Path, budget: float) -> None:
    src = SHARED / "membrane"
    slices = sorted((src / "images").glob("*.png"))
    train_s, test_s = slices[:20], slices[20:]
    classes = {"classes": [{"name": "membrane"}, {"name": "cell"}], "unlabelled": 255, "ignore_index": 255}
    for name, thin in (("full", False), ("strokes", True)):
        d = tmp / f"m_{name}"
        (d / "images").mkdir(parents=True)
        (d / "masks").mkdir()
        (d / "classes.json").write_text(json.dumps(classes))
        cover = []
        for im in train_s + (test_s if not thin else []):
            m = (np.array(Image.open(src / "masks" / im.name).convert("L")) > 127).astype(np.uint8)
            if thin:
                m = scribble(m)
                cover.append((m != 255).mean())
            (d / "images" / im.name).symlink_to(im)
            Image.fromarray(m).save(d / "masks" / im.name)
        if thin:
            coverage = float(np.mean(cover))
    test = tmp / "m_test"
    (test / "images").mkdir(parents=True)
    (test / "masks").mkdir()
    (test / "classes.json").write_text(json.dumps(classes))
    for im in test_s:
        (test / "images" / im.name).symlink_to(im)
        shutil.copy(tmp / "m_full" / "masks" / im.name, test / "masks" / im.name)
        (tmp / "m_full" / "images" / im.name).unlink()
        (tmp / "m_full" / "masks" / im.name).unlink()
    res = {}
    for name in ("full", "strokes"):
        run = fit(tmp / f"m_{name}", tmp / f"mr_{name}", budget, ignore_index=255, num_classes=2, val_fraction=0)
        res[name] = score(run, test, 255).miou
    print(f"## 3. Scribbles (membrane, 20 slices train, 10 held out, {budget:.0f} s each)\n")
    print("| labels | labelled pixels | held-out mIoU |\n|---|---|---|")
    print(f"| full masks | 100 % | {res['full']:.4f} |\n| strokes | {100 * coverage:.1f} % | {res['strokes']:.4f} |\n")
    print(f"strokes / full: {res['strokes'] / res['full']:.3f} (target >= 0.85)\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60, help="seconds per run in parts 1 and 3")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, help="part 1: train each run this many epochs instead of --budget seconds")
    ap.add_argument("--fresh", type=float, default=120)
    ap.add_argument("--continued", type=float, default=30)
    ap.add_argument("--parts", default="1,2,3", help="of 1,2,3,4 (4: learning curves, the longest)")
    ap.add_argument("--curve-domains", default="camvid,membrane", help="part 4: some of camvid, membrane, nuclei")
    ap.add_argument("--curve-epochs", type=int, default=12, help="part 4: epochs per run")
    args = ap.parse_args()
    t0 = time.time()
    print(f"# labelling-loop benchmark {time.strftime('%Y-%m-%d %H:%M')}\n")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        parts = args.parts.split(",")
        if "1" in parts:
            label_next(tmp, args.budget, args.seeds, args.epochs)
        if "2" in parts:
            continue_training(tmp, args.fresh, args.continued)
        if "3" in parts:
            scribbles(tmp, args.budget)
        if "4" in parts:
            import bench_rank  # beside this file

            for name in args.curve_domains.split(","):
                bench_rank.curve(tmp, name, args.seeds, args.curve_epochs, 2)
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
