"""How much the preview trusts each of its classifiers, measured on the strokes themselves.

The preview shows a weighted mean of two classifiers' class probabilities: a small network on all the features
(the frozen encoder's and the fine filters) and a random forest on the fine filters alone (the ilastik-style
bank). Each classifier is scored on the pixels painted since it was last trained, which none of them was shown
(held out), and which the user painted where the suggestion, not one classifier in particular, was wrong. A
classifier's weight is ``exp(-SHARPNESS * sum of its held-out losses)`` normalised (prequential Bayesian model averaging,
one loss per update: the root mean square of its losses on the classes painted so far), optionally after a start (a handicap for the one that is not the safest: the preview starts
on the forest, which is the ilastik-style pixel classifier itself, or with a trained model on the network that
carries its answer), and moving to the one that labels new strokes right.

Why: the encoder's features vary slowly across the image, so from a few strokes a classifier on them can learn
"near this stroke" rather than "looks like this stroke"; thin lines and small spots then go wrong, where a
forest on the fine filters carries them (as the ilastik-style pixel classifier does). Where the encoder's
features tell the classes apart (street scenes, stained nuclei with examples), the network keeps the weight.
"""
from __future__ import annotations

import numpy as np

SHARPNESS = 3.0  # a classifier's weight is exp(-SHARPNESS * its loss), normalised


class HeldOutWeights:
    """Weights of the named classifiers from their losses on held-out pixels: ``add`` after each update's new
    strokes, ``weights()`` for the mean shown."""

    def __init__(self, names, num_classes: int, start: dict[str, float] | None = None):
        """``start``: name -> a loss it starts with (a handicap: what its held-out losses must make up for before
        it gets an equal weight); none by default."""
        self.names = tuple(names)
        self.num_classes = num_classes
        self.start = np.array([(start or {}).get(name, 0.0) for name in self.names], float)
        self.class_loss = np.zeros((len(self.names), num_classes))  # summed over the updates that held the class
        self.class_updates = np.zeros(num_classes)  # the updates whose new pixels held the class
        self.updates = 0

    def add(self, probs: dict[str, np.ndarray], classes: np.ndarray) -> None:
        """``probs``: name -> (N, num_classes) probabilities of the new pixels, whose true ``classes`` are (N,).
        Each update, each classifier's loss on each class present is the mean 1 - (probability of the true class)
        over that class's new pixels: between 0 and 1 (a bounded loss: one confidently wrong stroke does not decide
        alone)."""
        if not len(classes):
            return
        count = np.bincount(classes, minlength=self.num_classes)
        present = count > 0
        for k, name in enumerate(self.names):
            wrong = 1.0 - probs[name][np.arange(len(classes)), classes]
            self.class_loss[k, present] += np.bincount(classes, weights=wrong,
                                                       minlength=self.num_classes)[present] / count[present]
        self.class_updates += present
        self.updates += 1

    @property
    def loss(self) -> np.ndarray:
        """Each classifier's loss: its start plus, per update, the root mean square over the classes painted so far
        of its loss on each class (each class's mean over the updates that held it). Every class counts, the worse
        ones more: the annotator paints where the suggestion shown is wrong, so most held-out pixels are of the
        classes the classifier weighted most gets wrong, and a classifier that never gives a rare class (small
        spots) is right on every stroke of the other class; on the rare class's strokes it is not. Measured
        (benchmarks/results/2026-12-05-bench_assist.md): the mean over the pixels gave spots to a network that
        never gives one; the worst class alone took the weight from the network on street scenes, where both
        classifiers label some class of eleven badly on every stroke."""
        seen = self.class_updates > 0
        if not seen.any():
            return self.start.copy()
        per_class = self.class_loss[:, seen] / self.class_updates[seen]
        return self.start + self.updates * np.sqrt((per_class ** 2).mean(axis=1))

    def weights(self) -> dict[str, float]:
        """name -> weight (summing to 1)."""
        w = np.exp(-SHARPNESS * (self.loss - self.loss.min()))
        return dict(zip(self.names, (w / w.sum()).tolist()))
