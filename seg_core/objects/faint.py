"""How sure the model must be of an object for it to be counted (``ObjectSettings.min_confidence``, the
faint-region rule), measured on a run's held-out images when training ends, as flips and the CRF are
(``seg_core.infer.postprocess``, which records the result in the run's postprocess.json under "objects").

Leaving out the regions the model is nowhere 95 % sure of raised the object F1 on every set and training
length measured (stained nuclei, GOWT1 and HeLa fluorescence, 75 s and 300 s trainings: +0.003-0.05;
benchmarks/results/2026-12-06-bench_objects.md): they are mostly specks and slivers. What depends on the data
is how sure the model is of real objects: a model that is unsure of dim ones (a short training, a stain it
has seen little of) would lose them, and the count falls short (one GOWT1 training left out 8 real nuclei of
126: its count was 16.7 % short where keeping them gave 3.8 %).

So each held-out image's objects are found as ``measure`` finds them, every region kept, and compared with the
objects of its true mask found the same way: how many each confidence in ``CANDIDATES`` would count, and their
F1 (matched at IoU 0.5). The rule is relaxed only where that is better on both: a count nearer the true one by
at least ``margin`` objects, and an F1 no lower (as many objects outlined right, for fewer wrong ones), on at
least ``MIN_OBJECTS`` true objects; among such confidences the one counting nearest the truth. Otherwise the
default holds, and the rule is never made stricter than it. The count alone misleads: on one held-out stained
tile that the default under-counted (283 of 298 nuclei) it chose 0.5-0.7, which on ten unseen tiles of the
same collection lowered the F1 by 0.04 and counted further from the truth (benchmarks/results/
2026-12-06-bench_objects.md); the held-out F1 fell there too, so the rule as it is keeps the default.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from seg_core.objects.instances import label_objects, peak_confidence, without
from seg_core.objects.matching import Match, match_objects
from seg_core.objects.settings import ObjectSettings

DEFAULT = ObjectSettings().min_confidence
CANDIDATES = (0.0, 0.5, 0.7, 0.9, DEFAULT)  # never stricter than the default
MIN_OBJECTS = 10  # true objects on the held-out images a measured choice needs
KEY = "objects"  # where postprocess.json keeps the result
EVERY = replace(ObjectSettings(), min_confidence=0.0)  # objects as ``measure`` finds them, every region kept


def margin(true_objects: int) -> int:
    """How many objects nearer the true count a relaxed rule must come than the default's: 2, or 2 % of the
    true count where that is more (one object either way is noise on a few images)."""
    return max(2, int(np.ceil(0.02 * true_objects)))


def true_objects(truth: np.ndarray, num_classes: int) -> np.ndarray:
    """The objects of a held-out image's true classes (values of ``num_classes`` or more: not an object), found
    as ``measure`` finds them: the label image ``FaintTally.add`` matches against."""
    return label_objects(np.where(truth < num_classes, truth, 0), None, EVERY, num_classes).labels


@dataclass
class FaintTally:
    """Summed over held-out images, per candidate confidence: the objects counted there matched to the true
    objects (``Match``: its counts, true positives and F1)."""

    images: int = 0
    matches: dict[float, Match] = field(
        default_factory=lambda: {c: Match(0, 0, 0, [], 0, 0) for c in CANDIDATES})

    def add(self, mask: np.ndarray, confidence: np.ndarray, true: np.ndarray, num_classes: int) -> None:
        """One held-out image: ``mask`` the predicted classes, ``confidence`` the predicted class's
        probability (0..1), ``true`` its true objects (``true_objects``)."""
        found = label_objects(mask, None, EVERY, num_classes).labels
        peak = peak_confidence(found, confidence)
        self.images += 1
        for c in CANDIDATES:
            self.matches[c] += match_objects(without(found, peak < c), true)

    @property
    def true(self) -> int:
        return self.matches[DEFAULT].true

    def counted(self, c: float) -> int:
        return self.matches[c].predicted

    def f1(self, c: float) -> float:
        return self.matches[c].f1

    def choose(self) -> dict:
        """The confidence to count objects at, and why: {"min_confidence", "reason", "images", "true_objects",
        "counted", "f1"} (the last two per candidate, keyed by its text), for postprocess.json."""
        record = {"images": self.images, "true_objects": self.true,
                  "counted": {f"{c:g}": self.counted(c) for c in CANDIDATES},
                  "f1": {f"{c:g}": round(self.f1(c), 4) for c in CANDIDATES}}
        where = f"on {self.images} held-out image{'s' if self.images != 1 else ''}"
        if self.true < MIN_OBJECTS:
            return record | {"min_confidence": DEFAULT, "reason": (
                f"faint regions (nowhere {DEFAULT:.0%} sure) left out: {self.true} true object(s) {where}, too "
                f"few to measure by (at least {MIN_OBJECTS})")}
        error = {c: abs(self.counted(c) - self.true) for c in CANDIDATES}
        better = [c for c in CANDIDATES if error[DEFAULT] - error[c] >= margin(self.true)
                  and self.f1(c) >= self.f1(DEFAULT)]
        if better:
            best = min(better, key=lambda c: (error[c], -c))
            return record | {"min_confidence": best, "reason": (
                f"faint regions counted down to {best:.0%} sure: {self.counted(best)} counted of {self.true} true "
                f"objects {where} (F1 {self.f1(best):.3f}), where leaving out those under {DEFAULT:.0%} counted "
                f"{self.counted(DEFAULT)} (F1 {self.f1(DEFAULT):.3f})")}
        nearest = min(CANDIDATES, key=lambda c: (error[c], -c))
        if error[nearest] >= error[DEFAULT]:
            why = "counting more of them came no nearer the true count"
        elif self.f1(nearest) < self.f1(DEFAULT):
            why = (f"counting down to {nearest:.0%} sure came nearer ({self.counted(nearest)}) but matched fewer "
                   f"(F1 {self.f1(nearest):.3f})")
        else:
            why = f"counting down to {nearest:.0%} sure came only {error[DEFAULT] - error[nearest]} nearer"
        return record | {"min_confidence": DEFAULT, "reason": (
            f"faint regions (nowhere {DEFAULT:.0%} sure) left out: {self.counted(DEFAULT)} counted of {self.true} "
            f"true objects {where} (F1 {self.f1(DEFAULT):.3f}); {why}")}


def resolve_min_confidence(recorded: dict | None, given: float | None = None) -> tuple[float, str]:
    """The confidence objects are counted at, and why: ``given`` (the user's) where not None, else what the
    run measured (``recorded``: its postprocess.json, or None), else the default."""
    measured = (recorded or {}).get(KEY) or {}
    if given is not None:
        return given, f"objects counted where the model is at least {given:.0%} sure somewhere (set by you)"
    if "min_confidence" in measured:
        return float(measured["min_confidence"]), str(measured.get("reason", ""))
    return DEFAULT, f"faint regions (nowhere {DEFAULT:.0%} sure) left out: not measured by the run"
