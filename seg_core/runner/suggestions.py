"""Suggestions while labelling (the Annotate page), in the background: a ``LivePreview`` of one workspace image,
learned from its strokes and from the workspace's other labelled masks (``seg_core.workspace.suggestions``),
built on a worker thread and updated after each edit.

A ``Suggester`` owns one worker thread. ``request(labels, version)`` hands it the labels as saved; it answers
only the newest request (a request that comes while it works replaces the one waiting: a late suggestion is
dropped, never queued), so saving an edit never waits for a suggestion. ``suggester(ws, stem, image, n)``
keeps the few in use, keyed by everything they learned from (the image's file, the other masks' versions).
The worker imports the engine's torch parts itself, so asking for a suggester never waits for them.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from seg_core.base.mask_values import UNLABELLED
from seg_core.workspace.suggestions import example_stems, examples

if TYPE_CHECKING:
    from seg_core.assist import LivePreview

UNSURE_BELOW = 0.65  # "paint here next": unpainted pixels whose suggested class has less than this probability
THREADS = 1  # torch threads of each suggester's worker
KEPT = 3  # suggesters kept (images recently open, in any tab)


@dataclass(frozen=True)
class Suggestion:
    """The suggested class of every pixel for the labels of ``version``; ``unsure`` the unpainted pixels
    where it is least sure (None when it could not tell, e.g. one class only)."""

    mask: np.ndarray
    unsure: np.ndarray | None
    version: object
    examples: int  # other labelled images it learned from
    painted: int  # painted pixels of this image it learned from
    seconds: float  # the update's time
    serial: int = 0  # 1, 2, ... in the order the suggester made them
    run: str | None = None  # the trained run whose prediction it learned from too, if any


class Suggester:
    """A live preview of one image, in a worker thread: ``request``, then ``wait`` or ``latest``."""

    def __init__(self, image: np.ndarray, num_classes: int, examples: Callable[[], list[tuple[np.ndarray, np.ndarray]]],
                 name: str = "image", run=None):
        self.image, self.num_classes, self.name = image, int(num_classes), name
        self._examples = examples
        self.run = run  # a trained Run whose class probabilities join the features (None: strokes and examples only)
        self.examples = 0
        self.preview: LivePreview | None = None
        self.error: str | None = None
        self._cond = threading.Condition()
        self._pending: tuple[np.ndarray, object] | None = None
        self._asked: object = object()  # the version asked for last (none yet)
        self._serial = itertools.count(1)
        self._latest: Suggestion | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=f"suggestions {name}", daemon=True)
        self._thread.start()

    @property
    def ready(self) -> bool:
        return self.preview is not None

    def request(self, labels: np.ndarray, version: object) -> None:
        """Ask for the suggestion of these labels (class indices, 255 unpainted) at ``version``; replaces any
        waiting request. Asking again for the version asked last does nothing."""
        with self._cond:
            if version == self._asked:
                return
            self._asked = version
            self._pending = (np.array(labels, np.uint8, copy=True), version)
            self._cond.notify_all()

    def latest(self) -> Suggestion | None:
        with self._cond:
            return self._latest

    def wait(self, version: object, timeout: float, stop: Callable[[], bool] | None = None,
             step: float = 0.05) -> Suggestion | None:
        """The suggestion for ``version`` once it is there, within ``timeout`` seconds (else the latest one, or
        None). ``stop`` is asked between short waits of ``step`` seconds; True ends the wait (the page stops
        waiting when a newer edit arrives)."""
        end = time.monotonic() + timeout
        while True:
            with self._cond:
                got = self._latest
                if (got is not None and got.version == version) or self.error or self._closed:
                    return got
                left = end - time.monotonic()
                if left <= 0:
                    return got
                self._cond.wait(min(step, left))
            if stop is not None and stop():
                return self.latest()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _model(self):
        """The run's class probabilities of an image, (H, W, C), as ``LivePreview(model=...)`` takes them; None
        without a run."""
        if self.run is None:
            return None
        import torch

        from seg_core.infer.predictor import Predictor

        predictor = Predictor(self.run)
        torch.set_num_threads(THREADS)  # the predictor asks for every core; this worker keeps to its one

        def probabilities(image: np.ndarray) -> np.ndarray:
            got = predictor.predict(image, crf=False)
            if got.probs is None:  # an image too large for class probabilities
                raise ValueError(got.note)
            return got.probs.transpose(1, 2, 0)
        return probabilities

    def _work(self) -> None:
        try:
            import torch

            from seg_core.assist import LivePreview

            # one thread for this worker's torch work (the setting is the calling thread's own): a small
            # classifier gains nothing from two, and on two cores two threads that wait on each other while the
            # page, the browser or a training run also want the CPU made each update 5-8x slower (measured on
            # 512x512 membrane slices: 0.24 s a stroke with one thread, 1.2-3.8 s with two, under load)
            torch.set_num_threads(THREADS)
            examples = self._examples()
            self.examples = len(examples)
            preview = LivePreview(self.image, self.num_classes, examples, model=self._model())
        except Exception as err:  # a damaged example or an image too odd to read: say so, keep painting
            from seg_core.assist.preview import failure_message

            self.error = failure_message(self.name, err)
            with self._cond:
                self._cond.notify_all()
            return
        with self._cond:
            self.preview = preview
            self._cond.notify_all()
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                labels, version = self._pending
                self._pending = None
            t0 = time.perf_counter()
            try:
                from seg_core.assist.features import resize_channels

                mask = preview.update(labels)
            except Exception as err:  # e.g. labels of a class removed meanwhile: this request only
                self.error = f"{self.name}: no suggestion for these labels ({err})"
                continue
            self.error = None
            painted = labels != UNLABELLED
            unsure = None
            if preview.probabilities is not None:
                sure = preview.probabilities.max(axis=-1).astype(np.float32)
                if sure.shape != labels.shape:
                    sure = resize_channels(sure[..., None], labels.shape)[..., 0]
                unsure = (sure < UNSURE_BELOW) & ~painted
            got = Suggestion(mask, unsure, version, self.examples, int(painted.sum()), time.perf_counter() - t0,
                             next(self._serial), None if self.run is None else self.run.name)
            with self._cond:
                self._latest = got
                self._cond.notify_all()


_KEPT: OrderedDict[tuple, Suggester] = OrderedDict()
_LOCK = threading.Lock()


def suggester(ws, stem: str, image: np.ndarray, num_classes: int, image_version: object = None,
              run=None) -> Suggester:
    """The ``Suggester`` of ``stem`` in workspace ``ws`` (one of the few kept), a new one when the image, the
    classes, the other masks or the trained ``run`` it also learns from (None: none) changed since."""
    stamp = tuple(ws.masks_stamp())
    chosen = example_stems(stamp, stem)
    key = (str(ws.root), stem, image_version, int(num_classes),
           tuple((name, t) for name, t in stamp if name[:-4] in chosen), None if run is None else str(run.path))
    with _LOCK:
        got = _KEPT.get(key)
        if got is None or (got.error and not got.ready):
            got = _KEPT[key] = Suggester(image, num_classes, lambda: examples(ws, chosen, num_classes), stem, run)
        _KEPT.move_to_end(key)
        while len(_KEPT) > KEPT:
            _KEPT.popitem(last=False)[1].close()
    return got
