"""Assisted labelling benchmark: the live preview (``seg_core.assist.LivePreview``) against an ilastik-style
anchor, driven by a simulated annotator. Prints figures, asserts nothing. Needs scikit-learn (the anchor).

    python benchmarks/bench_assist.py [--images 3] [--strokes 10] [--domains membrane,street,...]
                                      [--modes cold,warm] [--all-strokes] [--variants] [--max-mp 0.3] [--data ../shared/data]

The annotator (the standard protocol of interactive segmentation, Xu et al. 2016 / RITM): each stroke paints
the true class as a small disk (``--radius``, clipped to that class) at the interior point of the largest
error region (the largest connected component of wrong pixels), the point farthest from its edge.

Domains (images downscaled to at most ``--max-mp`` megapixels, the same for both methods):
- membrane: ``membrane/`` EM slices; the membranes (mask 0) are class 1, the cells (255) class 0: foreground IoU.
- street: ``camvid-mini/`` frames of val/ annotated, train/ the examples; classes 0-10, 11 void: mIoU.
- nuclei: ``nuclei-he/`` H&E tiles, masks 0/1: foreground IoU.
- hela, gowt1: ``fluo-ctc/`` fluorescent nuclei (16- and 8-bit TIFF); targets the left halves of the first
  frames, examples right halves (few frames): foreground IoU.
- cloud: ``multiband/cloud38`` Landsat red, green and blue as one colour image, cut into 3x3 tiles of 128x128:
  clouds, foreground IoU.
- hippocampus: ``hippocampus/`` MRI volumes (NIfTI, needs nibabel; skipped with a message without it): each
  volume's axial plane with the most hippocampus, about 35x50 grey, 3 classes: mIoU.
- lines, spots, textures: synthetic, 384x384 grey: thin curvilinear lines 1-3 px wide (vessels, cracks) on
  textured, unevenly lit ground; small spots of radius 1.5-4 px (puncta, defects); regions told apart by texture
  alone. Seeds 0.. are targets, 100.. examples: foreground IoU.
Thin (membrane, lines), small (spots), blobs (nuclei, hela, gowt1), texture (textures, cloud) and large regions
(street, hippocampus). Targets are the first ``--images`` images; the examples of the warm mode are 5 other
labelled images (hela: 4).

Cold: no other labels, ``--strokes`` strokes; warm: 5 strokes (``--all-strokes``: ``--strokes``), with ``--examples`` labelled images as examples (``LivePreview(examples=...)``; the
anchor's forest gets the same sample of their pixels). With ``--run-budget S``, also "trained": the same
examples and a run trained on them for S seconds with the default recipe (as a user who trained once), for
"run" (the run's prediction, the painted pixels kept: what "Propose a mask" gives) and "ours+run" (the preview
with the run's class probabilities among its features: ``LivePreview(model=...)``). Scores after 0, 5 and 10 strokes (the largest stroke
count when fewer), the median seconds per update, and the seconds to ready an image (its features; the
encoder's first load is reported apart).

The anchor: per-pixel Gaussian, Laplacian of Gaussian, gradient magnitude and the two Hessian eigenvalues at
sigma 0.7, 1, 1.6, 3.5, 5, 10 on each channel (grey images: one) and a 100-tree random forest on the painted
pixels, predicting every pixel.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from seg_core.assist import LivePreview
from seg_core.assist.features import channels, clear_cache, encoder, filter_stack
from seg_core.assist.preview import check_image, EXAMPLE_CELLS_PER_CLASS, MAX_EXAMPLE_CELLS, MAX_PAINTED_CELLS, PAINTED_SHARE
from seg_core.data.imageio import read_image, read_mask_raw

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ANCHOR_SIGMAS = (0.7, 1.0, 1.6, 3.5, 5.0, 10.0)
VOID = 255


# -- data ------------------------------------------------------------------------------------------------
def _numeric(p: Path):
    return (0, int(p.stem)) if p.stem.isdigit() else (1, p.stem)


def _load(img_path: Path, mask_path: Path, lut, max_mp: float) -> tuple[np.ndarray, np.ndarray]:
    return _fit(read_image(img_path), lut(read_mask_raw(mask_path)).astype(np.uint8), max_mp)


def _fit(image: np.ndarray, mask: np.ndarray, max_mp: float) -> tuple[np.ndarray, np.ndarray]:
    """Image and mask downscaled to at most ``max_mp`` megapixels (the same for both methods)."""
    h, w = mask.shape
    scale = min(1.0, (max_mp * 1e6 / (h * w)) ** 0.5)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return image, mask


def _halves(image: np.ndarray, mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The left and right halves of an image and its mask (a set of few frames: targets from one half, examples
    from the other, no pixel in both)."""
    w = mask.shape[1] // 2
    return [(image[:, :w], mask[:, :w]), (image[:, w:], mask[:, w:])]


def _fluo(src: Path, n_images: int, n_examples: int, max_mp: float) -> dict:
    """Cell Tracking Challenge frames (16- or 8-bit TIFF, stretched as the app reads them): nuclei (instances > 0)
    are class 1. Few frames: the targets are the left halves of the first frames, the examples right halves."""
    import tifffile

    files = sorted((src / "images").glob("*.tif"))
    pairs = [_halves(read_image(f), (tifffile.imread(src / "instances" / f.name) > 0).astype(np.uint8))
             for f in files]
    tgt = [_fit(*p[0], max_mp) for p in pairs[:n_images]]
    ex = [_fit(*p[1], max_mp) for p in pairs[::-1]][:n_examples]
    return dict(classes=2, targets=tgt, examples=ex)


def _cloud(src: Path, n_images: int, n_examples: int, max_mp: float) -> dict:
    """The 38-Cloud Landsat patch: its red, green and blue bands (16-bit) as one colour image stretched together,
    cut into 3x3 tiles; clouds are class 1. Targets are the first tiles, examples the last."""
    import tifffile

    from seg_core.data.imageio import stretch_to_uint8

    rgb = stretch_to_uint8(np.stack([tifffile.imread(src / f"{b}.tif") for b in ("red", "green", "blue")], axis=-1))
    gt = (tifffile.imread(src / "gt.tif") > 0).astype(np.uint8)
    h, w = gt.shape
    tiles = [(rgb[i * h // 3:(i + 1) * h // 3, j * w // 3:(j + 1) * w // 3],
              gt[i * h // 3:(i + 1) * h // 3, j * w // 3:(j + 1) * w // 3]) for i in range(3) for j in range(3)]
    tgt = [_fit(*t, max_mp) for t in tiles[:n_images]]
    return dict(classes=2, targets=tgt, examples=[_fit(*t, max_mp) for t in tiles[::-1][:min(n_examples, 9 - n_images)]])


def _hippocampus(src: Path, n_images: int, n_examples: int) -> dict | None:
    """MRI crops (NIfTI): each volume's axial plane with the most hippocampus, classes 0 background, 1 anterior,
    2 posterior (tiny images: about 35x50). None without nibabel."""
    try:
        import nibabel
    except ImportError:
        print("  (hippocampus skipped: nibabel is not installed)")
        return None
    from seg_core.data.imageio import stretch_to_uint8

    def plane(f: Path):
        vol = np.asarray(nibabel.load(f).dataobj)
        lab = np.asarray(nibabel.load(src / "labels" / f.name).dataobj).astype(np.uint8)
        k = int(np.argmax((lab > 0).sum(axis=(0, 1))))
        return stretch_to_uint8(vol[:, :, k].astype(np.float32)), lab[:, :, k]

    files = sorted((src / "images").glob("*.nii.gz"))
    return dict(classes=3, targets=[plane(f) for f in files[:n_images]],
                examples=[plane(f) for f in files[::-1][:n_examples]])


def _texture(rng, shape) -> np.ndarray:
    """A textured, unevenly lit background in 0..1: smoothed noise at two scales and a slow gradient."""
    h, w = shape
    bg = sum(a * cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), s) * s
             for a, s in ((0.05, 1.5), (0.02, 8.0)))
    yy, xx = np.mgrid[:h, :w] / max(h, w)
    return 0.45 + bg + 0.15 * (rng.uniform(-1, 1) * yy + rng.uniform(-1, 1) * xx)


def synthetic_lines(seed: int, shape=(384, 384)) -> tuple[np.ndarray, np.ndarray]:
    """Thin curvilinear structures (vessels, cracks: smooth random walks 1-3 px wide, darker than their
    surround by a varying contrast) on a textured background with noise; the lines are class 1."""
    rng = np.random.default_rng(seed)
    h, w = shape
    mask = np.zeros(shape, np.uint8)
    depth = np.zeros(shape, np.float32)
    for _ in range(rng.integers(6, 12)):
        y, x, ang = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, 2 * np.pi)
        width, contrast = int(rng.integers(1, 4)), rng.uniform(0.12, 0.3)
        pts = []
        for _ in range(int(rng.integers(80, 250))):
            ang += rng.normal(0, 0.15)
            y, x = y + 2 * np.sin(ang), x + 2 * np.cos(ang)
            pts.append((int(round(x)), int(round(y))))
        line = np.zeros(shape, np.uint8)
        cv2.polylines(line, [np.array(pts, np.int32)], False, 1, width)
        mask |= line
        depth = np.maximum(depth, line * contrast)
    img = _texture(rng, shape) - cv2.GaussianBlur(depth, (0, 0), 0.6) + rng.normal(0, 0.03, shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), mask


def synthetic_spots(seed: int, shape=(384, 384)) -> tuple[np.ndarray, np.ndarray]:
    """Small bright spots (puncta, defects: Gaussian blobs of radius 1.5-4 px, of varying brightness) on a
    textured background with noise; the spots (where a blob is over half its peak) are class 1."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    spots = np.zeros(shape, np.float32)
    mask = np.zeros(shape, np.uint8)
    for _ in range(int(rng.integers(40, 90))):
        cy, cx, r, a = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1.5, 4.0), rng.uniform(0.15, 0.4)
        y0, y1, x0, x1 = int(max(0, cy - 4 * r)), int(min(h, cy + 4 * r + 1)), int(max(0, cx - 4 * r)), int(min(w, cx + 4 * r + 1))
        d2 = ((yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2) / (r * r)
        spots[y0:y1, x0:x1] = np.maximum(spots[y0:y1, x0:x1], a * np.exp(-d2 / 2))
        mask[y0:y1, x0:x1] |= (d2 < 2 * np.log(2)).astype(np.uint8)
    img = _texture(rng, shape) + spots + rng.normal(0, 0.03, shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), mask


def synthetic_textures(seed: int, shape=(384, 384)) -> tuple[np.ndarray, np.ndarray]:
    """Regions told apart by texture only (the same mean brightness): an oriented grating in class 1, fine
    isotropic grain elsewhere, with noise; the regions are a smoothed random field thresholded."""
    rng = np.random.default_rng(seed)
    h, w = shape
    field = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 30)
    mask = (field > np.median(field)).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    ang, period = rng.uniform(0, np.pi), rng.uniform(5, 9)
    grating = 0.12 * np.sin(2 * np.pi * (xx * np.cos(ang) + yy * np.sin(ang)) / period)
    grain = 0.12 * cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 1.0) * 2.5
    img = 0.5 + np.where(mask == 1, grating, grain) + rng.normal(0, 0.04, shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), mask


SYNTHETIC = {"lines": synthetic_lines, "spots": synthetic_spots, "textures": synthetic_textures}
DOMAINS = ("membrane", "street", "nuclei", "hela", "gowt1", "cloud", "hippocampus", *SYNTHETIC)


def domains(root: Path, names: list[str], n_images: int, n_examples: int, max_mp: float) -> dict[str, dict]:
    """name -> {classes, targets: [(image, mask)], examples: [(image, mask)]} (masks: classes, 255 void)."""
    out = {}
    for name in names:
        if name == "membrane":
            src = root / "membrane"
            files = sorted((src / "images").glob("*.png"), key=_numeric)
            lut = lambda m: np.where(m == 0, 1, 0)  # noqa: E731  the membranes are the foreground
            tgt, ex = files[:n_images], files[-n_examples:] if n_examples else []
            pairs = lambda fs: [_load(f, src / "masks" / f.name, lut, max_mp) for f in fs]  # noqa: E731
            out[name] = dict(classes=2, targets=pairs(tgt), examples=pairs(ex))
        elif name == "street":
            src = root / "camvid-mini"
            lut = lambda m: np.where(m >= 11, VOID, m)  # noqa: E731
            tgt = sorted((src / "val" / "images").glob("*.png"))[:n_images]
            ex = sorted((src / "train" / "images").glob("*.png"))[::4][:n_examples]
            out[name] = dict(classes=11,
                             targets=[_load(f, src / "val" / "masks" / f.name, lut, max_mp) for f in tgt],
                             examples=[_load(f, src / "train" / "masks" / f.name, lut, max_mp) for f in ex])
        elif name == "nuclei":
            src = root / "nuclei-he"
            files = sorted((src / "images").glob("*.png"))
            lut = lambda m: np.where(m > 0, 1, 0)  # noqa: E731
            tgt, ex = files[:n_images], files[-n_examples:] if n_examples else []
            pairs = lambda fs: [_load(f, src / "masks" / f.name, lut, max_mp) for f in fs]  # noqa: E731
            out[name] = dict(classes=2, targets=pairs(tgt), examples=pairs(ex))
        elif name in ("hela", "gowt1"):
            out[name] = _fluo(root / "fluo-ctc" / name, n_images, n_examples, max_mp)
        elif name == "cloud":
            out[name] = _cloud(root / "multiband" / "cloud38", n_images, n_examples, max_mp)
        elif name == "hippocampus":
            if (got := _hippocampus(root / "hippocampus", n_images, n_examples)) is not None:
                out[name] = got
        elif name in SYNTHETIC:
            make = SYNTHETIC[name]
            out[name] = dict(classes=2, targets=[_fit(*make(s), max_mp) for s in range(n_images)],
                             examples=[_fit(*make(100 + s), max_mp) for s in range(n_examples)])
        else:
            raise SystemExit(f"unknown domain {name}: {', '.join(DOMAINS)}")
    return out


def score(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> float:
    """Foreground (class 1) IoU for two classes, else the mean IoU of the classes in the truth or prediction."""
    valid = gt != VOID
    p, g = pred[valid], gt[valid]
    classes = [1] if num_classes == 2 else np.union1d(np.unique(g), np.unique(p))
    ious = []
    for c in classes:
        union = np.count_nonzero((p == c) | (g == c))
        ious.append(np.count_nonzero((p == c) & (g == c)) / union if union else 1.0)
    return float(np.mean(ious))


# -- the simulated annotator -----------------------------------------------------------------------------
def stroke(pred: np.ndarray, gt: np.ndarray, labels: np.ndarray, radius: int) -> bool:
    """Paint the true class as a disk at the interior point of the largest error region; False when none."""
    err = ((pred != gt) & (gt != VOID)).astype(np.uint8)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(err, connectivity=8)
    if n <= 1:
        return False
    region = (comp == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    dist = cv2.distanceTransform(np.pad(region, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]  # the image border is an edge
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    disk = np.zeros_like(region)
    cv2.circle(disk, (int(x), int(y)), radius, 1, -1)
    cls = gt[y, x]
    labels[(disk > 0) & (gt == cls)] = cls
    return True


# -- the ilastik-style anchor ----------------------------------------------------------------------------
def anchor_features(image: np.ndarray) -> np.ndarray:
    """(H*W, F) float32: the anchor's filters at its six sigmas on each channel (of the image as the preview
    takes it: grey, 16-bit and float images as (H, W, 3) uint8)."""
    image = check_image(image)
    maps = [m for c in channels(image) for m in filter_stack(c, ANCHOR_SIGMAS)]
    return np.stack(maps, axis=-1).reshape(-1, len(maps))


def _per_class_sample(values: np.ndarray, cap: int, rng) -> np.ndarray:
    keep = [np.flatnonzero(values == c) for c in np.unique(values[values != VOID])]
    keep = [k if len(k) <= cap else rng.choice(k, cap, replace=False) for k in keep]
    return np.concatenate(keep) if keep else np.zeros(0, np.int64)


class Anchor:
    """The same interface as LivePreview: ilastik-style filters + a 100-tree random forest."""

    def __init__(self, image: np.ndarray, num_classes: int, examples=(), seed: int = 0):
        self.num_classes, self.seed = num_classes, seed
        self.x = anchor_features(image)
        rng = np.random.default_rng(seed)
        xs, ys = [], []
        for ex_image, ex_mask in examples:  # the same number of pixels per class as the preview's sample
            idx = _per_class_sample(ex_mask.ravel(), EXAMPLE_CELLS_PER_CLASS, rng)
            xs.append(anchor_features(ex_image)[idx])
            ys.append(ex_mask.ravel()[idx])
        self.ex_x = np.concatenate(xs) if xs else np.zeros((0, self.x.shape[1]), np.float32)
        self.ex_y = np.concatenate(ys) if ys else np.zeros(0, np.uint8)
        if len(self.ex_y) > MAX_EXAMPLE_CELLS:
            keep = rng.choice(len(self.ex_y), MAX_EXAMPLE_CELLS, replace=False)
            self.ex_x, self.ex_y = self.ex_x[keep], self.ex_y[keep]

    def update(self, labels: np.ndarray) -> np.ndarray:
        from sklearn.ensemble import RandomForestClassifier

        idx = _per_class_sample(labels.ravel(), MAX_PAINTED_CELLS, np.random.default_rng(self.seed))
        y = np.concatenate([labels.ravel()[idx], self.ex_y])
        known = np.unique(y)
        if len(known) <= 1:
            return np.full(labels.shape, known[0] if len(known) else 0, np.uint8)
        weight = np.ones(len(y))
        if len(idx) and len(self.ex_y):
            weight[:len(idx)] = max(1.0, PAINTED_SHARE * len(self.ex_y) / len(idx))
        rf = RandomForestClassifier(100, n_jobs=-1, random_state=self.seed)
        rf.fit(np.concatenate([self.x[idx], self.ex_x]), y, sample_weight=weight)
        out = rf.classes_[rf.predict_proba(self.x).argmax(1)].reshape(labels.shape).astype(np.uint8)
        painted = labels != VOID
        out[painted] = labels[painted]
        return out


def train_run(examples, num_classes: int, budget: float, where: Path):
    """A run of the default recipe trained on the examples for ``budget`` seconds; returns (run, the callable
    image -> (H, W, C) class probabilities)."""
    from seg_core import TrainConfig, train
    from seg_core.data.imageio import write_rgb
    from seg_core.infer.predictor import Predictor

    for sub in ("images", "masks"):
        (where / "data" / sub).mkdir(parents=True, exist_ok=True)
    for n, (image, mask) in enumerate(examples):
        write_rgb(where / "data" / "images" / f"ex{n:02d}.png", image)
        cv2.imwrite(str(where / "data" / "masks" / f"ex{n:02d}.png"), mask)  # class indices, 255 void
    threads = torch.get_num_threads()
    if (where / "run" / "model.safetensors").exists():  # trained by an earlier call with --runs DIR
        from seg_core.runs.folder import Run

        run = Run(where / "run")
    else:
        run = train(TrainConfig(data=str(where / "data"), out=str(where / "run"), num_classes=num_classes,
                                time_budget=budget, ignore_index=VOID))
    pred = Predictor(run)
    torch.set_num_threads(threads)  # training and the predictor take every core; the benchmark's setting stays
    return run, lambda image: pred.predict(image, crf=False).probs.transpose(1, 2, 0)


class RunOnly:
    """The run's prediction with the painted pixels kept (no learning from the strokes)."""

    def __init__(self, image, num_classes, examples=(), model=None, seed: int = 0):
        self.pred = model(image).argmax(-1).astype(np.uint8)

    def update(self, labels):
        return np.where(labels != VOID, labels, self.pred).astype(np.uint8)


class Only(LivePreview):
    """A variant of the preview that shows one of its classifiers: "network" (on all the features) or "forest" (on
    the fine filters), whatever the held-out strokes say."""

    def __init__(self, image, num_classes, examples=(), only: str = "network", **kw):
        super().__init__(image, num_classes, examples, **kw)
        fixed = {name: float(name == only) for name in self.weights.names}
        self.weights.weights = lambda: fixed


METHODS = {
    "ours": LivePreview,
    "ours-network": lambda im, c, ex, **kw: Only(im, c, ex, "network", **kw),
    "ours-forest": lambda im, c, ex, **kw: Only(im, c, ex, "forest", **kw),
    "ours-coarse": lambda im, c, ex, **kw: LivePreview(im, c, ex, grid_pixels=80_000, **kw),  # the grid of the code before
    "ours-x2": lambda im, c, ex, **kw: LivePreview(im, c, ex, scales=(1.0, 2.0), **kw),  # the encoder at 2x as well
    "anchor": Anchor,
}
TRAINED = {  # methods of the "trained" mode (a run trained on the examples)
    "run": RunOnly,
    "ours+run": lambda im, c, ex, model, **kw: LivePreview(im, c, ex, model=model, **kw),
    "ours+run, no examples": lambda im, c, ex, model, **kw: LivePreview(im, c, (), model=model, **kw),  # the run learned them
}
VARIANTS = ["ours-network", "ours-forest", "ours-coarse", "ours-x2"]


def run_one(method: str, image, gt, num_classes: int, examples, strokes: int, radius: int, trained=None,
            seed: int = 0) -> dict:
    """One simulated annotation of ``image``; ``seed``: the method's random start (its network's, its forest's)."""
    clear_cache()  # ready: this image's features (and, warm, the examples'), none remembered
    t0 = time.perf_counter()
    model = (TRAINED[method](image, num_classes, examples, trained, seed=seed) if method in TRAINED
             else METHODS[method](image, num_classes, examples, seed=seed))
    ready = time.perf_counter() - t0
    labels = np.full(gt.shape, VOID, np.uint8)
    scores, times = [], []
    for k in range(strokes + 1):
        if k:
            stroke(pred, gt, labels, radius)
        t = time.perf_counter()
        pred = model.update(labels)
        times.append(time.perf_counter() - t)
        scores.append(score(pred, gt, num_classes))
    return dict(ready=ready, scores=scores, times=times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(SHARED))
    ap.add_argument("--domains", default=",".join(DOMAINS))
    ap.add_argument("--images", type=int, default=3, help="annotated images per domain")
    ap.add_argument("--examples", type=int, default=5, help="labelled images of the warm mode")
    ap.add_argument("--strokes", type=int, default=10)
    ap.add_argument("--radius", type=int, default=3, help="the stroke's disk radius in pixels")
    ap.add_argument("--modes", default="cold,warm")
    ap.add_argument("--all-strokes", action="store_true",
                    help="draw --strokes strokes in every mode (default: 5 with examples, the score compared)")
    ap.add_argument("--methods", default="ours,anchor", help=f"of {', '.join(METHODS)}")
    ap.add_argument("--variants", action="store_true", help=f"also {', '.join(VARIANTS)} (ablations)")
    ap.add_argument("--seeds", type=int, default=1,
                    help="random starts per image (each method's network and forest); scores are means over images "
                         "and seeds, and the spread of the seeds' means is printed (a row moves by up to 0.25 with "
                         "the random start alone at 4 images)")
    ap.add_argument("--max-mp", type=float, default=0.3, help="images are downscaled to at most this many megapixels")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--run-budget", type=float, default=0,
                    help="seconds to train a run on each domain's examples for the trained mode (0: no such mode)")
    ap.add_argument("--runs", help="keep those runs in DIR/<domain>/run, and use them again when there")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = args.methods.split(",") + (VARIANTS if args.variants else [])
    t = time.perf_counter()
    encoder()
    print(f"encoder loaded in {time.perf_counter() - t:.1f} s (once per process); torch threads "
          f"{torch.get_num_threads()}")
    doms = domains(Path(args.data), args.domains.split(","), args.images, args.examples, args.max_mp)
    marks = sorted({0, min(5, args.strokes), args.strokes})
    print(f"score after {marks} strokes (foreground IoU for 2 classes, else mIoU), mean over images; "
          "median s/update; median s to ready an image (warm: + its 5 examples)")
    summary: dict[tuple, list[float]] = {}
    for name, d in doms.items():
        shape = d["targets"][0][0].shape
        print(f"\n== {name}: {len(d['targets'])} images of about {shape[1]}x{shape[0]}, {d['classes']} classes")
        modes, trained = args.modes.split(","), None
        if args.run_budget:
            t = time.perf_counter()
            where = Path(args.runs) / name if args.runs else Path(tempfile.mkdtemp(prefix=f"bench_assist_{name}_"))
            run, trained = train_run(d["examples"], d["classes"], args.run_budget, where)
            print(f"  a run trained on the {len(d['examples'])} examples in {time.perf_counter() - t:.0f} s: "
                  f"validation mIoU {run.best_val_miou}")
            modes.append("trained")
        for mode in modes:
            examples = d["examples"] if mode in ("warm", "trained") else []
            for method in (list(TRAINED) + ["ours"] if mode == "trained" else methods):
                # with examples only the score after 5 strokes is compared: no more are drawn (they cost minutes)
                n = args.strokes if mode == "cold" or args.all_strokes else min(5, args.strokes)
                by_seed = [[run_one(method, im, gt, d["classes"], examples, n, args.radius, trained, seed)
                            for im, gt in d["targets"]] for seed in range(args.seeds)]
                per_seed = [np.mean([r["scores"] for r in seed_rows], axis=0)[-1] for seed_rows in by_seed]
                rows = [r for seed_rows in by_seed for r in seed_rows]
                sc = np.mean([r["scores"] for r in rows], axis=0)
                upd = statistics.median(t for r in rows for t in r["times"][1:] or r["times"])
                ready = statistics.median(r["ready"] for r in rows)
                for m in (m for m in marks if m <= n):
                    summary[(name, mode, method, m)] = float(sc[m])
                cells = "  ".join(f"{m:>2}: {sc[m]:.3f}" for m in marks if m <= n)
                spread = f"   seeds {min(per_seed):.3f}-{max(per_seed):.3f}" if args.seeds > 1 else ""
                print(f"  {mode:<4} {method:<9} {cells}   update {upd:.3f} s   ready {ready:.2f} s{spread}")
    if "anchor" in methods and "ours" in methods:
        print("\nours / anchor (cold after the most strokes, warm after 5; trained: ours+run and run after 5):")
        ratios = []
        for name in doms:
            for mode, m in (("cold", args.strokes), ("warm", min(5, args.strokes))):
                a, o = summary.get((name, mode, "anchor", m)), summary.get((name, mode, "ours", m))
                if a is not None and o is not None:
                    r = o / a if a > 0 else float("inf")
                    ratios.append(r)
                    print(f"  {name:<9} {mode:<4} after {m:>2}: {o:.3f} vs {a:.3f} = {r:.2f}x")
            m, a = min(5, args.strokes), summary.get((name, "warm", "anchor", min(5, args.strokes)))
            for method in TRAINED:
                if (o := summary.get((name, "trained", method, m))) is not None and a:
                    print(f"  {name:<9} {method:<9} after {m:>2}: {o:.3f} vs {a:.3f} = {o / a:.2f}x (not in the mean)")
        if ratios:
            print(f"  mean {np.mean(ratios):.2f}x, lowest {min(ratios):.2f}x")


if __name__ == "__main__":
    main()
