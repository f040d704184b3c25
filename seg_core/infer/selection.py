"""Which images to label next, in order: the images the model hesitates on once a few are labelled (4, measured
to pay more than typical images there), typical and diverse images before, a mix in between.

Every image is described by the run's encoder (``describe``: its deepest two stages' features, averaged
over the image). The images (candidates and those labelled already) are grouped into clusters (k-means,
one cluster per labelled image plus ``BATCH``, at most one per ``PER_CLUSTER`` images), and the candidates are taken cluster by cluster, a cluster
with fewer labelled images first and among equals the larger (TypiClust's rule, Hacohen et al. 2022: with
few labels, cover the kinds of image not labelled yet, with their most typical member: the one closest
to its nearest neighbours). Once the model has learned (``uncertainty_weight`` of the number of labelled
images), the choice within a cluster leans on how much the model hesitates (its class probabilities on
the image and on its mirror image disagree: ``flip_disagreement``), and then the clusters go too: the
most hesitant first. ``benchmarks/bench_rank.py`` measures this against random picks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BATCH = 10  # clusters beyond the labelled images' count: the first picks, each from a kind not covered
PER_CLUSTER = 4  # ... and at most one cluster per this many images (a small pool is not cut into single images)
NEIGHBOURS = 20  # typicality: 1 / mean distance to this many nearest images
# the share of the choice given to the model's hesitation, by the number of labelled images: none at FEW, all
# from MANY on, a mix between. Measured (bench_rank.py, 3 seeds, 4 + 4 street frames): the most hesitant picks
# beat random by +0.033 mIoU, the typical-and-diverse ones by +0.015 (+0.013 weighing the classes an image
# adds), so hesitation leads from 4 labelled images on; below 4 (not measured) typical images still count
FEW, MANY = 0, 4
FEATURE_SIDE = 256  # images are described at most this many pixels a side
CLASS_WEIGHT = 0.0  # the share of the typical-image choice given to the classes an image adds (class_gain)
CLASS_FLOOR = 0.05  # class_gain: a class labelled nowhere yet weighs 1 / CLASS_FLOOR per share of an image

UNLIKE = "unlike anything labelled yet"
HESITATES = "the model hesitates here"


def uncertainty_weight(n_labelled: int) -> float:
    """0: typical and diverse images only; 1: hesitation only; linear in between."""
    return float(np.clip((n_labelled - FEW) / (MANY - FEW), 0.0, 1.0))


def flip_disagreement(probs: np.ndarray, probs_mirrored: np.ndarray) -> np.ndarray:
    """(H, W) in 0..1: half the L1 distance between the class probabilities (C, H, W) of the image and of its
    mirror image (mirrored back): 0 where the model says the same both ways, 1 where it flips its answer."""
    return (0.5 * np.abs(probs.astype(np.float32) - probs_mirrored.astype(np.float32)).sum(0)).clip(0, 1)


def _small(model, image: np.ndarray):
    """The image shrunk to at most ``FEATURE_SIDE`` a side (sides multiples of the network's), as the
    model's input tensor (1, C, h, w) on its device."""
    import cv2
    import torch

    from seg_core.model.network import OUTPUT_MULTIPLE

    h, w = image.shape[:2]
    s = min(1.0, FEATURE_SIDE / max(h, w))
    size = [max(OUTPUT_MULTIPLE, round(v * s / OUTPUT_MULTIPLE) * OUTPUT_MULTIPLE) for v in (w, h)]
    small = np.concatenate([  # OpenCV resizes at most 4 channels at once: an N-channel image in groups of 4
        cv2.resize(image[..., i:i + 4], tuple(size), interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        for i in range(0, image.shape[-1], 4)], axis=-1)
    device = next(model.parameters()).device
    return torch.from_numpy(small).permute(2, 0, 1)[None].float().div(255).to(device)


def describe(model, image: np.ndarray) -> np.ndarray:
    """The encoder's view of a whole image: its deepest two stages averaged over the image, each scaled
    to unit length, side by side (the image shrunk to at most ``FEATURE_SIDE`` a side)."""
    import torch

    x = _small(model, image)
    with torch.inference_mode():
        feats = model.encoder((x - model.mean) / model.std)[-2:]
    parts = [f.float().mean((2, 3))[0].cpu().numpy() for f in feats]
    return np.concatenate([p / (np.linalg.norm(p) + 1e-8) for p in parts])


def class_shares(model, image: np.ndarray) -> np.ndarray:
    """(C,) the model's predicted share of each class in the image (its class probabilities averaged over the
    image shrunk as for ``describe``)."""
    import torch

    with torch.inference_mode():
        probs = torch.softmax(model(_small(model, image)).float(), dim=1)
    return probs.mean((2, 3))[0].cpu().numpy()


@dataclass
class Pick:
    index: int  # into the candidates
    reason: str


def class_gain(shares: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """(n,) what each candidate adds to the classes labelled so far: its predicted share of each class
    (``shares`` (n, C)), each weighed by how little of that class is labelled yet (``covered`` (C,): shares
    summed over the labelled images), ``1 / (covered + CLASS_FLOOR)``: a rare class's few pixels count."""
    return (shares / (covered[None, :] + CLASS_FLOOR)).sum(1)


def choose_order(candidates: np.ndarray, labelled: np.ndarray, hesitation: np.ndarray, n_labelled: int | None = None,
                 seed: int = 0, shares: np.ndarray | None = None, labelled_shares: np.ndarray | None = None,
                 class_weight: float | None = None) -> list[Pick]:
    """Every candidate once, in the order to label them. ``candidates`` (n, d) and ``labelled`` (m, d):
    ``describe``'s features; ``hesitation`` (n,): mean flip disagreement of each candidate; ``n_labelled``:
    the labelled images counted for the weight (default m). ``shares`` (n, C) and ``labelled_shares`` (m, C):
    each image's predicted share of each class; with them, while labels are few, the choice within a cluster
    weighs ``class_weight`` (default ``CLASS_WEIGHT``) on the classes the image adds (``class_gain``)."""
    from sklearn.cluster import KMeans
    from sklearn.neighbors import NearestNeighbors

    n, m = len(candidates), len(labelled)
    if n == 0:
        return []
    w = uncertainty_weight(m if n_labelled is None else n_labelled)
    hes_rank = _rank01(hesitation)
    hesitant = hesitation >= np.quantile(hesitation, 2 / 3)  # the top third
    if w >= 1.0 or n == 1:
        order = np.argsort(-hesitation, kind="stable")
        return [Pick(int(i), HESITATES if hesitant[i] else "the model is fairly sure here") for i in order]
    points = np.vstack([labelled, candidates]) if m else candidates
    k = NearestNeighbors(n_neighbors=min(NEIGHBOURS, len(points) - 1) + 1).fit(points)
    dist, _ = k.kneighbors(candidates)
    typicality = 1.0 / (dist[:, 1:].mean(1) + 1e-8)
    cw = CLASS_WEIGHT if class_weight is None else class_weight
    use_classes = shares is not None and cw > 0 and shares.shape[1] > 1
    if use_classes:
        covered_classes = (np.zeros(shares.shape[1]) if labelled_shares is None or not len(labelled_shares)
                           else labelled_shares.sum(0))
    base_value = _rank01(typicality)
    clusters = KMeans(max(1, min(m + BATCH, len(points) // PER_CLUSTER)), n_init=3, random_state=seed).fit_predict(points)
    of_cand = clusters[m:]
    covered = np.bincount(clusters[:m], minlength=clusters.max() + 1)
    size = np.bincount(clusters, minlength=clusters.max() + 1)
    left = np.ones(n, bool)
    picks = []
    while left.any():
        open_ = np.unique(of_cand[left])
        c = min(open_, key=lambda c: (covered[c], -size[c]))
        members = np.flatnonzero(left & (of_cand == c))
        typical = base_value
        if use_classes:  # the classes each candidate adds, given those labelled and picked so far
            typical = (1 - cw) * base_value + cw * _rank01(class_gain(shares, covered_classes))
        value = (1 - w) * typical + w * hes_rank
        i = int(members[np.argmax(value[members])])
        if use_classes:
            covered_classes = covered_classes + shares[i]
        if covered[c] == 0:
            reason = UNLIKE + (f"; typical of {size[c]} similar images" if size[c] > 1 else "")
        elif w > 0 and hesitant[i]:
            reason = HESITATES
        else:
            reason = f"a typical image of a kind labelled {covered[c]} time(s) so far"
        picks.append(Pick(i, reason))
        covered[c] += 1
        left[i] = False
    return picks


def _rank01(values: np.ndarray) -> np.ndarray:
    """Each value's rank scaled to 0 (lowest) .. 1 (highest); equal values share their mean rank."""
    from scipy.stats import rankdata

    return (rankdata(values) - 1) / max(len(values) - 1, 1)
