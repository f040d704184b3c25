"""Intensities as measured (issue #35, item 3): 16-bit fluorescence read by the run's fixed per-channel ranges
against the same images converted to 8 bits by each image's own 0.5-99.5 % stretch (what every run read before).
Prints figures; asserts nothing.

    python benchmarks/bench_channels.py [--budget 120 | --epochs 8] [--empty 20] [--work DIR] [--only 16-bit]
                                        [--crops DIR]

``--work DIR`` keeps the images and runs there (default: a fresh temporary folder); a run already trained in
``DIR/<side>/run`` is reused, not trained again, so post-processing can be compared on the same run.

../shared/data/fluo-ctc/hela: 4 HeLa frames (16-bit, 700x1100) with one id per nucleus. Each is cut into
quadrants; the quadrants of the last two frames (crowded) are trained on (the default recipe, ``--budget``
seconds, or ``--epochs`` each: the same steps, on a machine too loaded for a budget to give both runs the same
share of it; 20 % held out as the app does), those of the first two (fewer cells) scored: object F1 at IoU 0.5 of
the connected objects (``ObjectSettings()``, touching nuclei separated) against the true nuclei; of the objects
found and counted false, those on the frame's edge over no true nucleus are counted apart (below: the truth
leaves such nuclei out). Then up to ``--empty`` 128x128 fields of the scored frames with no nucleus in view are
predicted alone, and the objects found in them counted: a field with nothing in view should give none.
``--crops DIR`` writes, for each object found there, a crop (outlined in red) and a line (the first 10 printed):
its size, the model's probability over it, its intensity against the field's background in noise sigmas.

A field with no nucleus in view: no pixel of any true nucleus, and not touching the frame's edge. The true
nuclei of these frames leave out the nuclei cut by the frame's edge (1-2 of them are labelled per frame, 3-30
left out): a field on the edge can hold part of a real, bright nucleus with no label (until 2026-12-05 such
fields were taken, and the 3 objects found in 20 of them were 3 such nuclei: 113-356 pixels, 62-71 noise sigmas
above the background, benchmarks/results/2026-12-05-bench_channels.md). Fields are taken from a grid of steps
of a quarter field, left to right and top to bottom, none overlapping one taken before.

The two runs see the same pixels: "16-bit" reads the TIFFs as stored (the run keeps ``input_normalisation``),
"8-bit" reads PNGs written from them by the old per-image stretch (``imageio.read_image`` without ranges).
The issue's target compares with 8-bit files converted by the data's authors; these frames have none.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import numpy as np
import tifffile
from PIL import Image
from scipy.ndimage import binary_erosion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HELA = ROOT.parent / "shared" / "data" / "fluo-ctc" / "hela"

from seg_core import TrainConfig, train  # noqa: E402
from seg_core.data.imageio import read_image  # noqa: E402
from seg_core.infer.predictor import Predictor  # noqa: E402
from seg_core.objects.instances import label_objects  # noqa: E402
from seg_core.objects.matching import Match, match_objects  # noqa: E402
from seg_core.objects.settings import ObjectSettings  # noqa: E402
from seg_core.runs.folder import Run  # noqa: E402

FIELD = 128
SHOWN = 10  # objects in empty fields described at most, per side (``--crops``: every one's crop is written)


def quadrants(a: np.ndarray) -> list[np.ndarray]:
    h, w = a.shape[0] // 2, a.shape[1] // 2
    return [a[:h, :w], a[:h, w:], a[h:, :w], a[h:, w:]]


def unlabelled_at_frame_edge(labels: np.ndarray, truth: np.ndarray, quadrant: int) -> int:
    """Objects of ``labels`` (a quadrant's) touching the frame's edge (not the quadrant's cut) with under a tenth
    of their pixels on a true nucleus: nuclei the truth leaves out, counted false by the object F1."""
    top, left = quadrant in (0, 1), quadrant in (0, 2)
    edge = labels[0] if top else labels[-1], labels[:, 0] if left else labels[:, -1]
    ids = np.setdiff1d(np.concatenate(edge), [0])
    return sum(int((truth[labels == i] > 0).mean() < 0.1) for i in ids)


def empty_fields(image: np.ndarray, instances: np.ndarray, most: int) -> list[np.ndarray]:
    """Up to ``most`` FIELD x FIELD windows without a pixel of any true nucleus, not touching the frame's edge
    (where the truth leaves nuclei out) and not overlapping each other; from a grid of FIELD / 4 steps."""
    out, taken = [], np.zeros(image.shape, bool)
    step, h, w = FIELD // 4, image.shape[0], image.shape[1]
    for r in range(step, h - FIELD, step):
        for c in range(step, w - FIELD, step):
            window = (slice(r, r + FIELD), slice(c, c + FIELD))
            if len(out) < most and not instances[window].any() and not taken[window].any():
                out.append(image[window])
                taken[window] = True
    return out


def describe_objects(raw: np.ndarray, objects, top: np.ndarray, folder: Path, name: str) -> list[str]:
    """One line per object found in an empty field: its size, the model's mean and highest probability over it,
    its mean intensity against the field's background (the pixels of no object: median, and sigma from the
    median absolute deviation); and a crop of the field around it, its outline in red, as ``<name>_<i>.png``."""
    raw = raw.astype(np.float64)
    bg = raw[objects.labels == 0]
    med = float(np.median(bg))
    sigma = max(1.4826 * float(np.median(np.abs(bg - med))), 1e-9)
    lo, hi = np.percentile(raw, [0.5, 99.5])
    lines = []
    for i in range(1, len(objects) + 1):
        m = objects.labels == i
        ys, xs = np.nonzero(m)
        lines.append(f"  {name} object {i}: {int(m.sum())} px at rows {ys.min()}-{ys.max()}, columns {xs.min()}-"
                     f"{xs.max()}; probability mean {top[m].mean():.3f}, highest {top[m].max():.3f}; intensity "
                     f"{raw[m].mean():.0f} against the background's {med:.0f} ({(raw[m].mean() - med) / sigma:+.1f} "
                     f"noise sigmas of {sigma:.1f})")
        y0, x0 = max(0, ys.min() - 16), max(0, xs.min() - 16)
        crop = (slice(y0, ys.max() + 17), slice(x0, xs.max() + 17))
        gray = (np.clip((raw[crop] - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(np.uint8)
        rgb = np.repeat(gray[..., None], 3, -1)
        rgb[m[crop] & ~binary_erosion(m[crop])] = (255, 0, 0)
        Image.fromarray(rgb).resize((rgb.shape[1] * 4, rgb.shape[0] * 4), Image.NEAREST).save(
            folder / f"{name}_{i}.png")
    return lines


def write(folder: Path, name: str, image: np.ndarray, eight_bit: bool) -> Path:
    """The 16-bit crop as a TIFF, or as the old per-image stretch made it, as an 8-bit gray PNG."""
    tif = folder / f"{name}.tif"
    tifffile.imwrite(tif, np.ascontiguousarray(image))
    if not eight_bit:
        return tif
    png = folder / f"{name}.png"
    Image.fromarray(read_image(tif)[..., 0]).save(png)
    tif.unlink()
    return png


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=120)
    ap.add_argument("--epochs", type=int, help="train this many epochs instead of --budget seconds")
    ap.add_argument("--empty", type=int, default=20)
    ap.add_argument("--work", type=Path, help="keep images and runs here; reuse a run trained here before")
    ap.add_argument("--only", choices=("16-bit", "8-bit"), help="one side only")
    ap.add_argument("--crops", type=Path, help="describe each object found in an empty field, its crop here")
    args = ap.parse_args()
    frames = sorted((HELA / "images").glob("*.tif"))
    train_frames, scored_frames = frames[2:], frames[:2]  # the later, crowded frames teach; the early ones have room
    tmp = args.work or Path(tempfile.mkdtemp(prefix="bench_channels_"))
    settings = ObjectSettings()
    print(f"trained on the quadrants of {', '.join(f.stem for f in train_frames)}; scored on those of "
          f"{', '.join(f.stem for f in scored_frames)}; "
          + (f"{args.epochs} epochs each" if args.epochs else f"budget {args.budget:.0f} s each"))
    print(f"{'images':8} {'F1@0.5':>7} {'true':>5} {'found':>6} {'false':>5} {'unlabelled at frame edge':>24} "
          f"{'empty fields':>12} {'objects there':>13} {'train s':>8} {'steps':>6}")
    for label, eight in (("16-bit", False), ("8-bit", True)):
        if args.only and label != args.only:
            continue
        data = tmp / label / "data"
        for sub in ("images", "masks", "scored", "empty"):
            (data / sub).mkdir(parents=True, exist_ok=True)
        for f in train_frames:
            for q, (img, inst) in enumerate(zip(quadrants(tifffile.imread(f)),
                                                quadrants(tifffile.imread(HELA / "instances" / f.name)))):
                stem = f"{f.stem}_q{q}"
                write(data / "images", stem, img, eight)
                Image.fromarray((inst > 0).astype(np.uint8)).save(data / "masks" / f"{stem}.png")
        scored, empties = [], []
        for f in scored_frames:
            img, inst = tifffile.imread(f), tifffile.imread(HELA / "instances" / f.name)
            for q, (qi, qm) in enumerate(zip(quadrants(img), quadrants(inst))):
                scored.append((write(data / "scored", f"{f.stem}_q{q}", qi, eight), qm))
            for k, field in enumerate(empty_fields(img, inst, args.empty - len(empties))):
                empties.append(write(data / "empty", f"{f.stem}_e{k}", field, eight))
        t0, out = time.perf_counter(), tmp / label / "run"
        run = Run(out) if Run(out).state == "done" and Run(out).has_checkpoint else \
            train(TrainConfig(data=str(data), out=str(out), num_classes=2, epochs=args.epochs,
                              time_budget=None if args.epochs else args.budget))
        seconds = run.status.get("total_s") or time.perf_counter() - t0  # a reused run: its own training's
        pred = Predictor(run)
        total, at_edge = Match(0, 0, 0, [], 0, 0), 0
        for q, (path, truth) in enumerate(scored):
            p = pred.predict(pred.read(path))
            labels = label_objects(p.mask, None, settings, 2, p.top_probability()).labels
            total += match_objects(labels, truth)
            at_edge += unlabelled_at_frame_edge(labels, truth, q % 4)
        found_empty, lines = 0, []
        for path in empties:
            p = pred.predict(pred.read(path))
            objects = label_objects(p.mask, None, settings, 2, p.top_probability())
            found_empty += len(objects)
            if args.crops and len(objects):
                (args.crops / label).mkdir(parents=True, exist_ok=True)
                lines += describe_objects(tifffile.imread(path) if path.suffix == ".tif" else
                                          np.asarray(Image.open(path)), objects, p.top_probability(),
                                          args.crops / label, path.stem)
        print(f"{label:8} {total.f1:7.3f} {total.true:5d} {total.predicted:6d} {total.fp:5d} {at_edge:24d} "
              f"{len(empties):12d} {found_empty:13d} {seconds:8.0f} {run.status.get('steps', 0):6d}")
        if not eight:
            print(f"         (16-bit ranges kept by the run: {run.config.get('input_normalisation')})")
        print("\n".join(lines[:SHOWN] + [f"  ... and {len(lines) - SHOWN} more (crops of all in {args.crops})"]
                        if len(lines) > SHOWN else lines))


if __name__ == "__main__":
    main()
