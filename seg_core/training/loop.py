"""Fine-tuning: frozen encoder stages first, then (optionally) the whole net at a lower encoder rate.

One process (``python -m seg_core train``, the app's background thread) or several under torchrun
(``torchrun --nproc_per_node N -m seg_core train ...``): then each process trains on its share of every
global batch with DistributedDataParallel (``distributed.py``), batch-norm statistics synchronised across
GPUs (SyncBatchNorm; on CPU each process normalises its own batch, rank 0's running statistics kept), and
only rank 0 reports progress.

The trainer trains and emits the training events (``seg_core.runs.events``) to its sinks, in rank 0 only; it
writes no file. ``train`` gives it the ``Recorder`` (``recorder.py``), which writes the run folder from those
events, and the caller's displays; rank 0 holds the runs folder's training lock (``seg_core.base.locks``) for
the whole run: the one place a training takes it.
"""
from __future__ import annotations

import gc
import random
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from seg_core.base.messages import with_details
from seg_core.training.class_weights import class_weights_for
from seg_core.base.device import (autocast, autocast_dtype, configure, grad_scaler, pick_device, pin_memory, precision_name,
                     use_all_cpu_threads)
from seg_core.training.distributed import Comm, Place
from seg_core.base.progress import Cancelled, cancelled
from seg_core.runs.events import End, Failed, Measured, Opened, Start, Status, Step, Unfreeze, Validation
from seg_core.model.losses import build_loss
from seg_core.base.mask_values import IGNORE
from seg_core.data.colour import prepare_for
from seg_core.data.imageio import reader as image_reader
from seg_core.data.imageio import image_size
from seg_core.infer.balance import KEY as BALANCE_KEY, fold, measure_balance
from seg_core.infer.crf import seconds_per_mpix as crf_seconds_per_mpix
from seg_core.infer.metrics import Confusion, scores
from seg_core.infer.postprocess import MAX_IMAGES, MAX_PIXELS as POST_MAX_PIXELS
from seg_core.infer.sliding_window import predict_labels
from seg_core.model.network import ModelSpec, build_model
from seg_core.objects.faint import KEY as FAINT_KEY, FaintTally, true_objects
from seg_core.runs.folder import CANCEL, Run
from seg_core.training.budget import MIN_POST_S, Budget
from seg_core.training.schedule import Schedule
from seg_core.training.validation import cut, describe, plan, share_s
from seg_core.training.averaging import Averaging
from seg_core.training.orientation import AFTER as TURN_CHECK_AT, Finding, quarter_turned, to_measure, turns_from_start
from seg_core.training.streaming import MB, CropSet, EpochSampler, PairReader, crop_loader
from seg_core.runs.config import DEFAULT_BUDGET_S, ConfigError, TrainConfig
from seg_core.training.training_data import TrainingData, colour_reference, load_training_data, model_input
from seg_core.training.recorder import Checkpoint, Recorder, Sink, display
from seg_core.base.locks import acquire, release


@dataclass
class Tally:
    """Counters of one run's loop (images counted over all processes)."""

    epoch: int = 0
    step: int = 0
    seen: int = 0  # images trained on
    skipped: int = 0  # batches without a labelled pixel
    step_time: float = 0.0  # seconds in training steps (batch reading and augmenting included)
    loss_avg: float | None = None
    best: float = -1.0  # best validation mIoU
    last_val: float = float("-inf")  # time of the last validation
    checkpoint: bool = False
    stopped: bool = False  # a stop (cancel, signal) was agreed on

    def half_step_s(self, current: float = 0.0) -> float:
        """Half the mean step so far (``current``: the seconds of a step not counted yet): a step that would
        start within this of the time budget's end is not started."""
        return 0.5 * (self.step_time + current) / max(self.step + self.skipped + bool(current), 1)


class Trainer:
    """One training run; ``run()`` returns the Run folder. ``cancel`` (set) ends it within one step.

    ``sinks``: what rank 0 sends every event to, in order (``Recorder``: the run folder; displays). An error in
    a sink stops the training: a display that must not is wrapped in ``recorder.display``."""

    def __init__(self, cfg: TrainConfig, sinks: Sequence[Sink] = (), cancel: threading.Event | None = None):
        self.cfg = cfg.validate()
        self.sinks = list(sinks)
        self.cancel = cancel or threading.Event()
        self.place = Place.from_env()

    def run(self) -> Run:
        """Train, rank 0 holding the runs folder's training lock: one training at a time per runs folder,
        across processes; raises TrainingBusy when another one holds it (in every process). A time budget
        counts from here (``budget.py``)."""
        cfg = self.cfg
        self.budget = Budget.start(cfg.time_budget if cfg.time_budget or cfg.epochs else DEFAULT_BUDGET_S)
        self.device = pick_device(self.cfg.device, self.place.local_rank)
        configure(self.device)
        self.comm = Comm.open(self.device, self.place)
        runs_dir, out = Path(self.cfg.out).parent, self.cfg.out
        try:
            with self.comm.stop_on_signals(self.cancel):
                self.comm.from_main(lambda: acquire(runs_dir, out))
                try:
                    return self._run_and_report()
                finally:
                    if self.comm.main:
                        release(runs_dir, out)
        finally:
            self.comm.close()

    def _run_and_report(self) -> Run:
        try:
            return self._run()
        except Cancelled:
            raise
        except BaseException as err:
            self._emit(Failed(f"{type(err).__name__}: {err}"))
            raise

    def _run(self) -> Run:
        cfg = self.cfg
        self._seed(cfg.seed)
        self._emit(Status("checking the data set"))
        data = self.comm.from_main(lambda: load_training_data(cfg)).masks_here()  # rank 0 reads the masks, once
        self._emit(Status(with_details("reading the masks", "mask values: " + " ".join(data.dataset.mask_rules))))
        self._check_stop()
        self._emit(Status(f"loading the network {cfg.backbone} (from run {Path(cfg.init_run).name})" if cfg.init_run
                          else with_details(f"loading the network {cfg.backbone}", f"{cfg.weights} weights")))
        self.reading = self.comm.from_main(lambda: model_input(cfg, data))  # channels; 16-bit, float: fixed ranges
        self.colour = self.comm.from_main(lambda: colour_reference(cfg, data, self.reading))  # one for all processes
        self._build(data)
        self._check_stop()
        self._open_run(data)
        world = self.place.world
        sizes = [data.val_dataset.sizes.get(s.stem) or image_size(s.image) for s in data.val]
        self.val_units = plan(sizes, cfg.seed)
        post = [h * w for h, w in sizes[:MAX_IMAGES] if h * w <= POST_MAX_PIXELS] if self.comm.main else []
        self.budget.expect_post(post, crf_seconds_per_mpix(data.num_classes) if post else 0.0)
        self.val_used: int | None = None  # units every validation scores: decided by the first one
        self.val_text = ""
        # which way up (orientation.py): all eight orientations from the start, or measured during the run
        self.augment = cfg.augment.any_way_round() if turns_from_start(cfg) else cfg.augment
        self.turn_check = to_measure(cfg, len(data.val))
        self.orientation: Finding | None = None
        loader = self._loader(data)
        t = Tally()
        t0 = time.time()
        sched = Schedule(max(1, -(-len(data.train) // (cfg.batch_size * world))), cfg.epochs,
                         self.budget.training_s(t0), cfg.freeze_depth, cfg.unfreeze_after, self.num_stages)
        self._emit(Start(self.trainable, sched.total_steps, self.budget.seconds, data.img_size, len(data.train),
                         len(data.val), world, str(self.device), precision_name(self.amp)))
        while True:
            if sched.unfreezes_at(t.epoch):
                self.trainable = self.model.freeze(0)
                self._wrap()  # DistributedDataParallel learns which parameters train when it is built
                self._emit(Unfreeze(t.epoch, self.trainable))
            batches = iter(loader)
            while True:
                ts = time.perf_counter()
                batch = next(batches, None)
                if batch is None:
                    break
                if self._train_step(batch, sched, t, t0, ts):
                    break
            t.epoch += 1
            finished, validate = self._epoch_end(sched, t, time.time() - t0)
            if t.step and (finished or validate):
                if finished and self.comm.main:
                    self._emit(Status("training done; validating on " + (self.val_text or "the held-out images")
                                      if data.val else "training done; saving"))
                first = self.val_used is None
                upright = self._validate(data, sched, t, time.time() - t0)
                if first and self.budget.seconds:  # timed now: training leaves room for the last one
                    sched = replace(sched, time_budget=self.budget.training_s(t0))
                at = sched.progress(t.step, time.time() - t0)
                if not finished and self.turn_check and self.comm.any([self.comm.main and at >= TURN_CHECK_AT])[0]:
                    if self._check_orientation(data, upright, at):  # rank 0's clock decides when, for all
                        del batches, loader
                        loader = self._crop_loader(data)  # its crops turned and flipped from now on
                # the validation took time: no step after it when the budget has no room for one (it was the last)
                finished = finished or self._no_room_for_a_step(sched, t, time.time() - t0)
            if finished:
                break
        seconds = time.time() - t0
        del batches, loader  # its worker processes end here
        return self._finish(data, t, seconds)

    # -- preparation ------------------------------------------------------------------------
    def _seed(self, seed: int) -> None:
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        self.rng = np.random.default_rng(seed)  # the same in every process: the same global batches
        use_all_cpu_threads(self.place.local_world)

    def _stop_requested(self) -> bool:
        """A stop asked of this process: the ``cancel`` event (the app's Cancel, a signal), or on rank 0 the run
        folder's cancel file (a Cancel from the app when the training runs in another process), or the run folder
        removed under it (the project or run deleted while a training of its own process went on: nothing left to
        write to)."""
        if cancelled(self.cancel):
            return True
        if not self.comm.main:
            return False
        out = Path(self.cfg.out)
        if out.is_dir():
            self._out_seen = True
        elif getattr(self, "_out_seen", False):
            return True
        return (out / CANCEL).exists()

    def _check_stop(self) -> None:
        if self.comm.any([self._stop_requested()])[0]:
            self.cancel.set()
            raise Cancelled("cancelled before the first training step; nothing was saved")

    def _build(self, data: TrainingData) -> None:
        """Model on its device with the first stages frozen, loss, optimiser, gradient scaler."""
        cfg = self.cfg
        self.amp = autocast_dtype(self.device, cfg.precision)
        model = build_model(ModelSpec(cfg.arch, cfg.backbone, data.num_classes, self.reading.in_channels),
                            "none" if cfg.init_run else cfg.weights)
        if cfg.init_run:
            init = Run(cfg.init_run)
            if init.classes.names != data.dataset.classes.names:
                raise ConfigError("init_run", f"run '{init.name}' was trained on the classes {init.classes.names}, "
                                              f"the data has {data.dataset.classes.names}; continue only with the "
                                              f"same classes")
            init.load_weights_into(model)
        self.num_stages = model.num_stages
        if self.comm.enabled and self.device.type == "cuda":  # batch statistics over all GPUs' crops
            from timm.layers import convert_sync_batchnorm  # keeps timm's fused norm + activation layers

            model = convert_sync_batchnorm(model)
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.trainable = self.model.freeze(cfg.freeze_depth)
        self.net = self.model
        self._wrap()
        self.class_weights = class_weights_for(cfg.class_weights, data.dataset, data.split["train"])
        weights = None if self.class_weights is None else torch.tensor(self.class_weights, dtype=torch.float32)
        self.loss_fn = build_loss(cfg.loss, weights).to(self.device)
        enc_lr = cfg.lr * cfg.encoder_lr_factor
        self.opt = torch.optim.AdamW([
            {"params": self.model.head_parameters(), "lr": cfg.lr, "base_lr": cfg.lr},
            {"params": self.model.encoder_parameters(), "lr": enc_lr, "base_lr": enc_lr},
        ], weight_decay=cfg.weight_decay)
        self.scaler = grad_scaler(self.device, self.amp)
        self.averaging = Averaging.for_config(cfg, self.model)  # TrainConfig.ema: the weights' moving average

    def _wrap(self) -> None:
        """With several processes, train through DistributedDataParallel (gradients averaged over the
        processes during backward), rebuilt when the trainable parameters change."""
        if not self.comm.enabled:
            return
        from torch.nn.parallel import DistributedDataParallel

        if self.net is not self.model:
            self.net = self.model
            gc.collect()  # the old wrapper's gradient hooks go with it
        ids = [self.device.index] if self.device.type == "cuda" else None
        self.net = DistributedDataParallel(self.model, device_ids=ids)

    def _loader(self, data: TrainingData):
        """Crops streamed from the training images: ``num_workers`` DataLoader processes (0: this one) read,
        decode and augment them; ``cache_mb`` bounds the decoded images kept, in all (see ``streaming.py``)."""
        cfg, place = self.cfg, self.place
        share = cfg.cache_mb * MB // place.local_world  # the processes on this machine share the size evenly
        reader = self.train_reader = PairReader(data.dataset, data.train, share, prepare_for(self.colour),
                                                image_reader(self.reading))
        self.val_reader = PairReader(data.val_dataset, data.val, 0, prepare_for(self.colour),
                                     image_reader(self.reading))  # each process scores its share of the units
        if cfg.num_workers:  # and so do the workers and this process (validation)
            self.val_reader.cache.limit = share // (cfg.num_workers + 1)
        else:  # one cache, for training and validation
            self.val_reader.cache = reader.cache
        return self._crop_loader(data)

    def _crop_loader(self, data: TrainingData):
        """The DataLoader of training crops from ``train_reader`` (its decoded images kept), augmented as
        ``self.augment`` says now."""
        cfg, place = self.cfg, self.place
        sampler = EpochSampler(len(data.train), cfg.batch_size, self.rng, place.rank, place.world)
        # colour jitter is for 8-bit gray and RGB values only; the geometric changes apply to every channel
        augment = self.augment if self.reading.photometric else replace(self.augment, colour=0.0)
        return crop_loader(CropSet(self.train_reader, data.img_size, augment), sampler, cfg.num_workers,
                           pin_memory(self.device))

    def _open_run(self, data: TrainingData) -> None:
        """Say the run's settings (the recorder creates the run folder from them)."""
        self.started = time.time()
        self.model.train()
        if not self.comm.main:
            return
        self._emit(Opened(self.cfg.to_dict() | {
            "num_classes": data.num_classes, "ignore_index": data.dataset.ignore_index,
            "mask_reading": data.dataset.reading.to_json(),
            "img_size": list(data.img_size), "num_stages": self.num_stages, "split": data.split,
            "colour_reference": self.colour.to_dict() if self.colour is not None else None,
            "input_normalisation": self.reading.intensities.to_dict() if self.reading.intensities is not None else None,
            **self.reading.to_config(),  # channels (names, in order), their layout and normalisation, in_channels
            "class_names": data.dataset.classes.names, "device": str(self.device),
            "amp": str(self.amp).replace("torch.", "") if self.amp else "fp32",
            "processes": self.place.world, "global_batch_size": self.cfg.batch_size * self.place.world,
        }, data.dataset.classes.to_json(), self.started, self.place.world))

    # -- the loop ---------------------------------------------------------------------------
    def _train_step(self, batch, sched: Schedule, t: Tally, t0: float, ts: float) -> bool:
        """One optimiser step on this process's share of a global batch, all processes together; returns
        True when the run ends here (a stop, the step count or the time budget)."""
        x, y = batch
        labelled = bool((y != IGNORE).any())
        stop, n_labelled = self.comm.sum([self._stop_requested(), labelled])
        if stop:
            t.stopped = True
            self.cancel.set()
            return True
        progress = sched.progress(t.step, time.time() - t0)
        lr_scale = sched.lr_factor(progress)
        for g in self.opt.param_groups:
            g["lr"] = g["base_lr"] * lr_scale
        loss = self._step(x, y, labelled, n_labelled) if n_labelled else 0.0
        elapsed = time.time() - t0
        # one agreement per step: the loss over the processes, and rank 0's clock on the time budget, which
        # stops before a step that would mostly fall after it (slow steps: large crops on a slow CPU)
        time_up, loss_sum = self.comm.sum([self.comm.main and sched.finished(
                                               t.step + bool(n_labelled),
                                               elapsed + t.half_step_s(time.perf_counter() - ts)),
                                           loss if labelled else 0.0])
        t.step_time += time.perf_counter() - ts
        if not n_labelled:  # no labelled pixel in any process's crops (scribbles): nothing to learn from
            t.skipped += 1
            return bool(time_up)
        loss = loss_sum / n_labelled
        t.step += 1
        t.seen += len(x) * self.place.world
        t.loss_avg = loss if t.loss_avg is None else 0.9 * t.loss_avg + 0.1 * loss
        frac, eta = self._whole_run(sched, t.step, elapsed)
        self._emit(Step(t.epoch + 1, t.step, sched.total_steps, loss, t.loss_avg, self.opt.param_groups[0]["lr"],
                        time.time() - self.budget.began, frac, eta, t.seen / max(elapsed, 1e-9),
                        sched.phase(t.epoch), t.skipped))
        return bool(time_up)

    def _no_room_for_a_step(self, sched: Schedule, t: Tally, elapsed: float) -> bool:
        """Whether the training time is up, or would be before half the next step (rank 0's clock, agreed)."""
        return self.comm.any([self.comm.main and sched.finished(t.step, elapsed + t.half_step_s())])[0]

    def _whole_run(self, sched: Schedule, step: int, elapsed: float) -> tuple[float, float | None]:
        """The whole run's progress (0..1) and seconds left, preparation and what follows training included:
        by the time budget's clock, or by the steps when a number of epochs ends the run sooner."""
        budget, now = self.budget, time.time()
        frac = budget.fraction(now) or 0.0
        eta = budget.left(now)
        if sched.total_steps:
            done = step / sched.total_steps
            by_steps = elapsed / done - elapsed + budget.after_training_s if done > 0 else None
            if by_steps is not None and (eta is None or by_steps < eta):
                eta = by_steps
                frac = (now - budget.began) / (now - budget.began + by_steps)
        return min(1.0, frac), eta

    def _step(self, x: torch.Tensor, y: torch.Tensor, labelled: bool, n_labelled: float) -> float:
        """Forward, backward, update on a batch of crops ((N, H, W, 3) uint8, (N, H, W) labels). With several
        processes, one whose crops hold no labelled pixel adds nothing (a zero loss), and the others' losses
        are scaled so the averaged gradient is that of the processes with labels."""
        non_blocking = self.device.type == "cuda"
        x = x.to(self.device, non_blocking=non_blocking).permute(0, 3, 1, 2).float().div_(255)
        x = x.contiguous(memory_format=torch.channels_last)
        y = y.to(self.device, non_blocking=non_blocking)
        with autocast(self.device, self.amp):
            logits = self.net(x)
        if labelled:
            loss = self.loss_fn(logits.float(), y)
            value = float(loss.detach())
            if n_labelled < self.place.world:
                loss = loss * (self.place.world / n_labelled)
        else:
            loss, value = logits.float().sum() * 0.0, 0.0
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        if self.averaging is not None:
            self.averaging.update(self.model)
        return value

    @property
    def scored(self) -> torch.nn.Module:
        """The network that is validated and saved: the weights' moving average when kept, else the weights."""
        return self.averaging.model if self.averaging is not None else self.model

    def _epoch_end(self, sched: Schedule, t: Tally, elapsed: float) -> tuple[bool, bool]:
        """(finished, validate now): agreed by all processes, rank 0's clock deciding the time."""
        main = self.comm.main
        stop, finished, validate = self.comm.any([
            t.stopped or self._stop_requested(), main and sched.finished(t.step, elapsed),
            main and self.budget.validation_due(t.last_val, self.cfg.val_interval_s)])
        if stop:
            t.stopped = True
            self.cancel.set()
        return stop or finished, validate

    def _scores(self, data: TrainingData, turned: bool = False) -> dict | None:
        """Scores on the held-out images' validation units (``validation.py``), each process predicting its
        share, the confusion matrices summed. The first validation under a time budget scores units until its
        share of the budget is spent (rank 0's clock, agreed after every round of units); later ones score
        the same units (``turned``: each turned a quarter, its prediction turned back: ``orientation.py``)."""
        units = self.val_units if self.val_used is None else self.val_units[:self.val_used]
        if not units:
            return None
        self.comm.same_buffers(self.model)
        self.model.eval()
        limit = share_s(self.budget.seconds) if self.val_used is None else None
        world, rank = self.place.world, self.place.rank
        cm, done, t = Confusion(data.num_classes), len(units), time.perf_counter()
        predict = lambda im: predict_labels(self.scored, im, amp_dtype=self.amp)  # noqa: E731
        for first in range(0, len(units), world):
            if first + rank < len(units):
                unit = units[first + rank]
                image, mask = cut(*self.val_reader[unit.image], unit)  # the image read once, kept in the cache
                cm.add(quarter_turned(predict, image) if turned else predict(image), mask)
            if limit is not None and first + world < len(units) and \
                    self.comm.any([self.comm.main and time.perf_counter() - t > limit])[0]:
                done = first + world
                break
        if self.val_used is None:
            self.val_used = done
            self.val_text = describe(self.val_units, done, len(data.val))
        return scores(self.comm.sum_array(cm.matrix))

    def _validate(self, data: TrainingData, sched: Schedule, t: Tally, elapsed: float) -> dict | None:
        """Score the held-out images and say so (a Validation: the recorder saves the checkpoint when best);
        returns the scores (None: no held-out image)."""
        began = time.time()
        m = self._scores(data)
        self.budget.timed_validation(time.time() - began, sum(u.pixels for u in self.val_units[:self.val_used]))
        scores_ = {}
        improved = True
        if m is not None:
            scores_ = {"val_miou": m["miou"], "val_dice": m["dice"], "val_pixel_accuracy": m["pixel_accuracy"]}
            improved = m["miou"] > t.best
            t.best = max(t.best, m["miou"])
        row = Validation(t.epoch, t.step, sched.phase(t.epoch - 1), round(elapsed, 2), t.loss_avg,
                         self.opt.param_groups[0]["lr"], t.seen / max(elapsed, 1e-9), self.trainable,
                         best=improved, scored_on=self.val_text, **scores_)
        if improved:
            t.checkpoint = True
            self._emit(Checkpoint(self.scored))
        self._emit(row)
        t.last_val = time.time()
        self.model.train()
        return m

    def _check_orientation(self, data: TrainingData, upright: dict | None, at: float) -> bool:
        """Score the held-out images turned a quarter, against the validation just done (``upright``, its scores);
        True when they read the same any way round and the rest of the run trains on all eight orientations
        (``orientation.py``). Once a run."""
        self.turn_check = False
        turned = self._scores(data, turned=True)
        self.model.train()
        if upright is None or turned is None:
            return False
        self.orientation = Finding(upright["miou"], turned["miou"], at)
        self._emit(Status(self.orientation.message()))
        if not self.orientation.any_way_round:
            return False
        self.augment = self.augment.any_way_round()
        return True

    def _finish(self, data: TrainingData, t: Tally, seconds: float) -> Run:
        if self.comm.main and t.checkpoint and data.val and not t.stopped:
            self._measure_postprocess(data)
        end = End("cancelled" if t.stopped else "done", t.epoch, t.step, seconds,
                  t.best if data.val and t.checkpoint else None, t.seen / max(seconds, 1e-9),
                  t.seen / max(t.step_time, 1e-9), t.checkpoint, round(time.time() - self.budget.began, 2),
                  self.budget.seconds)
        if self.comm.enabled:  # one line per process: each says where it stopped
            print(f"rank {self.place.rank}/{self.place.world}: {end.state} after step {end.steps}", file=sys.stderr,
                  flush=True)
        self._emit(end)
        return Run(self.cfg.out)

    def _measure_postprocess(self, data: TrainingData) -> None:
        """Score the best checkpoint on the held-out images: how much of the class weights' lean it keeps (folded
        into the checkpoint), then with and without CRF and flips, and how sure the model must be of an object for
        it to be counted; the run records all three, and prediction and ``measure`` follow its choices
        (``seg_core.infer.balance``, ``seg_core.infer.postprocess``, ``seg_core.objects.faint``). Under a time budget it takes
        what is left of the budget, at most its share (``budget.py``); with nothing left it is skipped."""
        from seg_core.infer.postprocess import measure

        n = min(len(data.val), MAX_IMAGES)
        cap, max_pixels = self.budget.post_limits()
        if cap < MIN_POST_S:
            self._emit(Status(with_details(
                "the time is up: whether sharper edges or mirrored copies help is not measured (predictions "
                "average mirrored copies, without sharper edges, until a model measures them)",
                "the dense CRF and flips (TTA) are not measured")))
            return
        pairs = PairReader(data.val_dataset, data.val[:n], 0, prepare_for(self.colour), image_reader(self.reading))
        best = Run(self.cfg.out).load_model(str(self.device))  # the best checkpoint, as the recorder saved it
        t0 = time.perf_counter()
        balance = self._measure_balance(best, pairs, data.num_classes, n, cap, max_pixels)
        cap -= time.perf_counter() - t0
        self._emit(Status(with_details(f"measuring whether sharper edges or mirrored copies help, on up to {n} "
                                       "image(s) kept aside", "the dense CRF and flips (TTA) on the held-out images")))
        tallies = {False: FaintTally(), True: FaintTally()}  # how objects are best counted, without / with flips

        def count_objects(probs: dict, label) -> None:
            true = true_objects(label, data.num_classes)  # once for both
            for tta, p in probs.items():
                tallies[tta].add(p.argmax(0), p.max(0), true, data.num_classes)

        measured = measure(best, pairs, data.num_classes, self.amp, cancel=self.cancel, max_seconds=cap,
                           max_pixels=max_pixels, each=count_objects)
        if measured.get("images"):
            measured[FAINT_KEY] = tallies[bool(measured["tta"])].choose()
        if balance is not None:
            measured[BALANCE_KEY] = balance.to_dict()
        if self.orientation is not None:
            measured["orientation"] = self.orientation.to_dict()
        self._emit(Measured(measured))

    def _measure_balance(self, best, pairs, num_classes: int, n: int, cap: float, max_pixels: int):
        """With the automatic (balanced) class weights, how much of their lean toward rare classes the best
        checkpoint keeps, measured on the held-out images; a strength other than 0 is folded into its last layer
        and saved as the run's checkpoint (``seg_core.infer.balance``). None when not measured."""
        w = self.class_weights
        if self.cfg.class_weights != "balanced" or not w or len(set(w)) < 2:
            return None
        self._emit(Status(with_details(f"checking how strongly rare classes should be favoured, on up to {n} "
                                       "image(s) kept aside", "the class weights' lean (logit offsets) on the "
                                                              "held-out images")))
        balance = measure_balance(best, pairs, w, num_classes, self.amp, cancel=self.cancel,
                                  max_images=n, max_seconds=cap / 4, max_pixels=max_pixels)
        if balance.strength:
            fold(best, balance)
            self._emit(Checkpoint(best))  # the recorder saves it: every reader of the run predicts with it
        return balance

    def _emit(self, event) -> None:
        """Rank 0's voice: every sink in order (one that raises stops the run)."""
        if not self.comm.main:
            return
        for sink in self.sinks:
            sink(event)


def train(cfg: TrainConfig, displays: Sink | Iterable[Sink] | None = None,
          cancel: threading.Event | None = None) -> Run:
    """Train per ``cfg``: the run folder written by a ``Recorder``, each of ``displays`` (one callable or
    several: each a ``recorder.display``, its errors ignored) called with the events of ``seg_core.runs.events``.

    Raises ConfigError for a setting out of range, DatasetError for data problems (each naming its
    file), TrainingBusy when another training holds the runs folder's lock, Cancelled
    (``seg_core.base.progress``) when ``cancel`` is set before the first step (no run folder is written)."""
    shown = [] if displays is None else [displays] if callable(displays) else list(displays)
    return Trainer(cfg, [Recorder(cfg.out), *map(display, shown)], cancel).run()
