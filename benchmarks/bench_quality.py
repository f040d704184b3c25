"""Few-shot quality over several domains (issue #12), one table in one run. Prints figures; asserts nothing.

    python benchmarks/bench_quality.py [--budget 300] [--domains street,membrane,sample] [--seeds 1]
                                       [--variants plain,default,...] [--sizes 5,10,20]

Domains (the scored images are never used in training, labelled or not):

- street: ../shared/data/camvid-val (101 frames of one drive, in time order). The last 35 frames are scored;
  the 6 before them are left out (near-duplicates of both sides); of the first 60, every third frame is
  labelled (20) and the other 40 are the unlabelled pool. 11 classes, 11 = void.
- membrane: ../shared/data/membrane (30 EM slices): 10 labelled, 10 unlabelled, 10 scored. 2 classes.
- sample: the bundled data/ (synthetic tissue): 6 labelled, the 2 new images unlabelled, 4 scored. 3 classes.

Variants, each the same CPU budget (seconds of training; validation and the post-processing measurement
come on top for seg_core):

- plain: a plain smp loop (benchmarks/plain_loop.py: U-Net, lite0, AdamW 1e-3, batch 4, flips, CE);
- default: seg_core's default recipe (20 % of the labels held out to choose the checkpoint);
- default + post: the same run predicting with what it measured on its held-out images (CRF, flips);
- all labels: no validation split, the last weights;
- all labels + EMA: no validation split, an exponential moving average of the weights;
- unlabelled: the default recipe plus the unlabelled images (mean teacher, confident pseudo-labels);
- all + EMA + unlabelled.

Scores: mIoU on the scored images (and the ratio to the plain loop).
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import numpy as np
import torch

import plain_loop  # benchmarks/ is on sys.path when this script runs
from seg_core import TrainConfig, evaluate_run, scan_dataset, train
from seg_core.crf import CRFParams
from seg_core.evaluation import evaluate_pairs
from seg_core.postprocess import resolve
from seg_core.training_data import auto_img_size

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

VARIANTS = {  # name -> TrainConfig overrides ("plain" and "default + post" are handled apart)
    "default": {},
    "all labels": {"val_fraction": 0.0},
    "all labels + EMA": {"val_fraction": 0.0, "ema": True},
    "unlabelled": {"unlabelled": True},
    "all + EMA + unlabelled": {"val_fraction": 0.0, "ema": True, "unlabelled": True},
}


def link_folder(out: Path, images: list[Path], masks: Path | None, classes: dict | None = None,
                binary: bool = False) -> Path:
    """A data set folder of ``images`` (symlinks) and, with ``masks``, their masks (``binary``: 0/255 read as
    0/1, written as index PNGs)."""
    (out / "images").mkdir(parents=True)
    if masks is not None:
        (out / "masks").mkdir()
    for im in images:
        (out / "images" / im.name).symlink_to(im.resolve())
        if masks is not None:
            m = masks / im.name
            if binary:
                from PIL import Image

                Image.fromarray((np.array(Image.open(m).convert("L")) > 127).astype(np.uint8)).save(
                    out / "masks" / im.name)
            else:
                (out / "masks" / im.name).symlink_to(m.resolve())
    if classes:
        (out / "classes.json").write_text(json.dumps(classes))
    return out


def domains(tmp: Path) -> dict[str, dict]:
    """name -> {train, unlabelled, test (folders), ignore, size}."""
    out = {}
    src = SHARED / "camvid-val"
    if src.is_dir():
        frames = sorted((src / "images").glob("*.png"))
        pool, test = frames[:60], frames[-35:]
        lab = pool[::3]
        unl = [f for f in pool if f not in lab]
        out["street"] = dict(train=link_folder(tmp / "st_train", lab, src / "masks"),
                             unlabelled=link_folder(tmp / "st_unl", unl, None),
                             test=link_folder(tmp / "st_test", test, src / "masks"), ignore=11, size=(352, 480))
    src = SHARED / "membrane"
    if src.is_dir():
        sl = sorted((src / "images").glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else p.stem)
        classes = {"classes": [{"name": "membrane"}, {"name": "cell"}], "unlabelled": 255}
        out["membrane"] = dict(train=link_folder(tmp / "mb_train", sl[:10], src / "masks", classes, binary=True),
                               unlabelled=link_folder(tmp / "mb_unl", sl[10:20], None),
                               test=link_folder(tmp / "mb_test", sl[20:], src / "masks", classes, binary=True),
                               ignore=255, size=(512, 512))
    src = ROOT / "data"
    imgs = sorted((src / "images").glob("*.png"))
    cls = json.loads((src / "classes.json").read_text())
    out["sample"] = dict(train=link_folder(tmp / "sa_train", imgs[:6], src / "masks", cls),
                         unlabelled=link_folder(tmp / "sa_unl", sorted((src / "new").glob("*.png")), None),
                         test=link_folder(tmp / "sa_test", imgs[6:], src / "masks", cls), ignore=255,
                         size=None)
    return out


def run_domain(name: str, d: dict, budget: float, seed: int, tmp: Path, variants: list[str]) -> dict[str, float]:
    ds = scan_dataset(d["train"], ignore_index=d["ignore"])
    size = d["size"] or auto_img_size(ds)
    test = scan_dataset(d["test"], ignore_index=d["ignore"], classes=ds.classes)
    res: dict[str, float] = {}
    if "plain" in variants:
        model, _ = plain_loop.train_plain(ds.load_pairs(), ds.num_classes, budget, size, seed=seed)
        res["plain"] = evaluate_pairs(model, test.load_pairs(), ds.num_classes)["miou"]
        print(f"  {name} plain: {res['plain']:.4f}", flush=True)
    for v in variants:
        if v not in VARIANTS:
            continue
        kw = dict(VARIANTS[v])
        if kw.pop("unlabelled", False):
            kw["unlabelled"] = str(d["unlabelled"])
        out = tmp / "runs" / f"{name}_{v.replace(' ', '_').replace('+', 'p')}_{seed}"
        t = time.time()
        run = train(TrainConfig(data=str(d["train"]), out=str(out), ignore_index=d["ignore"], img_size=tuple(size),
                                time_budget=budget, seed=seed, **kw))
        wall = time.time() - t
        res[v] = evaluate_run(run, d["test"], ignore_index=d["ignore"])["miou"]
        print(f"  {name} {v}: {res[v]:.4f} ({wall:.0f} s wall)", flush=True)
        if v == "default":
            c = resolve(run.postprocess)
            res["default + post"] = evaluate_run(run, d["test"], ignore_index=d["ignore"], tta=c.tta,
                                                 crf=CRFParams() if c.crf else None)["miou"]
            res["default + CRF + flips (always)"] = evaluate_run(run, d["test"], ignore_index=d["ignore"], tta=True,
                                                                 crf=CRFParams())["miou"]
            print(f"  {name} default + post ({c.reason}): {res['default + post']:.4f}; always CRF+flips "
                  f"{res['default + CRF + flips (always)']:.4f}", flush=True)
        shutil.rmtree(out, ignore_errors=True)
    return res


def validation_by_size(tmp: Path, budget: float, sizes: list[int], seed: int) -> None:
    """Street scenes with 5, 10, 20 labelled frames: hold 20 % out to choose the checkpoint (the default),
    or train on all of them and keep the last weights, or their moving average. (A k-fold choice of the step
    count is not measured: it needs k + 1 trainings in the same budget.)"""
    src = SHARED / "camvid-val"
    if not src.is_dir():
        return
    frames = sorted((src / "images").glob("*.png"))
    pool, test = frames[:60], link_folder(tmp / "vs_test", frames[-35:], src / "masks")
    arms = {"20 % held out (default)": {}, "all, last weights": {"val_fraction": 0.0},
            "all, EMA": {"val_fraction": 0.0, "ema": True}}
    print(f"\n## Validation split or not, by the number of labelled frames (street, {budget:.0f} s each)\n")
    print("| labelled frames | " + " | ".join(arms) + " |\n|---|" + "---|" * len(arms), flush=True)
    for n in sizes:
        lab = [pool[int(i)] for i in np.linspace(0, len(pool) - 1, n)]
        data = link_folder(tmp / f"vs_{n}_{seed}", lab, src / "masks")
        cells = []
        for arm, kw in arms.items():
            out = tmp / "runs" / f"vs_{n}_{len(cells)}_{seed}"
            run = train(TrainConfig(data=str(data), out=str(out), ignore_index=11, img_size=(352, 480),
                                    time_budget=budget, seed=seed, **kw))
            cells.append(f"{evaluate_run(run, test, ignore_index=11)['miou']:.4f}")
            shutil.rmtree(out, ignore_errors=True)
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=300, help="training seconds per variant")
    ap.add_argument("--domains", default="street,membrane,sample")
    ap.add_argument("--variants", default="plain," + ",".join(VARIANTS))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--sizes", default="", help="also: validation split or not, for these numbers of labelled "
                                                "street frames (e.g. 5,10,20)")
    args = ap.parse_args()
    variants = args.variants.split(",")
    print(f"# quality benchmark {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}; {args.budget:.0f} s per variant, "
          f"{args.seeds} seed(s)\n", flush=True)
    t0 = time.time()
    table: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ds = domains(tmp)
        for name in args.domains.split(","):
            if name not in ds:
                print(f"  {name}: data not found, skipped")
                continue
            for seed in range(args.seeds):
                for v, m in run_domain(name, ds[name], args.budget, seed, tmp, variants).items():
                    table.setdefault(name, {}).setdefault(v, []).append(m)
    order = ["plain", "default", "default + post", "default + CRF + flips (always)", *VARIANTS]
    cols = [v for v in dict.fromkeys(order) if any(v in t for t in table.values())]
    print("\n| domain | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for name, t in table.items():
        plain = np.mean(t["plain"]) if "plain" in t else None
        cells = []
        for v in cols:
            if v not in t:
                cells.append("")
                continue
            m = float(np.mean(t[v]))
            cells.append(f"{m:.4f}" + (f" ({m / plain:.2f}x)" if plain and v != "plain" else ""))
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nmIoU on the scored images (mean over seeds; in brackets the ratio to the plain loop).")
    if args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            validation_by_size(Path(tmp), args.budget, [int(v) for v in args.sizes.split(",")], 0)
    print(f"\ntotal {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
