"""Objects on nuclei (issue #19): train on a few H&E tiles with the default recipe, then on the others count
and match the nuclei, with and without separating touching ones, against the plain connected components of
the same prediction. Prints figures; asserts nothing.

    python benchmarks/bench_objects.py [--set nuclei-he|gowt1|hela] [--budget 300] [--train 5]
                                       [--split spread|first] [--run RUN] [--tta] [--spacings 0.5,0.7,1.0]
                                       [--sure 0.8,0.9,0.95] [--big] [--recipe KEY=VALUE ...]

../shared/data/nuclei-he: 15 tiles of several tissues and stains (in file order: five pink connective-tissue
tiles, then purple ones). ``--train`` of them are trained on (20 % of those held out to choose the checkpoint,
as the app does), the others scored against ``instances/`` (one id per nucleus). ``--split spread`` (the
default) trains on tiles spread over the set (every third: a user labels a few images of the kinds they will
measure); ``--split first`` on the first ones only, so every scored tile is of a tissue and stain never seen. ``--run`` reuses
a run trained so (skips training). Each variant finds objects in the same predictions:

- connected components: the class's connected regions (holes filled, pieces under the minimum size dropped);
- split, distance (spacing S): touching nuclei separated by a watershed on the distance to the class's edge,
  one nucleus per peak of that distance, peaks at least S typical radii apart (0.7 is the default);
- split, distance x probability: the same distance weighed by the nucleus probability;
- faint left out (C): objects where the nucleus probability reaches C nowhere are not counted (``--sure``; the
  product's default is ``ObjectSettings.min_confidence``).

``--recipe KEY=VALUE`` (repeatable) trains with a ``TrainConfig`` field changed (a JSON value or a word), e.g.
``--recipe freeze_depth=0`` to compare a recipe change on objects.

``--set gowt1`` or ``hela``: the Cell Tracking Challenge frames of ``../shared/data/fluo-ctc/`` (GOWT1 8-bit,
HeLa 16-bit, read as they are: 16-bit by the run's fixed ranges), each frame cut into its four quadrants (few
frames: 6 and 4); ``--train`` quadrants spread over the frames are trained on, the quadrants of the frames none
of them comes from are scored (no frame in both), against ``instances/`` (nuclei > 0 is the class mask).

Each variant twice: on the run's predictions, and on the true class masks (masks/), which shows what the
object step does on a perfect prediction, apart from the model's errors.

Scores: object F1 at IoU 0.5 (matches summed over the images), mean IoU of the matched pairs, median and
mean count error per image, seconds per image for finding and measuring the objects; for the fluo-ctc sets
(scored per quadrant, 5-10 nuclei each, so one nucleus moves a quadrant's error by 10-20 %) also the median
count error per whole frame (its quadrants summed). ``--big``: also time a
synthetic 2048x2048 mask of about 3000 objects (labelling and measuring, with and without separation).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

warnings.filterwarnings("ignore")

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NUCLEI = ROOT.parent / "shared" / "data" / "nuclei-he"
FLUO = ROOT.parent / "shared" / "data" / "fluo-ctc"

from seg_core import train  # noqa: E402
from seg_core.data.imageio import read_image  # noqa: E402
from seg_core.infer.postprocess import resolve  # noqa: E402
from seg_core.infer.predictor import Predictor  # noqa: E402
from seg_core.objects.faint import resolve_min_confidence  # noqa: E402
from seg_core.objects.folder import read_instances  # noqa: E402
from seg_core.runs.config import build_config  # noqa: E402
from seg_core.objects.instances import label_objects  # noqa: E402
from seg_core.objects.matching import Match, match_objects  # noqa: E402
from seg_core.objects.measure import measure_objects  # noqa: E402
from seg_core.objects.settings import ObjectSettings  # noqa: E402
from seg_core.runs.folder import Run  # noqa: E402


def training_folder(out: Path, images: list[Path], masks: Path = NUCLEI / "masks") -> Path:
    for sub in ("images", "masks"):
        (out / sub).mkdir(parents=True)
    for im in images:
        (out / "images" / im.name).symlink_to(im.resolve())
        (out / "masks" / f"{im.stem}.png").symlink_to((masks / f"{im.stem}.png").resolve())
    return out


def fluo_quadrants(name: str, out: Path) -> Path:
    """The frames of fluo-ctc/<name> cut into quadrants: ``out/images/<frame>_q<k>.tif`` (as stored: 8 or 16
    bits), ``out/masks/*.png`` (nuclei 1) and ``out/instances/*.tif``; returns ``out``."""
    import tifffile

    for sub in ("images", "masks", "instances"):
        (out / sub).mkdir(parents=True)
    for f in sorted((FLUO / name / "images").glob("*.tif")):
        image, inst = tifffile.imread(f), tifffile.imread(FLUO / name / "instances" / f.name)
        h, w = inst.shape
        for k, (r, c) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            part = np.s_[r * h // 2:(r + 1) * h // 2, c * w // 2:(c + 1) * w // 2]
            stem = f"{f.stem}_q{k}"
            tifffile.imwrite(out / "images" / f"{stem}.tif", image[part])
            tifffile.imwrite(out / "instances" / f"{stem}.tif", inst[part].astype(np.uint16))
            Image.fromarray((inst[part] > 0).astype(np.uint8)).save(out / "masks" / f"{stem}.png")
    return out


def variants(spacings: list[float], sure: list[float]) -> dict[str, tuple[ObjectSettings, bool]]:
    """name -> (settings, use the probabilities to separate)"""
    d = ObjectSettings()
    out = {"connected components": (replace(d, split_touching=False, min_confidence=0), False),
           f"connected components, faint left out ({d.min_confidence:g})": (replace(d, split_touching=False), False)}
    for h in spacings:
        out[f"split, distance (spacing {h:g})"] = (replace(d, split_spacing=h, min_confidence=0), False)
        out[f"split, distance x probability (spacing {h:g})"] = (replace(d, split_spacing=h, min_confidence=0), True)
    for c in sure:
        out[f"split (spacing {d.split_spacing:g}), faint left out ({c:g})"] = (replace(d, min_confidence=c), False)
    return out


def big_timing() -> None:
    from skimage.draw import ellipse

    rng = np.random.default_rng(0)
    mask = np.zeros((2048, 2048), np.uint8)
    for _ in range(3000):
        r, c = rng.integers(8, 2040, 2)
        rr, cc = ellipse(r, c, rng.integers(4, 10), rng.integers(4, 10), shape=mask.shape, rotation=rng.uniform(0, 3))
        mask[rr, cc] = 1
    image = rng.integers(0, 255, (2048, 2048, 3), dtype=np.uint8)
    for split in (False, True):
        t0 = time.perf_counter()
        objs = label_objects(mask, None, replace(ObjectSettings(), split_touching=split), 2)
        t1 = time.perf_counter()
        measure_objects(objs, image, ["background", "nucleus"], "big", 0.25)
        t2 = time.perf_counter()
        print(f"2048x2048, {len(objs)} objects, split {split}: objects {t1 - t0:.2f} s, measuring {t2 - t1:.2f} s")


def recipe_change(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` -> (key, value): VALUE read as JSON (numbers, null, lists), else as text, which
    ``build_config`` reads as the setting's own parser does (``img_size=256x256``, ``class_weights=none``)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise SystemExit(f"--recipe {text!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="nuclei-he", choices=("nuclei-he", "gowt1", "hela"),
                    help="nuclei-he: the H&E tiles; gowt1, hela: fluo-ctc frames cut into quadrants")
    ap.add_argument("--budget", type=float, default=300)
    ap.add_argument("--train", type=int, default=5)
    ap.add_argument("--split", choices=("spread", "first"), default="spread")
    ap.add_argument("--tta", action="store_true",
                    help="predict with flips averaged (default: as the run measured on its held-out images)")
    ap.add_argument("--run")
    ap.add_argument("--spacings", default="0.5,0.7,1.0",
                    help="spacings of separated objects to compare (in typical radii)")
    ap.add_argument("--sure", default="0.8,0.9,0.95",
                    help="least confidence an object needs somewhere inside (faint ones left out), to compare")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--recipe", action="append", default=[], metavar="KEY=VALUE",
                    help="train with this TrainConfig field changed (repeatable), e.g. freeze_depth=0")
    args = ap.parse_args()
    recipe = dict(recipe_change(r) for r in args.recipe)
    tmp = Path(tempfile.mkdtemp(prefix="bench_objects_"))
    src = NUCLEI if args.set == "nuclei-he" else fluo_quadrants(args.set, tmp / "quadrants")
    images = sorted(p for p in (src / "images").iterdir() if p.suffix in (".png", ".tif"))
    if args.split == "first":
        train_images = images[:args.train]
    else:
        train_images = [images[round(i)] for i in np.linspace(0, len(images) - 1, args.train, endpoint=False)]
    scored = [im for im in images if im not in train_images]
    if args.set != "nuclei-he":  # no frame both trained on and scored: its quadrants are one picture
        frames = {im.stem.rsplit("_q", 1)[0] for im in train_images}
        scored = [im for im in scored if im.stem.rsplit("_q", 1)[0] not in frames]
    print(f"trained on {', '.join(im.stem for im in train_images)}")
    if args.run:
        run = Run(Path(args.run))
    else:
        t0 = time.perf_counter()
        run = train(build_config(dict(data=str(training_folder(tmp / "data", train_images, src / "masks")),
                                      out=str(tmp / "run"), num_classes=2, time_budget=args.budget) | recipe))
        print(f"trained on {len(train_images)} tiles in {time.perf_counter() - t0:.0f} s (budget {args.budget:.0f} s)"
              + (f", recipe changed: {recipe}" if recipe else ""))
    print(f"run {run.path}: best validation mIoU {run.summary().get('best_val_miou')}")
    choice = resolve(run.postprocess, False, True if args.tta else None)  # flips as `measure` would use them
    print(f"predicting as `measure` does: {choice.reason}")
    print(f"objects counted as `measure` counts them: {resolve_min_confidence(run.postprocess)[1]}")
    pred = Predictor(run, tta=choice.tta)
    predicted = [(im, read_image(im), pred.predict(read_image(im))) for im in scored]
    print(f"scored on {len(scored)} unseen tiles ({', '.join(im.stem for im in scored)}), "
          f"{sum(len(np.unique(read_instances(src / 'instances', im.stem))) - 1 for im in scored)} true nuclei")
    true_masks = [(im, image, np.asarray(Image.open(src / "masks" / f"{im.stem}.png")).astype(np.uint8))
                  for im, image, _ in predicted]
    for title, masks in (("the run's predictions", [(im, image, p.mask, p.probs, p.top_probability())
                                                     for im, image, p in predicted]),
                         ("the true class masks (a perfect model)",
                          [(im, image, m, None, None) for im, image, m in true_masks])):
        print(f"\nobjects from {title}")
        print(f"{'variant':50} {'F1@0.5':>7} {'match IoU':>9} {'median cnt err':>14} {'mean cnt err':>12} {'s/img':>6}"
              + (f" {'per frame':>9}" if args.set != "nuclei-he" else ""))
        for name, (settings, use_probs) in variants([float(h) for h in args.spacings.split(",")],
                                                    [float(c) for c in args.sure.split(",")]).items():
            if (use_probs or settings.min_confidence) and masks[0][3] is None:
                continue
            total, errors, secs, frames = Match(0, 0, 0, [], 0, 0), [], [], {}
            for im, image, mask, probs, confidence in masks:
                t0 = time.perf_counter()
                objs = label_objects(mask, probs if use_probs else None, settings, 2, confidence)
                measure_objects(objs, image, run.classes.names, im.name)
                secs.append(time.perf_counter() - t0)
                m = match_objects(objs.labels, read_instances(src / "instances", im.stem))
                total += m
                errors.append(m.count_error)
                frame = im.stem.rsplit("_q", 1)[0]  # quadrants of one frame summed: a whole frame's count
                frames[frame] = frames.get(frame, Match(0, 0, 0, [], 0, 0)) + m
            print(f"{name:50} {total.f1:7.3f} {total.mean_iou or 0:9.3f} {np.median(errors):14.3f} "
                  f"{np.mean(errors):12.3f} {np.mean(secs):6.2f}"
                  + (f" {np.median([f.count_error for f in frames.values()]):9.3f}" if args.set != "nuclei-he" else ""))
    if args.big:
        big_timing()


if __name__ == "__main__":
    main()
