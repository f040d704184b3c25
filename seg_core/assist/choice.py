"""How much the preview trusts each of its classifiers, measured on the strokes themselves.

The preview shows a weighted mean of three classifiers' class probabilities: a small network on all the features
(the frozen encoder's and the fine filters), a strongly regularised linear classifier on all the features, and a
random forest on the fine filters alone (the ilastik-style bank). Each classifier is scored on the pixels painted
since it was last trained, which none of them was shown (held out), and which the user painted where the
suggestion, not one classifier in particular, was wrong. A classifier's weight is ``exp(-SHARPNESS * sum of its
held-out losses)`` normalised (prequential Bayesian model averaging, one loss per update): equal before any stroke
can tell, and moving to the one that labels new strokes right.

Why: the encoder's features vary slowly across the image, so from a few strokes the network learns "near this
stroke" rather than "looks like this stroke" and paints small spots, blobs and thin lines far too widely; the linear
classifier cannot bend around the strokes and the forest on the fine filters carries what the encoder's grid is too
coarse for (as the ilastik-style pixel classifier does). Where the encoder's features tell the classes apart
(street scenes, stained nuclei with examples), the network keeps the weight.
"""
from __future__ import annotations

import numpy as np

SHARPNESS = 3.0  # a classifier's weight is exp(-SHARPNESS * its summed losses), normalised


class HeldOutWeights:
    """Weights of the named classifiers from their losses on held-out pixels: ``add`` after each update's new
    strokes, ``weights()`` for the mean shown."""

    def __init__(self, names, num_classes: int):
        self.names = tuple(names)
        self.num_classes = num_classes
        self.loss = np.zeros(len(self.names))

    def add(self, probs: dict[str, np.ndarray], classes: np.ndarray) -> None:
        """``probs``: name -> (N, num_classes) probabilities of the new pixels, whose true ``classes`` are (N,).
        Each classifier's loss is the mean over the classes present of the mean 1 - (probability of the true
        class) over that class's pixels: between 0 and 1 (a bounded loss: one confidently wrong stroke, which the
        annotator paints where the suggestion is wrong, does not decide alone), each class counting the same."""
        if not len(classes):
            return
        count = np.bincount(classes, minlength=self.num_classes)
        present = count > 0
        for k, name in enumerate(self.names):
            wrong = 1.0 - probs[name][np.arange(len(classes)), classes]
            per_class = np.bincount(classes, weights=wrong, minlength=self.num_classes)[present] / count[present]
            self.loss[k] += per_class.mean()

    def weights(self) -> dict[str, float]:
        """name -> weight (summing to 1)."""
        w = np.exp(-SHARPNESS * (self.loss - self.loss.min()))
        return dict(zip(self.names, (w / w.sum()).tolist()))
