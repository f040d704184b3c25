"""The preview's pixel classifier: a small MLP in torch, trained on the painted cells (and a sample of the
examples' cells) in weighted mini-batches, and warm-started from the previous stroke's weights. An ``offset``
(per row, per class: a trained model's log-probabilities) is added to its outputs, so it then learns only
where to correct that model."""
from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

HIDDEN = 32
FIRST_STEPS = 150  # Adam steps of the first fit
NEXT_STEPS = 60  # steps of each later fit, which starts from the previous weights
BATCH = 1024
LR = 0.01
WEIGHT_DECAY = 1e-4


class PixelClassifier:
    """``fit(x, y, weight)`` then ``probabilities(x)`` (N, num_classes); classes missing from ``y`` get little."""

    def __init__(self, in_dim: int, num_classes: int, hidden: int = HIDDEN, seed: int = 0):
        self.gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
        self.opt = torch.optim.Adam(self.net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        self.fits = 0

    def fit(self, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, steps: int | None = None,
            offset: np.ndarray | None = None) -> None:
        """Train on (N, D) features and (N,) class indices; rows are drawn in proportion to ``weight``;
        ``offset`` (N, num_classes) is added to the outputs."""
        steps = steps or (FIRST_STEPS if self.fits == 0 else NEXT_STEPS)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
        off = None if offset is None else torch.from_numpy(np.asarray(offset, np.float32))
        w = torch.ones(len(y)) if weight is None else torch.from_numpy(weight.astype(np.float32))
        self.net.train()
        for _ in range(steps):
            idx = torch.multinomial(w, min(BATCH, len(y)), replacement=True, generator=self.gen)
            out = self.net(xt[idx])
            loss = nn.functional.cross_entropy(out if off is None else out + off[idx], yt[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        self.fits += 1

    def probabilities(self, x: np.ndarray | torch.Tensor, offset: np.ndarray | None = None) -> np.ndarray:
        self.net.eval()
        with torch.inference_mode():
            xt = torch.from_numpy(x) if isinstance(x, np.ndarray) else x
            out = self.net(xt)
            if offset is not None:
                out = out + torch.from_numpy(np.asarray(offset, np.float32))
            return torch.softmax(out, dim=1).numpy()


FOREST_TREES = 100  # as many as the ilastik-style anchor's: from a few strokes, fewer trees are measurably worse
# (tests/assist/test_preview.py's two strokes: 0.86-0.88 of the disc with 40 trees, 0.90-0.92 with 100)
FIRST_TREES = 20  # every row is predicted by this many trees first; only rows they do not agree on by all the rest
SURE = 0.95  # rows whose most likely class has at least this probability from the first trees are done
CASCADE_ROWS = 20_000  # fewer rows are predicted by all the trees at once
FOREST_JOBS = -1  # threads: every core, as the anchor's forest
FOREST_EXAMPLE_ROWS = 1000  # the examples' cells the forest trains on at most (a fixed sample; its time grows
# with the rows, and with examples the network carries most of the weight)


class FilterForest:
    """A random forest (scikit-learn) on the fine filters: ``fit(x, y, weight)``, then ``probabilities(x)``
    (N, num_classes; zero for classes it was not given)."""

    def __init__(self, num_classes: int, trees: int = FOREST_TREES, seed: int = 0):
        self.num_classes = num_classes
        self.trees, self.seed = trees, seed
        self.forest = None

    def fit(self, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> None:
        from sklearn.ensemble import RandomForestClassifier

        self.forest = RandomForestClassifier(self.trees, n_jobs=FOREST_JOBS, random_state=self.seed)
        with quiet_joblib():
            self.forest.fit(x, y, sample_weight=weight)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(N, num_classes) of (N, F) rows: the mean of the trees' probabilities. Of many rows (a whole image),
        the first ``FIRST_TREES`` trees predict every row and the others only the rows the first are not sure of
        (most likely class under ``SURE``): those are where more trees can change the answer, and most of an
        image's pixels are not among them, so a whole image costs a fraction of all the trees' time."""
        out = np.zeros((len(x), self.num_classes), np.float32)
        trees = self.forest.estimators_
        if len(x) < CASCADE_ROWS or len(trees) <= FIRST_TREES:
            out[:, self.forest.classes_] = self._mean(trees, x)
            return out
        x = np.ascontiguousarray(x, np.float32)
        first = self._mean(trees[:FIRST_TREES], x)
        unsure = np.flatnonzero(first.max(1) < SURE)
        if len(unsure) > len(x) // 2:  # most: all the rows (no copy of them)
            unsure = np.arange(len(x))
            rest = self._mean(trees[FIRST_TREES:], x)
        elif len(unsure):
            rest = self._mean(trees[FIRST_TREES:], x[unsure])
        if len(unsure):
            first[unsure] = (first[unsure] * FIRST_TREES + rest * (len(trees) - FIRST_TREES)) / len(trees)
        out[:, self.forest.classes_] = first
        return out

    def _mean(self, trees: list, x: np.ndarray) -> np.ndarray:
        """The mean of ``trees``' probabilities of the rows ``x`` (the forest's classes), ``FOREST_JOBS`` at once."""
        part = copy.copy(self.forest)
        part.estimators_, part.n_estimators = trees, len(trees)
        with quiet_joblib():
            return part.predict_proba(x)


@contextmanager
def quiet_joblib():
    """Without scikit-learn's warning that ``delayed`` should go with its ``Parallel`` (given where the
    warning filters are empty, e.g. after ``warnings.resetwarnings()`` in a host program: scikit-learn then has
    no filters to hand to its workers, and warns once per tree)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*sklearn.utils.parallel.(delayed|Parallel)", category=UserWarning)
        yield
