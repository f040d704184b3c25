"""Few-shot quality over several domains (issue #12), one table in one run. Prints figures; asserts nothing.

    python benchmarks/bench_quality.py [--budget 300] [--domains street,membrane,membrane-20,small-things,sample]
                                       [--seeds 1] [--variants plain,default,...] [--sizes 5,10,20]
                                       [--size-domains street,membrane]

Domains (the scored images are never used in training, labelled or not):

- street: ../shared/data/camvid-val (101 frames of one drive, in time order). The last 35 frames are scored;
  the 6 before them are left out (near-duplicates of both sides); of the first 60, every third frame is
  labelled (20) and the other 40 are the unlabelled pool. 11 classes, 11 = void.
- membrane: ../shared/data/membrane (30 EM slices): 10 labelled, 10 unlabelled, 10 scored. 2 classes.
- membrane-20: the same slices, 20 labelled (the first 20, no unlabelled pool), the same 10 scored: issue #39's
  "sets of 20 training images"; scored by the membranes' Dice (the nearest shared set to retinal vessels, thin
  structures).
- small-things: a stand-in for tile defects made from camvid-val's frames in gray (the same split as street):
  rare small and thin things (poles, signs, pedestrians, cyclists: about 4 % of the pixels) against everything
  else, void unlabelled; scored by the small things' Dice.
- sample: the bundled data/ (synthetic tissue): 6 labelled, the 2 new images unlabelled, 4 scored. 3 classes.

Variants, each the same CPU budget (seconds of training; validation and the post-processing measurement
come on top for seg_core):

- plain: a plain smp loop (benchmarks/plain_loop.py: U-Net, lite0, AdamW 1e-3, batch 4, flips, CE) on the whole
  images resized to the domain's size;
- default: seg_core's default recipe (20 % of the labels held out to choose the checkpoint, the training crop
  chosen from the images as the app and the command line choose it);
- default + post: the same run predicting with what it measured on its held-out images (CRF, flips);
- default + post, lean as trained: the same, with the class weights' lean it measured and took back restored
  (``seg_core.infer.balance``; the same figure when it took nothing back);
- all labels: no validation split, the last weights;
- all labels + EMA: no validation split, an exponential moving average of the weights;
- colours as they are: the default without evening out each image's colours;
- nothing frozen: the default with every encoder stage training from the first step (``freeze_depth`` 0).
- upright: the default without its check of which way up (``orientation`` "upright": left-right flips only);
- any way round: all eight orientations (both flips, quarter turns) from the first step (``orientation`` "any").

(The unlabelled images were a variant too, "learn from unlabelled images" by a mean teacher's confident
pseudo-labels: it lost on every domain, 0.74x street, 0.94x membrane, 1.00x sample, and was removed in
issue #22. The pools stay, for ``--sizes``.)

Scores: mIoU on the scored images (and the ratio to the plain loop); membrane-20 and small-things: the Dice of
their one foreground class (``dice`` in the domain), as issue #39 scores vessels and defects.

With ``--sizes``, a second table per domain of ``--size-domains``: with 5, 10, 20 ... labelled images drawn
evenly from the domain's training pool (labelled and unlabelled images), is it better to hold 20 % out to
choose the checkpoint, to train on all and keep the last weights or their moving average, or to spend the
budget on a 3-fold choice of how long to train (3 trainings of a quarter of the budget each, scored on their
left-out fold at every validation) and then train on all for that long?
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

import cv2
import numpy as np
import torch

import plain_loop  # benchmarks/ is on sys.path when this script runs
from seg_core import TrainConfig, evaluate_run, scan_dataset, train
from seg_core.infer.balance import KEY as BALANCE_KEY, Balance, fold
from seg_core.infer.crf import CRFParams
from seg_core.infer.evaluation import evaluate_pairs
from seg_core.infer.postprocess import resolve
from seg_core.runs.folder import Run
from seg_core.training.crop_size import auto_img_size

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

AS_TRAINED = "default + post, lean as trained"  # the same run without the class balance it measured
VARIANTS = {  # name -> TrainConfig overrides ("plain" and "default + post" are handled apart)
    "default": {},
    "all labels": {"val_fraction": 0.0},
    "all labels + EMA": {"val_fraction": 0.0, "ema": True},
    "colours as they are": {"even_colours": False},
    "nothing frozen": {"freeze_depth": 0},
    "upright": {"orientation": "upright"},  # no check of which way up (the default before 2026-12-07)
    "any way round": {"orientation": "any"},  # all eight orientations from the start
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


SMALL_THINGS = (2, 6, 9, 10)  # camvid: pole, sign symbol, pedestrian, bicyclist (11 = void)


def small_things_folder(out: Path, frames: list[Path], masks: Path) -> Path:
    """camvid ``frames`` in gray, with index masks of 1 for the small things, 0 else, 255 void."""
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    for f in frames:
        cv2.imwrite(str(out / "images" / f.name), cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2GRAY))
        m = cv2.imread(str(masks / f.name), cv2.IMREAD_UNCHANGED)
        y = np.isin(m, SMALL_THINGS).astype(np.uint8)
        y[m == 11] = 255
        cv2.imwrite(str(out / "masks" / f.name), y)
    return out


def domains(tmp: Path) -> dict[str, dict]:
    """name -> {train, unlabelled, test (folders), ignore, size, masks (the source masks), classes, binary,
    dice (the class whose Dice scores the domain; absent: mIoU)}."""
    out = {}
    src = SHARED / "camvid-val"
    if src.is_dir():
        frames = sorted((src / "images").glob("*.png"))
        pool, test = frames[:60], frames[-35:]
        lab = pool[::3]
        unl = [f for f in pool if f not in lab]
        out["street"] = dict(train=link_folder(tmp / "st_train", lab, src / "masks"),
                             unlabelled=link_folder(tmp / "st_unl", unl, None),
                             test=link_folder(tmp / "st_test", test, src / "masks"), ignore=11, size=(352, 480),
                             masks=src / "masks")
        gray = small_things_folder(tmp / "sm_all", pool + test, src / "masks")
        classes = {"classes": [{"name": "background"}, {"name": "small things"}], "unlabelled": 255}
        out["small-things"] = dict(train=link_folder(tmp / "sm_train", [gray / "images" / f.name for f in lab],
                                                     gray / "masks", classes),
                                   unlabelled=link_folder(tmp / "sm_unl", [gray / "images" / f.name for f in unl],
                                                          None),
                                   test=link_folder(tmp / "sm_test", [gray / "images" / f.name for f in test],
                                                    gray / "masks", classes),
                                   ignore=255, size=(352, 480), masks=gray / "masks", classes=classes,
                                   dice="small things")
    src = SHARED / "membrane"
    if src.is_dir():
        sl = sorted((src / "images").glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else p.stem)
        classes = {"classes": [{"name": "membrane"}, {"name": "cell"}], "unlabelled": 255}
        out["membrane"] = dict(train=link_folder(tmp / "mb_train", sl[:10], src / "masks", classes, binary=True),
                               unlabelled=link_folder(tmp / "mb_unl", sl[10:20], None),
                               test=link_folder(tmp / "mb_test", sl[20:], src / "masks", classes, binary=True),
                               ignore=255, size=(512, 512), masks=src / "masks", classes=classes, binary=True)
        out["membrane-20"] = dict(out["membrane"], train=link_folder(tmp / "mb20_train", sl[:20], src / "masks",
                                                                     classes, binary=True),
                                  unlabelled=link_folder(tmp / "mb20_unl", [], None), dice="membrane")
    src = ROOT / "data"
    imgs = sorted((src / "images").glob("*.png"))
    cls = json.loads((src / "classes.json").read_text())
    out["sample"] = dict(train=link_folder(tmp / "sa_train", imgs[:6], src / "masks", cls),
                         unlabelled=link_folder(tmp / "sa_unl", sorted((src / "new").glob("*.png")), None),
                         test=link_folder(tmp / "sa_test", imgs[6:], src / "masks", cls), ignore=255,
                         size=None, masks=src / "masks", classes=cls)
    return out


def score(scores, d: dict) -> float:
    """The domain's score of an evaluation (``Scores`` or its dict): the Dice of its ``dice`` class, else mIoU."""
    s = scores if isinstance(scores, dict) else scores.to_json()
    if not d.get("dice"):
        return float(s["miou"])
    k = [c["name"] for c in d["classes"]["classes"]].index(d["dice"])  # per class, in class order
    return float(list(s["per_class_dice"].values())[k])


def run_domain(name: str, d: dict, budget: float, seed: int, tmp: Path, variants: list[str]) -> dict[str, float]:
    ds = scan_dataset(d["train"], ignore_index=d["ignore"])
    size = d["size"] or auto_img_size(ds, ds.labelled)
    test = scan_dataset(d["test"], ignore_index=d["ignore"], classes=ds.classes)
    res: dict[str, float] = {}
    if "plain" in variants:
        model, _ = plain_loop.train_plain(ds.load_pairs(), ds.num_classes, budget, size, seed=seed)
        res["plain"] = score(evaluate_pairs(model, test.load_pairs(), ds.num_classes), d)
        print(f"  {name} plain: {res['plain']:.4f}", flush=True)
    for v in variants:
        if v not in VARIANTS:
            continue
        kw = dict(VARIANTS[v])
        out = tmp / "runs" / f"{name}_{v.replace(' ', '_').replace('+', 'p')}_{seed}"
        t = time.time()
        run = train(TrainConfig(data=str(d["train"]), out=str(out), ignore_index=d["ignore"], time_budget=budget,
                                seed=seed, **kw))  # its crop as the product chooses it (training/crop_size.py)
        wall = time.time() - t
        res[v] = score(evaluate_run(run, d["test"], ignore_index=d["ignore"]), d)
        print(f"  {name} {v}: {res[v]:.4f} ({wall:.0f} s wall)", flush=True)
        if v == "default":
            c = resolve(run.postprocess)
            res["default + post"] = score(evaluate_run(run, d["test"], ignore_index=d["ignore"], tta=c.tta,
                                                       crf=CRFParams() if c.crf else None), d)
            res["default + CRF + flips (always)"] = score(evaluate_run(run, d["test"], ignore_index=d["ignore"],
                                                                       tta=True, crf=CRFParams()), d)
            print(f"  {name} default + post ({c.reason}): {res['default + post']:.4f}; always CRF+flips "
                  f"{res['default + CRF + flips (always)']:.4f}", flush=True)
            as_trained = lean_as_trained(run, out.with_name(out.name + "_as_trained"))
            res[AS_TRAINED] = res["default + post"] if as_trained is None else score(evaluate_run(
                as_trained, d["test"], ignore_index=d["ignore"], tta=c.tta, crf=CRFParams() if c.crf else None), d)
            print(f"  {name} class balance: {(run.postprocess or {}).get(BALANCE_KEY, {}).get('reason')}; "
                  f"{AS_TRAINED}: {res[AS_TRAINED]:.4f}", flush=True)
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(out.with_name(out.name + "_as_trained"), ignore_errors=True)
    return res


def lean_as_trained(run: Run, out: Path) -> Run | None:
    """A copy of ``run`` at ``out`` with the class weights' lean it took back restored (its last layer as trained,
    ``seg_core.infer.balance``), to score what the measured balance changed; None when it took nothing back."""
    b = (run.postprocess or {}).get(BALANCE_KEY)
    if not b or not b.get("strength"):
        return None
    shutil.copytree(run.path, out)
    model = run.load_model("cpu")
    fold(model, Balance(-b["strength"], "", tuple(b["weights"])))
    copy = Run(out)
    copy.save_checkpoint(model)
    return copy


def labelled_folder(out: Path, images: list[Path], domain: dict) -> Path:
    """A data set folder of ``images`` with their masks from the domain's source (its classes, binary reading)."""
    return link_folder(out, images, domain["masks"], domain.get("classes"), binary=domain.get("binary", False))


def kfold_then_all(data: Path, lab: list[Path], domain: dict, budget: float, seed: int, tmp: Path,
                   k: int = 3) -> tuple[float, Run]:
    """The k-fold arm: k trainings on (k-1)/k of the labels, each scored on its left-out fold at every
    validation, choose the share of the budget at which the mean fold score peaks, then train on all labels
    for that long and keep the last weights. The k + 1 trainings share the one budget (budget / (k + 1) each
    at most), so the choice is paid for. Returns (the share chosen, the final run)."""
    each = budget / (k + 1)
    grid = np.linspace(0.1, 1.0, 10)
    curves = []
    for f in range(k):
        held = lab[f::k]
        fold_train = labelled_folder(tmp / f"kf_tr_{f}", [p for p in lab if p not in held], domain)
        fold_val = labelled_folder(tmp / f"kf_va_{f}", held, domain)
        out = tmp / "runs" / f"kf_{f}"
        run = train(TrainConfig(data=str(fold_train), val_data=str(fold_val), out=str(out),
                                ignore_index=domain["ignore"], img_size=tuple(domain["size"]), time_budget=each,
                                seed=seed, val_interval_s=each / 8))
        rows = [(float(r["elapsed_s"]) / each, float(r["val_miou"])) for r in run.history()
                if r.get("val_miou") not in (None, "")]
        # the score at each point of the grid: the last validation at or before it (0 before the first)
        curves.append([([m for t, m in rows if t <= g + 1e-6] or [0.0])[-1] for g in grid])
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(fold_train, ignore_errors=True)
        shutil.rmtree(fold_val, ignore_errors=True)
    share = float(grid[int(np.argmax(np.mean(curves, axis=0)))])
    out = tmp / "runs" / "kf_all"
    run = train(TrainConfig(data=str(data), out=str(out), ignore_index=domain["ignore"], img_size=tuple(domain["size"]),
                            time_budget=each * share, seed=seed, val_fraction=0.0))
    return share, run


def validation_by_size(name: str, domain: dict, tmp: Path, budget: float, sizes: list[int], seed: int) -> None:
    """With 5, 10, 20 ... labelled images of a domain (spread evenly over its pool of labelled and unlabelled
    training images; scored on its test images): hold 20 % out to choose the checkpoint (the default), train on
    all and keep the last weights or their moving average, or a 3-fold choice of how long to train, then all."""
    pool = sorted(p for p in (domain["train"] / "images").iterdir())
    pool += sorted(p for p in (domain["unlabelled"] / "images").iterdir())
    pool = sorted(pool, key=lambda p: p.name)
    size = domain["size"] or (256, 256)
    domain = dict(domain, size=size)
    arms = {"20 % held out": {"val_fraction": 0.2}, "all, last weights": {"val_fraction": 0.0},
            "all, EMA": {"val_fraction": 0.0, "ema": True}, "3-fold chooses the length, then all": None}
    print(f"\n## Validation split or not, by the number of labelled images ({name}, {budget:.0f} s each)\n")
    print("| labelled images | " + " | ".join(arms) + " |\n|---|" + "---|" * len(arms), flush=True)
    for n in sizes:
        if n > len(pool):
            continue
        lab = [pool[int(i)] for i in np.linspace(0, len(pool) - 1, n)]
        data = labelled_folder(tmp / f"vs_{name}_{n}_{seed}", lab, domain)
        cells = []
        for arm, kw in arms.items():
            if kw is None:
                share, run = kfold_then_all(data, lab, domain, budget, seed, tmp)
                score = evaluate_run(run, domain["test"], ignore_index=domain["ignore"]).miou
                cells.append(f"{score:.4f} (then {share * budget / 4:.0f} s on all)")
                shutil.rmtree(run.path, ignore_errors=True)
                continue
            out = tmp / "runs" / f"vs_{name}_{n}_{len(cells)}_{seed}"
            run = train(TrainConfig(data=str(data), out=str(out), ignore_index=domain["ignore"], img_size=tuple(size),
                                    time_budget=budget, seed=seed, **kw))
            cells.append(f"{evaluate_run(run, domain['test'], ignore_index=domain['ignore']).miou:.4f}")
            shutil.rmtree(out, ignore_errors=True)
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=300, help="training seconds per variant")
    ap.add_argument("--domains", default="street,membrane,sample")
    ap.add_argument("--variants", default="plain," + ",".join(VARIANTS))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--sizes", default="", help="also: validation split or not, for these numbers of labelled "
                                                "images (e.g. 5,10,20) in each of --size-domains")
    ap.add_argument("--size-domains", default="street,membrane")
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
    order = ["plain", "default", "default + post", AS_TRAINED, "default + CRF + flips (always)", *VARIANTS]
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
    print("\nmIoU on the scored images (membrane-20, small-things: the Dice of the membranes, of the small things; "
          "mean over seeds; in brackets the ratio to the plain loop).")
    if args.sizes:
        for name in args.size_domains.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                d = domains(Path(tmp)).get(name)
                if d is None:
                    print(f"  {name}: data not found, skipped")
                    continue
                validation_by_size(name, d, Path(tmp), args.budget, [int(v) for v in args.sizes.split(",")], 0)
    print(f"\ntotal {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
