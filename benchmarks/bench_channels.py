"""Intensities as measured (issue #35, item 3): 16-bit fluorescence read by the run's fixed per-channel ranges
against the same images converted to 8 bits by each image's own 0.5-99.5 % stretch (what every run read before).
Prints figures; asserts nothing.

    python benchmarks/bench_channels.py [--budget 120 | --epochs 8] [--empty 20]

../shared/data/fluo-ctc/hela: 4 HeLa frames (16-bit, 700x1100) with one id per nucleus. Each is cut into
quadrants; the quadrants of the last two frames (crowded) are trained on (the default recipe, ``--budget``
seconds, or ``--epochs`` each: the same steps, on a machine too loaded for a budget to give both runs the same
share of it; 20 % held out as the app does), those of the first two (fewer cells) scored: object F1 at IoU 0.5 of the connected objects
(``ObjectSettings()``, touching nuclei separated) against the true nuclei. Then up to ``--empty`` 128x128 fields
of the scored frames with no nucleus in view (no pixel of any nucleus) are predicted alone, and the objects
found in them counted: a field with nothing in view should give none.

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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HELA = ROOT.parent / "shared" / "data" / "fluo-ctc" / "hela"

from seg_core import TrainConfig, train  # noqa: E402
from seg_core.data.imageio import read_image  # noqa: E402
from seg_core.infer.predictor import Predictor  # noqa: E402
from seg_core.objects.instances import label_objects  # noqa: E402
from seg_core.objects.matching import Match, match_objects  # noqa: E402
from seg_core.objects.settings import ObjectSettings  # noqa: E402

FIELD = 128


def quadrants(a: np.ndarray) -> list[np.ndarray]:
    h, w = a.shape[0] // 2, a.shape[1] // 2
    return [a[:h, :w], a[:h, w:], a[h:, :w], a[h:, w:]]


def empty_fields(image: np.ndarray, instances: np.ndarray, most: int) -> list[np.ndarray]:
    """Up to ``most`` FIELD x FIELD windows (a grid, no overlap) without a pixel of any nucleus."""
    out = []
    for r in range(0, image.shape[0] - FIELD + 1, FIELD):
        for c in range(0, image.shape[1] - FIELD + 1, FIELD):
            if not instances[r:r + FIELD, c:c + FIELD].any() and len(out) < most:
                out.append(image[r:r + FIELD, c:c + FIELD])
    return out


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
    args = ap.parse_args()
    frames = sorted((HELA / "images").glob("*.tif"))
    train_frames, scored_frames = frames[2:], frames[:2]  # the later, crowded frames teach; the early ones have room
    tmp = Path(tempfile.mkdtemp(prefix="bench_channels_"))
    settings = ObjectSettings()
    print(f"trained on the quadrants of {', '.join(f.stem for f in train_frames)}; scored on those of "
          f"{', '.join(f.stem for f in scored_frames)}; "
          + (f"{args.epochs} epochs each" if args.epochs else f"budget {args.budget:.0f} s each"))
    print(f"{'images':8} {'F1@0.5':>7} {'true':>5} {'found':>6} {'empty fields':>12} {'objects there':>13} "
          f"{'train s':>8} {'steps':>6}")
    for label, eight in (("16-bit", False), ("8-bit", True)):
        data = tmp / label / "data"
        for sub in ("images", "masks", "scored", "empty"):
            (data / sub).mkdir(parents=True)
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
        t0 = time.perf_counter()
        run = train(TrainConfig(data=str(data), out=str(tmp / label / "run"), num_classes=2, epochs=args.epochs,
                                time_budget=None if args.epochs else args.budget))
        seconds = time.perf_counter() - t0
        pred = Predictor(run)
        total = Match(0, 0, 0, [], 0, 0)
        for path, truth in scored:
            p = pred.predict(pred.read(path))
            total += match_objects(label_objects(p.mask, None, settings, 2, p.top_probability()).labels, truth)
        found_empty = 0
        for path in empties:
            p = pred.predict(pred.read(path))
            found_empty += len(label_objects(p.mask, None, settings, 2, p.top_probability()))
        print(f"{label:8} {total.f1:7.3f} {total.true:5d} {total.predicted:6d} "
              f"{len(empties):12d} {found_empty:13d} {seconds:8.0f} {run.status.get('steps', 0):6d}")
        if not eight:
            print(f"         (16-bit ranges kept by the run: {run.config.get('input_normalisation')})")


if __name__ == "__main__":
    main()
