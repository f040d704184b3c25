"""A time budget that covers the whole run: preparation, training, validation and the post-processing
measurement all come out of it, so the user waits about the time they set.

The clock starts when ``train`` is called (before the data are checked). Training stops early enough to
leave room for what follows it: the final validation (estimated by the validation's share of the budget
until one has been timed, then by the last one's time) and the measurement of the dense CRF and flips on the
held-out images (at most ``POST_SHARE`` of the budget, estimated from the validation's speed and the CRF's speed
on this machine, ``crf.seconds_per_mpix``: a fixed guess left 6-8 % of a 300 s budget unused on a fast CPU). What the
progress shows is the whole run's: its fraction of the budget, and the time left of it.

Without a time budget (a number of epochs) the same estimates make the ETA: training left plus what follows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from seg_core.infer.postprocess import MAX_SECONDS
from seg_core.training.validation import share_s

POST_SHARE = 0.1  # of the time budget, the post-processing measurement at most
MARGIN_S = 1.0  # saving the checkpoint and the run's files, the processes' last agreement
MIN_TRAIN_S = 1.0  # training gets at least this (and at least one step), whatever preparation took
POST_FORWARDS = 4  # the measurement predicts each held-out image plain (twice: the class balance first) and flipped
# and runs the dense CRF on it twice (at the speed timed on this machine: Budget.crf_s_per_mpix)
POST_HEADROOM_S = 2.0  # under a time budget, reserved on top of that estimate: loading the best checkpoint, the
# estimate's error (a 40 s run on the sample had 1.6 s left without it and skipped the measurement)
MIN_POST_S = 1.0  # the measurement runs when this much is left (post_limits keeps its CRF to images that fit)
VALIDATION_SPACING = 6.0  # validations start at least this many times their own duration apart


@dataclass
class Budget:
    seconds: float | None  # the time budget, or None (epochs decide)
    began: float  # time.time() when the run was asked for
    validation_s: float = 0.0  # one validation, estimated
    post_s: float = 0.0  # the post-processing measurement, estimated
    post_pixels: tuple = ()  # the sizes of the held-out images it will measure
    crf_s_per_mpix: float = 0.0  # the dense CRF's speed on this machine for the run's classes

    @classmethod
    def start(cls, seconds: float | None, began: float | None = None) -> "Budget":
        return cls(seconds or None, time.time() if began is None else began, share_s(seconds) or 0.0)

    def timed_validation(self, seconds: float, pixels: int) -> None:
        """A validation of ``pixels`` took ``seconds``: the estimates follow it."""
        self.validation_s = seconds
        if self.post_pixels:
            forward = POST_FORWARDS * seconds / max(pixels, 1)
            estimate = sum(p * forward + 2 * self.crf_s_per_mpix * p / 1e6 for p in self.post_pixels)
            # the headroom only under a time budget: without one the estimate makes the ETA, which should not
            # jump when the first validation is timed
            self.post_s = min(self.post_cap(), estimate + (POST_HEADROOM_S if self.seconds else 0.0))

    def post_cap(self) -> float:
        return min(MAX_SECONDS, POST_SHARE * self.seconds) if self.seconds else MAX_SECONDS

    def expect_post(self, pixels: list[int], crf_s_per_mpix: float) -> None:
        """The measurement will take held-out images of ``pixels`` (none: no measurement), with a dense CRF that
        takes ``crf_s_per_mpix`` here; until a validation is timed, its estimate is its share of the budget."""
        self.post_pixels = list(pixels)
        self.crf_s_per_mpix = crf_s_per_mpix
        self.post_s = self.post_cap() if pixels and self.seconds else 0.0

    def post_limits(self) -> tuple[float, int]:
        """What the measurement may take now: seconds (the rest of the budget, at most its share) and the
        largest image, in pixels, whose CRF fits in them."""
        seconds = self.post_cap()
        left = self.left()
        if left is not None:
            seconds = min(seconds, left - MARGIN_S)
        return seconds, int(max(seconds, 0.0) / (2 * max(self.crf_s_per_mpix, 1e-3)) * 1e6)

    @property
    def after_training_s(self) -> float:
        """What follows the training, estimated: the final validation, the measurement, saving."""
        return self.validation_s + self.post_s + MARGIN_S

    def training_s(self, t0: float) -> float | None:
        """Seconds of training (from ``t0``, the first step's time) that leave room for what follows it."""
        if not self.seconds:
            return None
        return max(MIN_TRAIN_S, self.began + self.seconds - self.after_training_s - t0)

    def left(self, now: float | None = None) -> float | None:
        """Seconds of the budget left (None without one)."""
        if not self.seconds:
            return None
        return max(0.0, self.began + self.seconds - (time.time() if now is None else now))

    def fraction(self, now: float | None = None) -> float | None:
        if not self.seconds:
            return None
        return min(1.0, ((time.time() if now is None else now) - self.began) / self.seconds)

    def validation_due(self, last_end: float, interval_s: float, now: float | None = None) -> bool:
        """Whether a validation may start now, the last one having ended at ``last_end``: ``interval_s`` apart,
        and far enough apart that validating takes a small part of the run."""
        now = time.time() if now is None else now
        return now - last_end >= max(interval_s, VALIDATION_SPACING * self.validation_s)
