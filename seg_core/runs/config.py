"""A training run's settings (``TrainConfig``), their defaults and their checks, in the words a user sees.

The Train page labels its widgets with ``LABELS`` and the CLI takes its defaults from ``TrainConfig``
and maps each flag onto a field, so an error names the setting the way the user met it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from seg_core.model.architectures import DEFAULT_ARCH
from seg_core.data.augment import AugmentConfig
from seg_core.model.backbones import DEFAULT_BACKBONE
from seg_core.base.device import PRECISIONS
from seg_core.base.mask_values import MAX_CLASSES, MODES
from seg_core.model.network import OUTPUT_MULTIPLE

MAX_WORKERS = 64  # DataLoader worker processes

# field -> the setting's name on the Train page (and in every error about it)
LABELS: dict[str, str] = {
    "data": "Data folder",
    "val_data": "Validation folder",
    "out": "Run folder",
    "backbone": "Backbone",
    "arch": "Architecture",
    "weights": "Initial weights",
    "freeze_depth": "Freeze depth",
    "unfreeze_after": "Unfreeze everything after epoch",
    "epochs": "Epochs",
    "time_budget": "Time budget (seconds)",
    "num_classes": "Number of classes",
    "ignore_index": "Unlabelled value",
    "mask_values": "Mask values",
    "img_size": "Training crop",
    "loss": "Loss",
    "class_weights": "Class weights",
    "lr": "Learning rate",
    "batch_size": "Batch size",
    "val_fraction": "Validation fraction",
    "precision": "Precision",
    "init_run": "Continue from run",
    "num_workers": "Data loading processes",
    "cache_mb": "Image cache (MB)",
    "unlabelled": "Learn from unlabelled images",
    "ema": "Keep an average of the weights (EMA)",
}


class ConfigError(ValueError):
    """A setting is out of range; ``field`` is the TrainConfig field, the message names the setting."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"{LABELS.get(field_name, field_name)}: {message}")


@dataclass
class TrainConfig:
    data: str
    out: str
    val_data: str | None = None
    backbone: str = DEFAULT_BACKBONE
    arch: str = DEFAULT_ARCH
    weights: str = "imagenet"  # "imagenet", "none", or a weights file or folder
    freeze_depth: int = 3  # measured default: stages 1-3 frozen, then all (benchmarks/)
    unfreeze_after: int | None = 8  # epochs; then all stages train at lr * encoder_lr_factor
    epochs: int | None = None
    time_budget: float | None = None  # seconds; with neither this nor epochs: DEFAULT_BUDGET_S
    num_classes: int | None = None
    ignore_index: int | None = None
    mask_values: str = "auto"  # how mask values read: auto (the stated rules), index or binary (mask_values.py)
    img_size: tuple[int, int] | None = None  # crop (H, W); None: from the images, at most 512 a side
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
    init_run: str | None = None  # a run folder whose checkpoint the model starts from (same classes)
    num_workers: int = 0  # DataLoader processes that read and augment images (0: the training process;
    #                       measured fastest on 2 cores, see benchmarks/bench_scale.py)
    unlabelled: str | None = None  # a folder whose images without a mask in ``data`` train as pseudo-labels
    #                                (semi_supervised.py); the data folder itself: its own unlabelled images
    ema: bool = False  # validate and save an exponential moving average of the weights (always with unlabelled)
    cache_mb: int = 512  # decoded images kept in memory on this machine, in all (processes, workers and
    #                      validation share it); beyond it images are read again (a decode is small next to a step)

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

    def validate(self) -> "TrainConfig":
        """Raise ConfigError for the first setting out of range; returns self."""
        from seg_core.model.architectures import ARCHITECTURES, get_architecture
        from seg_core.model.backbones import BACKBONES
        from seg_core.model.losses import LOSSES
        from seg_core.runs.folder import Run

        def need(ok: bool, name: str, message: str) -> None:
            if not ok:
                raise ConfigError(name, message)

        need(self.backbone in BACKBONES, "backbone", f"unknown '{self.backbone}'; choose one of: {', '.join(BACKBONES)}")
        need(self.arch in ARCHITECTURES, "arch", f"unknown '{self.arch}'; choose one of: {', '.join(ARCHITECTURES)}")
        try:
            get_architecture(self.arch, self.backbone)
        except ValueError as err:
            raise ConfigError("arch", str(err)) from None
        need(self.loss in LOSSES, "loss", f"unknown '{self.loss}'; choose one of: {', '.join(LOSSES)}")
        need(self.precision in PRECISIONS, "precision", f"must be one of {', '.join(PRECISIONS)}, got '{self.precision}'")
        need(self.weights in ("imagenet", "none") or Path(self.weights).exists(), "weights",
             f"'{self.weights}' is neither ImageNet, none, nor an existing weights file or folder")
        need(self.freeze_depth >= 0, "freeze_depth", f"must be 0 or more, got {self.freeze_depth}")
        need(self.unfreeze_after is None or self.unfreeze_after >= 0, "unfreeze_after",
             f"must be 0 or more, got {self.unfreeze_after}")
        need(self.epochs is None or self.epochs >= 1, "epochs", f"must be at least 1, got {self.epochs}")
        need(self.time_budget is None or self.time_budget > 0, "time_budget",
             f"must be more than 0 seconds, got {self.time_budget}")
        need(self.lr > 0, "lr", f"must be more than 0, got {self.lr}")
        need(self.batch_size >= 1, "batch_size", f"must be at least 1, got {self.batch_size}")
        need(isinstance(self.num_workers, int) and 0 <= self.num_workers <= MAX_WORKERS, "num_workers",
             f"must be 0 (read images in the training process) up to {MAX_WORKERS}, got {self.num_workers}")
        need(isinstance(self.cache_mb, int) and self.cache_mb >= 0, "cache_mb",
             f"must be 0 (keep no decoded image) or more, got {self.cache_mb}")
        need(self.unlabelled is None or Path(self.unlabelled).is_dir(), "unlabelled",
             f"'{self.unlabelled}' is not a folder of images")
        need(0 <= self.val_fraction < 1, "val_fraction", f"must be from 0 up to (not including) 1, got {self.val_fraction}")
        need(self.mask_values in MODES, "mask_values",
             f"must be one of {', '.join(MODES)}, got '{self.mask_values}'")
        need(self.num_classes is None or 2 <= self.num_classes <= MAX_CLASSES, "num_classes",
             f"must be 2..{MAX_CLASSES}, got {self.num_classes}")
        if self.img_size is not None:
            h, w = self.img_size
            need(h > 0 and w > 0 and not h % OUTPUT_MULTIPLE and not w % OUTPUT_MULTIPLE, "img_size",
                 f"sides must be positive multiples of {OUTPUT_MULTIPLE}, like 352x480; got {h}x{w}")
            need(self.batch_size * (h // OUTPUT_MULTIPLE) * (w // OUTPUT_MULTIPLE) > 1, "img_size",
                 f"{h}x{w} with a batch of 1 is too small to train (the network's deepest layer would see "
                 "a single pixel); use a larger crop or batch")
            self.check_crop_batch(h, w)
        if self.init_run is not None:
            init = Run(self.init_run)
            need(init.is_run, "init_run", f"'{self.init_run}' is not a run folder")
            need(init.has_checkpoint, "init_run", f"run '{init.name}' has no checkpoint to continue from")
            c = init.config
            need((c.get("backbone"), c.get("arch")) == (self.backbone, self.arch), "init_run",
                 f"run '{init.name}' is a {c.get('backbone')} {c.get('arch')}; choose the same backbone and "
                 f"architecture to continue from it (now {self.backbone} {self.arch})")
        cw = self.class_weights
        if cw not in (None, "balanced"):
            need(isinstance(cw, (list, tuple)) and all(isinstance(v, (int, float)) and v >= 0 for v in cw)
                 and any(v > 0 for v in cw), "class_weights",
                 f"must be 'balanced', none, or one number of 0 or more per class; got {cw!r}")
        return self


    def check_crop_batch(self, h: int, w: int, automatic: bool = False) -> None:
        """Training crop x batch size within ``limits.max_train_pixels`` (SEG_CORE_MAX_TRAIN_PIXELS): the memory
        a training step takes grows with it. ``automatic``: the crop was chosen from the images."""
        from seg_core.base.limits import exceeded, limits

        lim = limits()
        px = h * w * self.batch_size
        if px > lim.max_train_pixels:
            crop = f"the automatic crop {h}x{w}" if automatic else f"{h}x{w}"
            err = exceeded("", "max_train_pixels", f"{crop} x a batch of {self.batch_size} = {px / 1e6:.1f} "
                           "megapixels per step", f"{lim.max_train_pixels / 1e6:.1f} megapixels",
                           lim.max_train_pixels, "use a smaller crop or batch")
            raise ConfigError("batch_size" if automatic else "img_size", str(err))


def parse_img_size(text: str | None) -> tuple[int, int] | None:
    """'352x480' -> (352, 480); empty -> None (automatic). Sides must be multiples of 32."""
    if not text or not text.strip():
        return None
    try:
        h, w = (int(v) for v in text.lower().replace(" ", "").split("x"))
    except ValueError:
        raise ConfigError("img_size", f"must look like 352x480 (height x width), got '{text}'") from None
    TrainConfig(data="", out="", img_size=(h, w)).validate()
    return h, w


def parse_class_weights(text: str | None) -> list[float] | str | None:
    """'balanced', 'none'/empty, or comma-separated numbers (one per class)."""
    if text is None or text.strip().lower() in ("", "none"):
        return None
    if text.strip().lower() == "balanced":
        return "balanced"
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError("class_weights", f"must be 'balanced', 'none' or numbers like 1,2.5,4; got '{text}'") from None
