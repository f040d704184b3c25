"""Fine-tuning: frozen encoder stages first, then (optionally) the whole net at a lower encoder rate."""
from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .augment import AugmentConfig, random_crop
from .backbones import DEFAULT_BACKBONE, get_backbone
from .architectures import DEFAULT_ARCH, get_architecture
from .dataset import IGNORE, Dataset, scan_dataset
from .device import autocast, autocast_dtype, pick_device, use_all_cpu_threads
from .losses import build_loss
from .metrics import confusion, scores
from .model import OUTPUT_MULTIPLE, ModelSpec, build_model, count_trainable
from .predict import predict_probs
from .runs import Run

Progress = Callable[[dict], None]


class DatasetError(ValueError):
    """The data set has errors; ``problems`` lists them, each naming its file."""

    def __init__(self, problems):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the data set has {len(problems)} error(s); fix them and retry:\n{lines}")


@dataclass
class TrainConfig:
    data: str
    out: str
    val_data: str | None = None
    backbone: str = DEFAULT_BACKBONE
    arch: str = DEFAULT_ARCH
    weights: str = "imagenet"
    freeze_depth: int = 3  # measured default: stages 1-3 frozen, then all (benchmarks/)
    unfreeze_after: int | None = 8  # epochs; then all stages train at lr * encoder_lr_factor
    epochs: int | None = None
    time_budget: float | None = None  # seconds; with neither this nor epochs: DEFAULT_BUDGET_S
    num_classes: int | None = None
    ignore_index: int | None = None
    img_size: tuple[int, int] | None = None  # crop (H, W); None: from the images, at most 512
    loss: str = "ce+dice"
    class_weights: list[float] | str | None = "balanced"  # per class, or "balanced": from the training pixels
    lr: float = 2e-3  # decoder; the encoder gets lr * encoder_lr_factor
    encoder_lr_factor: float = 0.3
    weight_decay: float = 1e-4
    batch_size: int = 4
    val_fraction: float = 0.2
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    precision: str = "auto"
    device: str = "auto"
    require_masks: bool = True  # False: train on the labelled images, skip the others (the app)
    val_interval_s: float = 10.0  # validate at an epoch end at most this often (and always at the end)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["augment"] = self.augment.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["augment"] = AugmentConfig.from_dict(d.get("augment"))
        if d.get("img_size") is not None:
            d["img_size"] = tuple(d["img_size"])
        return cls(**d)


DEFAULT_BUDGET_S = 300.0
MAX_AUTO_SIDE = 512


def parse_img_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--img-size must look like 352x480 (height x width), got '{text}'") from None
    if h % OUTPUT_MULTIPLE or w % OUTPUT_MULTIPLE or h <= 0 or w <= 0:
        raise ValueError(f"--img-size sides must be positive multiples of {OUTPUT_MULTIPLE}, got {h}x{w}")
    return h, w


def auto_img_size(ds: Dataset) -> tuple[int, int]:
    """Training crop: the median image size, capped at 512 a side, rounded down to the multiple of 32."""
    sizes = np.array(list(ds.sizes.values()) or [(256, 256)])
    h, w = np.median(sizes, axis=0)
    scale = min(1.0, MAX_AUTO_SIDE / max(h, w))
    return tuple(max(OUTPUT_MULTIPLE, int(v * scale) // OUTPUT_MULTIPLE * OUTPUT_MULTIPLE) for v in (h, w))


def _lr_factor(progress: float, warmup: float = 0.03, floor: float = 0.02) -> float:
    """Linear warm-up then cosine decay over the run's progress in 0..1."""
    if progress < warmup:
        return max(progress / warmup, 0.05)
    t = min(1.0, (progress - warmup) / (1 - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


def balanced_weights(ds: Dataset, stems: list[str], power: float = 0.5, limit: float = 10.0) -> list[float]:
    """Class weights (median frequency / frequency) ** power over the training images, clipped to
    [1/limit, limit]; 1 for classes absent from them. Rare classes count for more in the loss."""
    counts = sum((ds.class_pixels[s] for s in stems if s in ds.class_pixels), np.zeros(ds.num_classes))
    freq = counts / max(counts.sum(), 1)
    present = freq > 0
    if not present.any():
        return [1.0] * ds.num_classes
    w = np.ones(ds.num_classes)
    w[present] = np.clip((np.median(freq[present]) / freq[present]) ** power, 1 / limit, limit)
    return w.round(4).tolist()


def split_validation(samples: list, fraction: float, seed: int) -> tuple[list, list]:
    """Hold out ``fraction`` of the samples (at least 1) when there are 4 or more; else none."""
    if len(samples) < 4 or fraction <= 0:
        return samples, []
    order = list(samples)
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(order) * fraction))
    return sorted(order[n_val:], key=lambda s: s.stem), sorted(order[:n_val], key=lambda s: s.stem)


def evaluate_pairs(model, pairs, num_classes: int, amp_dtype=None, tta: bool = False) -> dict:
    cm = np.zeros((num_classes, num_classes), np.int64)
    model.eval()
    for image, mask in pairs:
        pred = predict_probs(model, image, tta=tta, amp_dtype=amp_dtype).argmax(0)
        cm += confusion(pred, mask, num_classes)
    return scores(cm)


class Trainer:
    """One training run; ``run()`` returns the Run folder. ``stop`` ends it within one step."""

    def __init__(self, cfg: TrainConfig, progress: Progress | None = None, stop: threading.Event | None = None):
        self.cfg = cfg
        self.progress = progress or (lambda info: None)
        self.stop = stop or threading.Event()
        self.history: list[dict] = []

    # -- preparation ------------------------------------------------------------------------
    def _prepare(self):
        cfg = self.cfg
        get_backbone(cfg.backbone), get_architecture(cfg.arch), build_loss(cfg.loss)  # fail fast on names
        self._emit(event="status", message="checking the data set")
        ds = scan_dataset(Path(cfg.data), cfg.num_classes, cfg.ignore_index, require_masks=cfg.require_masks)
        if ds.errors:
            raise DatasetError(ds.errors)
        train_s = ds.labelled
        if not train_s:
            raise DatasetError([_problem(cfg.data, "no labelled images to train on")])
        if cfg.val_data:
            vds = scan_dataset(Path(cfg.val_data), ds.num_classes, ds.ignore_index, classes=ds.classes)
            if vds.errors:
                raise DatasetError(vds.errors)
            val_pairs = vds.load_pairs()
            val_names = [s.stem for s in vds.labelled]
        else:
            train_s, val_s = split_validation(train_s, cfg.val_fraction, cfg.seed)
            val_pairs = ds.load_pairs(val_s) if val_s else []
            val_names = [s.stem for s in val_s]
        self.ds = ds
        self.train_pairs = ds.load_pairs(train_s)
        self.val_pairs = val_pairs
        self.split = {"train": [s.stem for s in train_s], "val": val_names}
        self.img_size = cfg.img_size or auto_img_size(ds)

    def _build(self):
        cfg = self.cfg
        self._emit(event="status", message=f"loading {cfg.backbone} ({cfg.weights} weights)")
        self.device = pick_device(cfg.device)
        self.amp = autocast_dtype(self.device, cfg.precision)
        model = build_model(ModelSpec(cfg.arch, cfg.backbone, self.ds.num_classes), cfg.weights)
        self.num_stages = model.num_stages
        if not 0 <= cfg.freeze_depth <= self.num_stages:
            raise ValueError(f"--freeze-depth must be 0..{self.num_stages} for {cfg.backbone}, got {cfg.freeze_depth}")
        model = model.to(self.device, memory_format=torch.channels_last)
        self.trainable = model.freeze(cfg.freeze_depth)
        self.model = model
        weights = None
        if cfg.class_weights == "balanced":
            weights = torch.tensor(balanced_weights(self.ds, self.split["train"]), dtype=torch.float32)
        elif cfg.class_weights:
            weights = torch.tensor(cfg.class_weights, dtype=torch.float32)
        if weights is not None and len(weights) != self.ds.num_classes:
            raise ValueError(f"--class-weights has {len(weights)} values for {self.ds.num_classes} classes")
        self.loss_fn = build_loss(cfg.loss, weights).to(self.device)
        self.opt = torch.optim.AdamW([
            {"params": model.head_parameters(), "lr": cfg.lr, "base_lr": cfg.lr},
            {"params": model.encoder_parameters(), "lr": cfg.lr * cfg.encoder_lr_factor,
             "base_lr": cfg.lr * cfg.encoder_lr_factor},
        ], weight_decay=cfg.weight_decay)

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> Run:
        try:
            return self._run()
        except BaseException as err:
            if getattr(self, "run_dir", None) is not None:
                self.run_dir.write_status(state="failed", error=f"{type(err).__name__}: {err}")
            raise

    def _run(self) -> Run:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        random.seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        use_all_cpu_threads()
        self._prepare()
        self._build()
        run = Run(Path(cfg.out))
        run.path.mkdir(parents=True, exist_ok=True)
        self.ds.classes.save(run.path / "classes.json")
        config = cfg.to_dict() | {
            "num_classes": self.ds.num_classes, "ignore_index": self.ds.ignore_index,
            "img_size": list(self.img_size), "num_stages": self.num_stages, "split": self.split,
            "class_names": self.ds.classes.names, "device": str(self.device),
            "amp": str(self.amp).replace("torch.", "") if self.amp else "fp32",
        }
        run.write_config(config)
        run.write_status(state="running", started=time.time())
        self.run_dir = run

        epochs = cfg.epochs
        budget = cfg.time_budget if (cfg.time_budget or epochs) else DEFAULT_BUDGET_S
        n = len(self.train_pairs)
        bs = cfg.batch_size
        steps_per_epoch = max(1, math.ceil(n / bs))
        total_steps = epochs * steps_per_epoch if epochs else None
        best = -1.0
        step = 0
        epoch = 0
        state = "done"
        t0 = time.time()
        last_val = float("-inf")  # validate after the first epoch, then every val_interval_s
        loss_avg = None
        seen = 0
        step_time = 0.0  # seconds in training steps (augmentation, forward, backward, update)
        self.model.train()
        self._emit(event="start", trainable_params=self.trainable, total_steps=total_steps,
                   time_budget=budget, img_size=self.img_size, train_images=n, val_images=len(self.val_pairs))
        while True:
            if self._phase_change(epoch):
                self.trainable = self.model.freeze(0)
                self._emit(event="unfreeze", epoch=epoch, trainable_params=self.trainable)
            order = rng.permutation(n)
            # draw full batches, repeating images when there are fewer than a batch
            if n < bs:
                order = np.resize(order, bs)
            for b0 in range(0, len(order), bs):
                if self.stop.is_set():
                    state = "cancelled"
                    break
                idx = order[b0:b0 + bs]
                if len(idx) < bs and b0 > 0:
                    idx = np.concatenate([idx, rng.choice(n, bs - len(idx))])
                progress_frac = self._progress_frac(step, total_steps, time.time() - t0, budget)
                lr_scale = _lr_factor(progress_frac)
                for g in self.opt.param_groups:
                    g["lr"] = g["base_lr"] * lr_scale
                ts = time.perf_counter()
                loss = self._step(idx, rng)
                step_time += time.perf_counter() - ts
                step += 1
                seen += len(idx)
                loss_avg = loss if loss_avg is None else 0.9 * loss_avg + 0.1 * loss
                elapsed = time.time() - t0
                frac = self._progress_frac(step, total_steps, elapsed, budget)
                self._emit(event="step", epoch=epoch + 1, step=step, total_steps=total_steps, loss=loss,
                           loss_avg=loss_avg, lr=self.opt.param_groups[0]["lr"], elapsed=elapsed,
                           progress=frac, eta=elapsed / frac - elapsed if frac > 0 else None,
                           images_per_s=seen / elapsed, phase=self._phase(epoch))
                if frac >= 1.0:
                    break
            epoch += 1
            elapsed = time.time() - t0
            finished = state == "cancelled" or self._progress_frac(step, total_steps, elapsed, budget) >= 1.0
            if finished or time.time() - last_val >= cfg.val_interval_s:
                best = self._validate_and_save(run, epoch, step, elapsed, loss_avg, seen, best)
                last_val = time.time()
                self.model.train()
            if finished:
                break
        status = {"state": state, "epochs": epoch, "steps": step, "seconds": time.time() - t0,
                  "best_val_miou": best if self.val_pairs else None,
                  "images_per_s": seen / max(time.time() - t0, 1e-9),  # validation and saving included
                  "train_images_per_s": seen / max(step_time, 1e-9)}
        run.write_status(**status)
        self._emit(event="end", **status)
        return run

    def _phase(self, epoch: int) -> str:
        if self.cfg.freeze_depth and self.cfg.unfreeze_after is not None and epoch >= self.cfg.unfreeze_after:
            return "fine-tune all"
        return f"frozen {self.cfg.freeze_depth}/{self.num_stages}" if self.cfg.freeze_depth else "all stages"

    def _phase_change(self, epoch: int) -> bool:
        c = self.cfg
        return bool(c.freeze_depth) and c.unfreeze_after is not None and epoch == c.unfreeze_after

    @staticmethod
    def _progress_frac(step, total_steps, elapsed, budget) -> float:
        fr = []
        if total_steps:
            fr.append(step / total_steps)
        if budget:
            fr.append(elapsed / budget)
        return min(1.0, max(fr)) if fr else 0.0

    def _step(self, idx, rng) -> float:
        crops = [random_crop(*self.train_pairs[i], self.img_size, self.cfg.augment, rng) for i in idx]
        x = torch.from_numpy(np.stack([c[0] for c in crops])).permute(0, 3, 1, 2).float().div_(255)
        y = torch.from_numpy(np.stack([c[1] for c in crops]).astype(np.int64))
        x = x.to(self.device, memory_format=torch.channels_last)
        y = y.to(self.device)
        if (y == IGNORE).all():
            return float("nan")
        with autocast(self.device, self.amp):
            logits = self.model(x)
        loss = self.loss_fn(logits.float(), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss.detach())

    def _validate_and_save(self, run: Run, epoch, step, elapsed, loss_avg, seen, best) -> float:
        row = {"epoch": epoch, "step": step, "phase": self._phase(epoch - 1), "elapsed_s": round(elapsed, 2),
               "train_loss": loss_avg, "lr": self.opt.param_groups[0]["lr"],
               "images_per_s": seen / max(elapsed, 1e-9), "trainable_params": self.trainable}
        improved = True
        if self.val_pairs:
            m = evaluate_pairs(self.model, self.val_pairs, self.ds.num_classes, self.amp)
            row |= {"val_miou": m["miou"], "val_dice": m["dice"], "val_pixel_accuracy": m["pixel_accuracy"]}
            improved = m["miou"] > best
            best = max(best, m["miou"])
        row["best"] = improved
        if improved:
            run.save_checkpoint(self.model)
        self.history.append(row)
        run.write_history(self.history)
        self._emit(event="validation", **row)
        return best

    def _emit(self, **info):
        try:
            self.progress(info)
        except Exception:  # a broken progress display must not kill training
            pass


def _problem(file, message):
    from .dataset import Problem

    return Problem(str(file), message)


def train(cfg: TrainConfig, progress: Progress | None = None, stop: threading.Event | None = None) -> Run:
    """Train per ``cfg``; calls ``progress(dict)`` with events start/step/validation/end."""
    return Trainer(cfg, progress, stop).run()
