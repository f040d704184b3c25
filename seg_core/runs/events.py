"""The progress events a training run sends, declared once: one typed record per event.

``train(cfg, displays)`` calls each display (the trainer's sinks) with these (the progress vocabulary of
``seg_core.base.progress``), in this order: ``Status`` (any number, while preparing), ``Opened`` (the run
folder's settings), ``Start``, then ``Step`` after every optimiser step with ``Unfreeze`` and
``Validation`` in between, ``Measured`` (post-processing scored) and ``End`` last; ``Failed`` instead when
an error stops the run after its folder opened (and, in the process only, a ``Checkpoint`` before the
``Validation`` that found the best network: ``seg_core.training.recorder``). The recorder writes the run
folder from them, the CLI prints them, the background runner keeps them for the app, and ``Validation``
rows are the run's ``history.csv``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import ClassVar, Union


@dataclass(frozen=True)
class Status:
    """What the run is doing before the first step (checking data, loading weights)."""

    kind: ClassVar[str] = "status"
    message: str


@dataclass(frozen=True)
class Opened:
    """The data and the model are known: the run folder's settings (config.json) and classes (classes.json)."""

    kind: ClassVar[str] = "opened"
    config: dict  # the TrainConfig's settings and what the data decided (classes, split, crop, device)
    classes: dict  # ClassList.to_json()
    started: float  # time.time() when the run opened
    processes: int = 1


@dataclass(frozen=True)
class Start:
    """Data and model are ready; the first step follows."""

    kind: ClassVar[str] = "start"
    trainable_params: int  # parameters the optimiser updates now
    total_steps: int | None  # None under a time budget
    time_budget: float | None  # seconds, or None when stopping after a number of epochs
    img_size: tuple[int, int]  # training crop (H, W)
    train_images: int
    val_images: int
    processes: int = 1  # training processes (torchrun); each step trains on batch size x processes images
    device: str = ""  # e.g. "cpu", "cuda:0" (rank 0's)
    precision: str = ""  # "bf16", "fp16" (with a gradient scaler) or "fp32"


@dataclass(frozen=True)
class Step:
    """One optimiser step done."""

    kind: ClassVar[str] = "step"
    epoch: int  # 1-based epoch this step belongs to
    step: int  # steps done so far
    total_steps: int | None
    loss: float  # this batch's loss
    loss_avg: float  # exponential moving average of the loss (0.9)
    lr: float  # decoder learning rate now
    elapsed: float  # seconds since the run began (preparation included)
    progress: float  # 0..1 of the whole run: of the time budget, or of the epochs when they end it sooner
    eta: float | None  # seconds left of the whole run (validation and post-processing included), estimated
    images_per_s: float  # training images per second so far, validation included
    phase: str  # "frozen 3/5", "all stages" or "fine-tune all"
    skipped: int = 0  # batches skipped so far because they held no labelled pixel


@dataclass(frozen=True)
class Unfreeze:
    """The whole encoder trains from this epoch on."""

    kind: ClassVar[str] = "unfreeze"
    epoch: int
    trainable_params: int


@dataclass(frozen=True)
class Validation:
    """An epoch ended with a validation (and a checkpoint when ``best``); one row of history.csv."""

    kind: ClassVar[str] = "validation"
    epoch: int
    step: int
    phase: str
    elapsed_s: float
    train_loss: float | None
    lr: float
    images_per_s: float
    trainable_params: int
    val_miou: float | None = None  # None when nothing is held out for validation
    val_dice: float | None = None
    val_pixel_accuracy: float | None = None
    best: bool = True  # this validation saved the checkpoint
    scored_on: str = ""  # which held-out pixels: "all 8 held-out images", or a sample of tiles when they are large


@dataclass(frozen=True)
class Measured:
    """The best checkpoint scored on held-out images with and without the dense CRF and flips, and the choice
    prediction follows (``seg_core.infer.postprocess.measure``; the run's postprocess.json)."""

    kind: ClassVar[str] = "measured"
    postprocess: dict


@dataclass(frozen=True)
class End:
    """The run ended; the same fields are in the run's status.json."""

    kind: ClassVar[str] = "end"
    state: str  # "done" or "cancelled"
    epochs: int
    steps: int
    seconds: float
    best_val_miou: float | None
    images_per_s: float  # validation and saving included
    train_images_per_s: float  # training steps only (augmentation, forward, backward, update)
    checkpoint: bool  # whether a model was saved (not when cancelled before the first step)
    total_s: float | None = None  # the whole run: preparation, training, validation, measuring, saving
    time_budget: float | None = None  # what the user set (seconds), for comparison with total_s


@dataclass(frozen=True)
class Failed:
    """An error stopped the run after its folder opened (status.json says "failed")."""

    kind: ClassVar[str] = "failed"
    error: str  # "TypeName: message"


Event = Union[Status, Opened, Start, Step, Unfreeze, Validation, Measured, End, Failed]
EVENTS: tuple[type, ...] = (Status, Opened, Start, Step, Unfreeze, Validation, Measured, End, Failed)


def to_dict(event: Event) -> dict:
    """The event's fields and its ``kind``, for JSON and tables."""
    return {"kind": event.kind} | asdict(event)


def from_dict(d: dict) -> Event:
    """The event ``to_dict`` made, back (from JSON: lists become the tuples they were)."""
    cls = next((e for e in EVENTS if e.kind == d.get("kind")), None)
    if cls is None:
        raise ValueError(f"not a training event: {str(d)[:200]}")
    kw = {f.name: d[f.name] for f in fields(cls) if f.name in d}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})


def field_names(event_type: type) -> list[str]:
    return [f.name for f in fields(event_type)]
