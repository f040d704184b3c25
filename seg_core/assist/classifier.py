"""The preview's pixel classifier: a small MLP in torch, trained on the painted cells (and a sample of the
examples' cells) in weighted mini-batches, and warm-started from the previous stroke's weights. An ``offset``
(per row, per class: a trained model's log-probabilities) is added to its outputs, so it then learns only
where to correct that model."""
from __future__ import annotations

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


LINEAR_C = 0.003  # inverse strength of the linear classifier's L2 penalty on its summed (weighted) loss, as in
# scikit-learn's logistic regression: strong, so that from a few strokes it learns a direction in the features that
# tells the classes apart (a spot brighter and more blob-like than its ground), not the strokes' exact values; it
# weighs less as strokes add pixels (benchmarks/bench_assist.py)
LINEAR_ITERATIONS = 100  # L-BFGS iterations at most per fit (a later fit starts from the previous weights)


class LinearClassifier:
    """Multinomial logistic regression with a strong L2 penalty, in torch (full-batch L-BFGS, warm-started from the
    previous fit): ``fit(x, y, weight, offset)`` then ``probabilities(x, offset)`` (N, num_classes), zero for
    classes it was not given. From a few strokes the network (a hidden layer) learns "near these strokes" from
    the encoder's slowly varying features and paints small spots, blobs and thin lines far too widely; this one
    cannot bend around the strokes, and carries those structures where the forest's fine filters alone fall short.
    ``offset`` (N, num_classes), when given, is added to its outputs (a trained model's log-probabilities)."""

    def __init__(self, in_dim: int, num_classes: int, c: float = LINEAR_C):
        self.c, self.num_classes = c, num_classes
        self.w = torch.zeros(in_dim, num_classes)
        self.b = torch.zeros(num_classes)
        self.present = torch.arange(num_classes)

    def fit(self, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None,
            offset: np.ndarray | None = None) -> None:
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        w = torch.ones(len(y)) if weight is None else torch.from_numpy(weight.astype(np.float32))
        present = torch.from_numpy(np.unique(y).astype(np.int64))
        index = torch.full((self.num_classes,), -1, dtype=torch.long)
        index[present] = torch.arange(len(present))
        yt = index[torch.from_numpy(y.astype(np.int64))]
        off = 0.0 if offset is None else torch.from_numpy(np.asarray(offset, np.float32))[:, present]
        share, penalty = w / w.sum(), 0.5 / (self.c * float(w.sum()))  # C * summed loss + |W|^2 / 2, over C * sum(w)
        coef = self.w[:, present].clone().requires_grad_(True)
        bias = self.b[present].clone().requires_grad_(True)
        opt = torch.optim.LBFGS([coef, bias], max_iter=LINEAR_ITERATIONS, line_search_fn="strong_wolfe")

        def loss():
            opt.zero_grad()
            out = nn.functional.cross_entropy(xt @ coef + bias + off, yt, reduction="none")
            value = (out * share).sum() + penalty * (coef * coef).sum()
            value.backward()
            return value

        opt.step(loss)
        with torch.no_grad():
            self.w[:, present], self.b[present] = coef, bias
        self.present = present

    def probabilities(self, x: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
        with torch.inference_mode():
            xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
            out = xt @ self.w[:, self.present] + self.b[self.present]
            if offset is not None:
                out = out + torch.from_numpy(np.asarray(offset, np.float32))[:, self.present]
            probs = np.zeros((len(x), self.num_classes), np.float32)
            probs[:, self.present.numpy()] = torch.softmax(out, dim=1).numpy()
        return probs


FOREST_TREES = 20  # a fifth of the ilastik-style anchor's 100: its time, more than its accuracy, grows with more
FOREST_EXAMPLE_ROWS = 1000  # the examples' cells the forest trains on at most (a fixed sample; its time grows
# with the rows, and with examples the network carries most of the weight)


class FilterForest:
    """A random forest (scikit-learn) on some of the feature columns (``columns``: their indices): ``fit(x, y,
    weight)`` on the full rows, ``probabilities(x)`` (N, num_classes) of rows of those columns only (zero for
    classes it was not given)."""

    def __init__(self, columns: np.ndarray, num_classes: int, trees: int = FOREST_TREES, seed: int = 0):
        self.columns = np.asarray(columns)
        self.num_classes = num_classes
        self.trees, self.seed = trees, seed
        self.forest = None

    def fit(self, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> None:
        from sklearn.ensemble import RandomForestClassifier

        self.forest = RandomForestClassifier(self.trees, n_jobs=1, random_state=self.seed)
        self.forest.fit(x[:, self.columns], y, sample_weight=weight)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(N, num_classes) of (N, len(columns)) rows (already only the forest's columns)."""
        out = np.zeros((len(x), self.num_classes), np.float32)
        out[:, self.forest.classes_] = self.forest.predict_proba(x)
        return out
