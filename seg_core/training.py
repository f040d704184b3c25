"""Fine-tuning: frozen encoder stages first, then (optionally) the whole net at a lower encoder rate."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .augment import random_crop
from .class_weights import class_weights_for
from .device import autocast, autocast_dtype, grad_scaler, pick_device, use_all_cpu_threads
from .evaluation import evaluate_pairs
from .events import End, Progress, Start, Status, Step, Unfreeze, Validation
from .losses import build_loss
from .mask_values import IGNORE
from .model import ModelSpec, build_model
from .runs import CLASSES, Run
from .schedule import Schedule
from .train_config import TrainConfig
from .training_data import TrainingData, epoch_batches, load_training_data
from .train_lock import this_process, training_lock


class Cancelled(Exception):
    """The user cancelled before the first step: nothing to save."""


@dataclass
class Tally:
    """Counters of one run's loop."""

    epoch: int = 0
    step: int = 0
    seen: int = 0  # images trained on
    skipped: int = 0  # batches without a labelled pixel
    step_time: float = 0.0  # seconds in training steps
    loss_avg: float | None = None
    best: float = -1.0  # best validation mIoU
    last_val: float = float("-inf")  # time of the last validation
    checkpoint: bool = False


class Trainer:
    """One training run; ``run()`` returns the Run folder. ``stop`` ends it within one step."""

    def __init__(self, cfg: TrainConfig, progress: Progress | None = None, stop: threading.Event | None = None):
        self.cfg = cfg.validate()
        self.progress = progress or (lambda event: None)
        self.stop = stop or threading.Event()
        self.history: list[Validation] = []
        self.run_folder: Run | None = None

    def run(self) -> Run:
        """Train, holding the runs folder's training lock (``train_lock``): one training at a time per runs
        folder, across processes; raises TrainingBusy when another one holds it."""
        with training_lock(Path(self.cfg.out).parent, self.cfg.out):
            return self._run_and_record()

    def _run_and_record(self) -> Run:
        try:
            return self._run()
        except BaseException as err:
            if self.run_folder is not None:
                self.run_folder.write_status(state="failed", error=f"{type(err).__name__}: {err}")
            raise

    def _run(self) -> Run:
        cfg = self.cfg
        self._seed(cfg.seed)
        self._emit(Status("checking the data set"))
        data = load_training_data(cfg)
        self._emit(Status("mask values: " + " ".join(data.dataset.mask_rules)))
        self._check_stop()
        self._emit(Status(f"loading {cfg.backbone} (weights of run {Path(cfg.init_run).name})" if cfg.init_run
                          else f"loading {cfg.backbone} ({cfg.weights} weights)"))
        self._build(data)
        self._check_stop()
        run = self._open_run(data)
        sched = Schedule(max(1, -(-len(data.train_pairs) // cfg.batch_size)), cfg.epochs, cfg.time_budget,
                         cfg.freeze_depth, cfg.unfreeze_after, self.num_stages)
        self._emit(Start(self.trainable, sched.total_steps, sched.time_budget, data.img_size,
                         len(data.train_pairs), len(data.val_pairs)))
        t = Tally()
        t0 = time.time()
        while True:
            if sched.unfreezes_at(t.epoch):
                self.trainable = self.model.freeze(0)
                self._emit(Unfreeze(t.epoch, self.trainable))
            for idx in epoch_batches(len(data.train_pairs), cfg.batch_size, self.rng):
                if self.stop.is_set():
                    break
                self._train_step(data, idx, sched, t, t0)
                if sched.finished(t.step, time.time() - t0):
                    break
            t.epoch += 1
            finished = self.stop.is_set() or sched.finished(t.step, time.time() - t0)
            if t.step and (finished or time.time() - t.last_val >= cfg.val_interval_s):
                self._validate_and_save(run, data, sched, t, time.time() - t0)
            if finished:
                break
        return self._finish(run, data, t, time.time() - t0)

    # -- preparation ------------------------------------------------------------------------
    def _seed(self, seed: int) -> None:
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        self.rng = np.random.default_rng(seed)
        use_all_cpu_threads()

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise Cancelled("cancelled before the first training step; nothing was saved")

    def _build(self, data: TrainingData) -> None:
        """Model on its device with the first stages frozen, loss, optimiser, gradient scaler."""
        cfg = self.cfg
        self.device = pick_device(cfg.device)
        self.amp = autocast_dtype(self.device, cfg.precision)
        model = build_model(ModelSpec(cfg.arch, cfg.backbone, data.num_classes),
                            "none" if cfg.init_run else cfg.weights)
        if cfg.init_run:
            Run(cfg.init_run).load_weights_into(model, data.dataset.classes)
        self.num_stages = model.num_stages
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.trainable = self.model.freeze(cfg.freeze_depth)
        weights = class_weights_for(cfg.class_weights, data.dataset, data.split["train"])
        self.loss_fn = build_loss(cfg.loss, None if weights is None else torch.tensor(weights)).to(self.device)
        enc_lr = cfg.lr * cfg.encoder_lr_factor
        self.opt = torch.optim.AdamW([
            {"params": self.model.head_parameters(), "lr": cfg.lr, "base_lr": cfg.lr},
            {"params": self.model.encoder_parameters(), "lr": enc_lr, "base_lr": enc_lr},
        ], weight_decay=cfg.weight_decay)
        self.scaler = grad_scaler(self.device, self.amp)

    def _open_run(self, data: TrainingData) -> Run:
        """Create the run folder with its config, classes and a 'running' status."""
        run = Run(self.cfg.out)
        run.path.mkdir(parents=True, exist_ok=True)
        data.dataset.classes.save(run.path / CLASSES)
        run.write_config(self.cfg.to_dict() | {
            "num_classes": data.num_classes, "ignore_index": data.dataset.ignore_index,
            "mask_reading": data.dataset.reading.to_json(),
            "img_size": list(data.img_size), "num_stages": self.num_stages, "split": data.split,
            "class_names": data.dataset.classes.names, "device": str(self.device),
            "amp": str(self.amp).replace("torch.", "") if self.amp else "fp32",
        })
        self.started = time.time()
        run.write_status(state="running", started=self.started, **this_process())  # pid: see Run.state
        self.run_folder = run
        self.model.train()
        return run

    # -- the loop ---------------------------------------------------------------------------
    def _train_step(self, data: TrainingData, idx: np.ndarray, sched: Schedule, t: Tally, t0: float) -> None:
        lr_scale = sched.lr_factor(sched.progress(t.step, time.time() - t0))
        for g in self.opt.param_groups:
            g["lr"] = g["base_lr"] * lr_scale
        ts = time.perf_counter()
        loss = self._step(data, idx)
        t.step_time += time.perf_counter() - ts
        if loss is None:  # no labelled pixel in this batch (scribbles): nothing to learn from
            t.skipped += 1
            return
        t.step += 1
        t.seen += len(idx)
        t.loss_avg = loss if t.loss_avg is None else 0.9 * t.loss_avg + 0.1 * loss
        elapsed = time.time() - t0
        frac = sched.progress(t.step, elapsed)
        self._emit(Step(t.epoch + 1, t.step, sched.total_steps, loss, t.loss_avg, self.opt.param_groups[0]["lr"],
                        elapsed, frac, elapsed / frac - elapsed if frac > 0 else None, t.seen / max(elapsed, 1e-9),
                        sched.phase(t.epoch), t.skipped))

    def _step(self, data: TrainingData, idx: np.ndarray) -> float | None:
        """One optimiser step on a batch of random crops; None when the batch has no labelled pixel."""
        crops = [random_crop(*data.train_pairs[i], data.img_size, self.cfg.augment, self.rng) for i in idx]
        y = torch.from_numpy(np.stack([c[1] for c in crops]).astype(np.int64))
        if (y == IGNORE).all():
            return None
        x = torch.from_numpy(np.stack([c[0] for c in crops])).permute(0, 3, 1, 2).float().div_(255)
        x = x.to(self.device, memory_format=torch.channels_last)
        with autocast(self.device, self.amp):
            logits = self.model(x)
        loss = self.loss_fn(logits.float(), y.to(self.device))
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        return float(loss.detach())

    def _validate_and_save(self, run: Run, data: TrainingData, sched: Schedule, t: Tally, elapsed: float) -> None:
        scores = {}
        improved = True
        if data.val_pairs:
            m = evaluate_pairs(self.model, data.val_pairs, data.num_classes, self.amp)
            scores = {"val_miou": m["miou"], "val_dice": m["dice"], "val_pixel_accuracy": m["pixel_accuracy"]}
            improved = m["miou"] > t.best
            t.best = max(t.best, m["miou"])
        row = Validation(t.epoch, t.step, sched.phase(t.epoch - 1), round(elapsed, 2), t.loss_avg,
                         self.opt.param_groups[0]["lr"], t.seen / max(elapsed, 1e-9), self.trainable,
                         best=improved, **scores)
        if improved:
            run.save_checkpoint(self.model)
            t.checkpoint = True
        self.history.append(row)
        run.write_history(self.history)
        self._emit(row)
        t.last_val = time.time()
        self.model.train()

    def _finish(self, run: Run, data: TrainingData, t: Tally, seconds: float) -> Run:
        end = End("cancelled" if self.stop.is_set() else "done", t.epoch, t.step, seconds,
                  t.best if data.val_pairs and t.checkpoint else None, t.seen / max(seconds, 1e-9),
                  t.seen / max(t.step_time, 1e-9), t.checkpoint)
        run.write_status(**asdict(end), started=self.started)
        self._emit(end)
        return run

    def _emit(self, event) -> None:
        try:
            self.progress(event)
        except Exception:  # a broken progress display must not kill training
            pass


def train(cfg: TrainConfig, progress: Progress | None = None, stop: threading.Event | None = None) -> Run:
    """Train per ``cfg``; calls ``progress(event)`` with the events of ``seg_core.events``.

    Raises ConfigError for a setting out of range, DatasetError for data problems (each naming its
    file), Cancelled when ``stop`` is set before the first step (no run folder is written)."""
    return Trainer(cfg, progress, stop).run()
