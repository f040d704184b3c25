"""Multi-band images (issue #35, item 2 and its target): with the near-infrared band, land cover scores at least
1.02x the mIoU of RGB alone at the same training time. Prints figures; asserts nothing.

    python benchmarks/bench_multiband.py [--budget 60 | --epochs 15] [--tile 96] [--only cloud38|floods]
    python benchmarks/bench_multiband.py --pixels [--tile 96] [--only cloud38|floods]

../shared/data/multiband has two scenes, each cut into square tiles (``--tile`` pixels; the scene's tiles in a
checkerboard: the "white" ones trained on, the "black" ones scored, never seen):
- cloud38: a Landsat-8 patch of 38-Cloud, one 16-bit TIFF per band (red, green, blue, nir) and its cloud mask
  (0/255): clouds against the rest. The bands are joined into one 4-band TIFF per tile.
- floods: a 13-band int16 Sentinel-2 chip of Sen1Floods11 (B1..B12) and its hand label (-1 no data, 0 land,
  1 water): water against land, no-data pixels unlabelled. The tiles keep all 13 bands; the runs pick by number
  (B4, B3, B2 as RGB: channels 4,3,2; B8, near-infrared: channel 8).

Each scene trains twice with the default recipe, ``--budget`` seconds each (or ``--epochs`` each: the same steps,
so about the same time, on a machine too loaded for a budget to give both runs the same share of it): on RGB
alone (``--channels``) and on RGB plus near-infrared, and both are scored (``evaluate``, mIoU) on the unseen tiles. The ratio is
mIoU(RGB + NIR) / mIoU(RGB). One scene, few tiles, one seed: a ratio of one run, noisy.

After each run of more than 3 channels the size of its first layer's filters per channel is printed (the mean
L2 norm of a filter's weights for that channel): the filters of a band beyond RGB start at zero
(``seg_core.model.input_layer``), so this says how much the network has come to read it.

``--pixels`` trains no network: it measures how much the near-infrared band tells at all, on the same tiles, with
a pixel classifier (gradient-boosted trees on each pixel's band values and their means over 5x5 and 15x15 pixels,
40,000 labelled pixels of the trained tiles), RGB against RGB + near-infrared, scored (mIoU) on every labelled
pixel of the unseen tiles. A band that adds little to such a classifier is not expected to add much to a network.
"""
from __future__ import annotations

import argparse
import json
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
DATA = ROOT.parent / "shared" / "data" / "multiband"

from seg_core import TrainConfig, train  # noqa: E402
from seg_core.infer.evaluation import evaluate_run  # noqa: E402

UNLABELLED = 255
CLASSES = {"cloud38": ("clear", "cloud"), "floods": ("land", "water")}
PICKS = {"cloud38": ("1,2,3", "1,2,3,4"), "floods": ("4,3,2", "4,3,2,8")}  # RGB; RGB + near-infrared


def cloud38() -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 4) uint16 red, green, blue, nir; (H, W) 0/1 cloud."""
    bands = [tifffile.imread(DATA / "cloud38" / f"{b}.tif") for b in ("red", "green", "blue", "nir")]
    return np.stack(bands, -1), (tifffile.imread(DATA / "cloud38" / "gt.tif") > 0).astype(np.uint8)


def floods() -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 13) int16 Sentinel-2 B1..B12; (H, W) 0 land, 1 water, ``UNLABELLED`` no data."""
    folder = DATA / "sen1floods11"
    image = tifffile.imread(next(folder.glob("*_S2Hand.tif"))).transpose(1, 2, 0)
    label = tifffile.imread(next(folder.glob("*_LabelHand.tif")))
    return image, np.where(label < 0, UNLABELLED, label).astype(np.uint8)


def tiles(image: np.ndarray, mask: np.ndarray, side: int):
    """(name, image tile, mask tile, trained) on a grid, the checkerboard's white tiles trained on."""
    for r in range(image.shape[0] // side):
        for c in range(image.shape[1] // side):
            win = np.s_[r * side:(r + 1) * side, c * side:(c + 1) * side]
            yield f"t{r}{c}", image[win], mask[win], (r + c) % 2 == 0


def write_folders(root: Path, scene: str, side: int) -> tuple[Path, Path]:
    image, mask = {"cloud38": cloud38, "floods": floods}[scene]()
    folders = (root / "train", root / "unseen")
    for f in folders:
        (f / "images").mkdir(parents=True)
        (f / "masks").mkdir()
        names = CLASSES[scene]
        (f / "classes.json").write_text(json.dumps({"classes": [
            {"name": names[0], "color": [40, 120, 40]}, {"name": names[1], "color": [240, 240, 255]}],
            "unlabelled": UNLABELLED}))
    for name, img, msk, trained in tiles(image, mask, side):
        folder = folders[0] if trained else folders[1]
        tifffile.imwrite(folder / "images" / f"{name}.tif", np.ascontiguousarray(img), photometric="minisblack",
                         planarconfig="contig")
        Image.fromarray(msk).save(folder / "masks" / f"{name}.png")
    return folders


def filter_sizes(run) -> str:
    """The mean L2 norm of the first layer's filters for each channel the run reads, as text."""
    from seg_core.model.input_layer import input_conv

    weight = input_conv(run.load_model("cpu").net).weight.detach()
    norms = weight.pow(2).sum((2, 3)).sqrt().mean(0)
    return ", ".join(f"{name} {n:.3f}" for name, n in zip(run.config["channels"], norms.tolist()))


def pixel_features(image: np.ndarray, bands: list[int]) -> np.ndarray:
    """(H, W, 3 x bands) the values of ``bands`` (from 0) and their means over 5x5 and 15x15 pixels."""
    from scipy.ndimage import uniform_filter

    picked = image[..., bands].astype(np.float32)
    return np.concatenate([picked] + [uniform_filter(picked, (s, s, 1)) for s in (5, 15)], -1)


def pixel_miou(scene: str, side: int, samples: int = 40_000) -> list[float]:
    """mIoU of a pixel classifier on the unseen tiles, per choice of ``PICKS[scene]`` (``--pixels``)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from seg_core.infer.metrics import Confusion

    image, mask = {"cloud38": cloud38, "floods": floods}[scene]()
    trained = np.zeros(mask.shape, np.int8) - 1  # -1 not in a tile, 1 trained, 0 unseen
    for r in range(mask.shape[0] // side):
        for c in range(mask.shape[1] // side):
            trained[r * side:(r + 1) * side, c * side:(c + 1) * side] = (r + c) % 2 == 0
    labelled = mask != UNLABELLED
    pick = np.random.default_rng(0).choice(np.flatnonzero((trained == 1) & labelled), samples, replace=False)
    unseen = np.flatnonzero((trained == 0) & labelled)
    scores = []
    for picks in PICKS[scene]:
        x = pixel_features(image, [int(b) - 1 for b in picks.split(",")]).reshape(-1, len(picks.split(",")) * 3)
        clf = HistGradientBoostingClassifier(random_state=0).fit(x[pick], mask.ravel()[pick])
        cm = Confusion(2)
        cm.add(clf.predict(x[unseen]), mask.ravel()[unseen])
        scores.append(cm.scores()["miou"])
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=60)
    ap.add_argument("--epochs", type=int, help="train this many epochs instead of --budget seconds")
    ap.add_argument("--tile", type=int, default=96)
    ap.add_argument("--only", choices=tuple(CLASSES))
    ap.add_argument("--pixels", action="store_true", help="a pixel classifier instead of networks (no training)")
    args = ap.parse_args()
    if args.pixels:
        print(f"pixel classifier, tiles {args.tile}x{args.tile}; mIoU on the unseen tiles' labelled pixels")
        for scene in ([args.only] if args.only else CLASSES):
            rgb, nir = pixel_miou(scene, args.tile)
            print(f"{scene:8} RGB {rgb:.4f}  RGB + near-infrared {nir:.4f}  ratio {nir / max(rgb, 1e-9):.3f}")
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_multiband_"))
    how = f"{args.epochs} epochs" if args.epochs else f"budget {args.budget:.0f} s"
    print(f"{how} per run, tiles {args.tile}x{args.tile}; mIoU on the unseen tiles")
    print(f"{'scene':8} {'channels (from 1)':18} {'train tiles':>11} {'unseen':>6} {'mIoU':>7} {'steps':>6} {'wall s':>7}")
    for scene in ([args.only] if args.only else CLASSES):
        train_dir, unseen = write_folders(tmp / scene, scene, args.tile)
        scores = []
        for picks in PICKS[scene]:
            t0 = time.perf_counter()
            run = train(TrainConfig(data=str(train_dir), out=str(tmp / scene / f"run_{len(scores)}"),
                                    channels=picks.split(","), epochs=args.epochs,
                                    time_budget=None if args.epochs else args.budget))
            seconds = time.perf_counter() - t0
            res = evaluate_run(run, unseen, ignore_index=UNLABELLED)
            scores.append(res.miou)
            print(f"{scene:8} {picks:18} {len(run.config['split']['train']) + len(run.config['split']['val']):11d}"
                  f" {res.images:6d} {res.miou:7.4f} {run.status.get('steps', 0):6d} {seconds:7.0f}")
            if len(picks.split(",")) > 3:
                print(f"{'':8} first layer's filters, mean size per channel: {filter_sizes(run)}")
        print(f"{scene:8} ratio mIoU(RGB + near-infrared) / mIoU(RGB) = {scores[1] / max(scores[0], 1e-9):.3f} "
              f"(target >= 1.02)")


if __name__ == "__main__":
    main()
