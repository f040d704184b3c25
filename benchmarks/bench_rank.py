""""Label next", measured (issue #22): the product's picks against random picks, and against picking the
images the model hesitates on, at small label counts, on three domains. Prints figures; asserts nothing.

    python benchmarks/bench_rank.py [--seeds 2] [--epochs 12] [--domains camvid,membrane,nuclei]
                                    [--class-weights 0.5,1] [--curve STEPS]

Per domain and seed: ``start`` random pool images are labelled and a run trains on them (the base run);
then ``add`` more are labelled, chosen by

- product: ``rank_images`` (the base run's own images count as covered; at these label counts it picks
  typical images of kinds not labelled yet: ``seg_core/infer/selection.py``);
- hesitation: the candidates the base run hesitates on most (its answer changes when mirrored);
- random: at random (the same generator as the start, per seed),

and a fresh run trains on start + add with the same seed and the same number of epochs (the same steps
whatever else loads the machine). All runs are scored (mIoU) on the domain's held-out test images; the
gain of each arm over random is printed. Also: the Spearman correlation, on the test images under the
base run, between an image's score and its real error (1 - its mIoU), for the flips' disagreement (what
"label next" uses) and for the mean entropy (what it used before).

``--curve 2`` instead draws learning curves: from the start, twice ``add`` more images chosen by the product
(ranked by the run trained on the labels so far) or at random, a fresh run at each count (4 -> 8 -> 12 street
frames), with the gain per step.

Domains (../shared/data): camvid (camvid-val: the first 66 frames in time order are the pool, the last 35
the test, 4 + 4, 11 classes + void), membrane (EM slices: 20 pool, 10 test, 4 + 4, binary), nuclei
(nuclei-he: 10 pool, 5 test, 3 + 3, binary). Crops of 256x256 and few epochs: small, so that it finishes on
a loaded 2-core CPU; the absolute scores are low and the spread between seeds is large.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from bench_loop import folder  # benchmarks/ is on sys.path when this script runs
from seg_core import Predictor, TrainConfig, evaluate_run, train
from seg_core.data.imageio import read_image
from seg_core.infer.ranking import hesitation, rank_images

warnings.filterwarnings("ignore")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# name: (folder, pool slice, test slice, start, add, settings)
DOMAINS = {
    "camvid": ("camvid-val", slice(0, 66), slice(-35, None), 4, 4, dict(ignore_index=11)),
    "membrane": ("membrane", slice(0, 20), slice(20, 30), 4, 4, dict(num_classes=2, mask_values="binary")),
    "nuclei": ("nuclei-he", slice(0, 10), slice(10, 15), 3, 3, dict(num_classes=2, mask_values="binary")),
}


def entropy(pred: Predictor, image: np.ndarray) -> float:
    p = np.clip(pred.predict(image, crf=False, tta=False).probs, 1e-8, 1)
    return float((-(p * np.log(p)).sum(0) / np.log(len(p))).mean())


def setup(tmp: Path, name: str, epochs: int, tag: str = "") -> tuple:
    """(masks folder, pool, test images, test folder, train settings, evaluate settings, start, add) of a domain."""
    src_name, pool_s, test_s, start_n, add_n, kw = DOMAINS[name]
    src = SHARED / src_name
    masks = src / "masks"
    images = sorted((src / "images").glob("*.png"))
    pool, test_images = images[pool_s], images[test_s]
    test = folder(tmp, f"{name}{tag}_test", test_images, masks)
    settings = dict(kw, epochs=epochs, img_size=(256, 256), val_fraction=0, time_budget=None)
    eval_kw = {k: v for k, v in kw.items() if k in ("ignore_index", "mask_values")}
    return masks, pool, test_images, test, settings, eval_kw, start_n, add_n


def domain(tmp: Path, name: str, seeds: int, epochs: int, class_weights=()) -> dict:
    masks, pool, test_images, test, settings, eval_kw, start_n, add_n = setup(tmp, name, epochs)
    extra_arms = [f"classes {cw:g}" for cw in class_weights]
    out = {"base": [], "product": [], "hesitation": [], "random": [], "rho_flips": [], "rho_entropy": [],
           **{a: [] for a in extra_arms}}
    print(f"## {name}: {start_n} labelled + {add_n} more, {epochs} epochs a run, {len(test_images)} test images\n")
    print("| seed | start | + product | + hesitation | + random | Spearman flips | Spearman entropy |"
          + "".join(f" + {a} |" for a in extra_arms))
    print("|---|---|---|---|---|---|---|" + "---|" * len(extra_arms))
    for seed in range(seeds):
        rng = random.Random(seed)
        start = rng.sample(pool, start_n)
        rest = [f for f in pool if f not in start]
        base = train(TrainConfig(data=str(folder(tmp, f"{name}{seed}_base", start, masks)),
                                 out=str(tmp / f"{name}{seed}_rbase"), seed=seed, **settings))
        base_m = evaluate_run(base, test, **eval_kw)
        pred = Predictor(base)
        ranked = rank_images(pred, rest, labelled=start)
        by_name = {f.name: f for f in rest}
        arms = {"product": [by_name[r.image] for r in ranked[:add_n]],
                "hesitation": [by_name[r.image] for r in sorted(ranked, key=lambda r: -r.uncertainty)[:add_n]],
                "random": rng.sample(rest, add_n)}
        for cw in class_weights:  # the product's order with another weight on the classes an image adds
            arms[f"classes {cw:g}"] = [by_name[r.image] for r in rank_images(pred, rest, labelled=start,
                                                                              class_weight=cw)[:add_n]]
        row = {"base": base_m.miou}
        for arm, extra in arms.items():
            run = train(TrainConfig(data=str(folder(tmp, f"{name}{seed}_{arm}", start + extra, masks)),
                                    out=str(tmp / f"{name}{seed}_r{arm}"), seed=seed, **settings))
            row[arm] = evaluate_run(run, test, **eval_kw).miou
        err = {r.image: 1 - r.miou for r in base_m.per_image}
        names = sorted(err)
        flips = [hesitation(pred, read_image(test / "images" / n))[0].mean() for n in names]
        ent = [entropy(pred, read_image(test / "images" / n)) for n in names]
        row["rho_flips"] = spearmanr(flips, [err[n] for n in names]).statistic
        row["rho_entropy"] = spearmanr(ent, [err[n] for n in names]).statistic
        for k, v in row.items():
            out[k].append(v)
        print(f"| {seed} | {row['base']:.4f} | {row['product']:.4f} | {row['hesitation']:.4f} | {row['random']:.4f} "
              f"| {row['rho_flips']:.3f} | {row['rho_entropy']:.3f} |" + "".join(f" {row[a]:.4f} |" for a in extra_arms),
              flush=True)
    m = {k: float(np.mean(v)) for k, v in out.items()}
    print(f"| mean | {m['base']:.4f} | {m['product']:.4f} | {m['hesitation']:.4f} | {m['random']:.4f} "
          f"| {m['rho_flips']:.3f} | {m['rho_entropy']:.3f} |" + "".join(f" {m[a]:.4f} |" for a in extra_arms) + "\n")
    for a in extra_arms:
        wins = sum(p >= r for p, r in zip(out[a], out["random"]))
        print(f"{name}: {a} - random {m[a] - m['random']:+.4f} mIoU (not worse on {wins} of {seeds} seeds)")
    wins = sum(p >= r for p, r in zip(out["product"], out["random"]))
    print(f"{name}: product - random {m['product'] - m['random']:+.4f} mIoU (not worse on {wins} of {seeds} seeds); "
          f"hesitation - random {m['hesitation'] - m['random']:+.4f}\n", flush=True)
    return m


def curve(tmp: Path, name: str, seeds: int, epochs: int, steps: int) -> dict:
    """Learning curves: from ``start`` random labelled images, ``steps`` times ``add`` more, chosen by the
    product (ranked by the run trained on the labels so far) or at random; a fresh run on each set. Returns
    {arm: [[mIoU at each count] per seed]}."""
    masks, pool, test_images, test, settings, eval_kw, start_n, add_n = setup(tmp, name, epochs, "_curve")
    counts = [start_n + add_n * k for k in range(steps + 1)]
    print(f"## {name}: learning curves, {' -> '.join(map(str, counts))} labelled images, {epochs} epochs a run\n")
    print("| seed | arm | " + " | ".join(f"{c} images" for c in counts) + " |")
    print("|---|---|" + "---|" * len(counts))
    out = {"product": [], "random": []}
    for seed in range(seeds):
        rng = random.Random(seed)
        start = rng.sample(pool, start_n)

        def fit(labelled, tag):
            run = train(TrainConfig(data=str(folder(tmp, f"c{name}{seed}_{tag}", labelled, masks)),
                                    out=str(tmp / f"c{name}{seed}_r{tag}"), seed=seed, **settings))
            return run, evaluate_run(run, test, **eval_kw).miou

        base, base_score = fit(start, "base")
        for arm in out:
            labelled, run, scores, pick_rng = list(start), base, [base_score], random.Random(1000 + seed)
            for step in range(1, steps + 1):
                rest = [f for f in pool if f not in labelled]
                if arm == "product":
                    by_name = {f.name: f for f in rest}
                    picks = [by_name[r.image] for r in rank_images(Predictor(run), rest, labelled=labelled)[:add_n]]
                else:
                    picks = pick_rng.sample(rest, add_n)
                labelled += picks
                run, score = fit(labelled, f"{arm}{step}")
                scores.append(score)
            out[arm].append(scores)
            print(f"| {seed} | {arm} | " + " | ".join(f"{v:.4f}" for v in scores) + " |", flush=True)
    mean = {arm: np.mean(v, axis=0) for arm, v in out.items()}
    for arm, m in mean.items():
        print(f"| mean | {arm} | " + " | ".join(f"{v:.4f}" for v in m) + " |")
    gains = mean["product"] - mean["random"]
    wins = [sum(p[k] >= r[k] for p, r in zip(out["product"], out["random"])) for k in range(len(counts))]
    print("\nproduct - random: " + ", ".join(f"{c} images {g:+.4f} (not worse on {w} of {seeds})"
                                           for c, g, w in zip(counts[1:], gains[1:], wins[1:])))
    for arm, m in mean.items():
        print(f"gain per step, {arm}: " + ", ".join(f"{a} -> {b}: {m[k + 1] - m[k]:+.4f}"
                                                   for k, (a, b) in enumerate(zip(counts, counts[1:]))))
    print(flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="label next against random picks")
    ap.add_argument("--domains", default="camvid,membrane,nuclei", help=f"some of {', '.join(DOMAINS)}")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=12, help="epochs per run")
    ap.add_argument("--class-weights", default="",
                    help="also arms ranked with these weights on the classes an image adds (e.g. 0.5,1)")
    ap.add_argument("--curve", type=int, default=0, metavar="STEPS",
                    help="instead: learning curves of the product against random, STEPS additions (2: 4 -> 8 -> 12)")
    args, t0, results = ap.parse_args(), time.time(), {}
    print(f"# label-next benchmark {time.strftime('%Y-%m-%d %H:%M')}\n")
    if args.curve:
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.domains.split(","):
                curve(Path(tmp), name, args.seeds, args.epochs, args.curve)
        print(f"total {time.time() - t0:.0f} s")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.domains.split(","):
            results[name] = domain(Path(tmp), name, args.seeds, args.epochs,
                                   [float(v) for v in args.class_weights.split(",") if v])
    print("| domain | product - random | hesitation - random |\n|---|---|---|")
    for name, m in results.items():
        print(f"| {name} | {m['product'] - m['random']:+.4f} | {m['hesitation'] - m['random']:+.4f} |")
    print(f"\ntotal {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
