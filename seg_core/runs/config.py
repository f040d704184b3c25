"""A training run's settings (``TrainConfig``), their defaults and their checks, in the words a user sees.

Each setting is declared once, as its field below: the type, the default, and (``setting(...)``) its name on
the Train page and in every error about it, the page's help text, its bounds or choices, and its
command-line flag's help. ``TrainConfig.validate()`` checks those bounds and choices; the CLI's ``train``
flags are generated from them (``--field-name``, the field's default and type); the Train page takes each
widget's label, help and limits from ``SETTINGS``; both build the config with ``build_config``. So a new
setting is added here, in one place: it gets a flag, a widget (the page's advanced options show any setting
its layout does not place) and its checks.
"""
from __future__ import annotations

import numbers
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from seg_core.model.architectures import ARCHITECTURES, DEFAULT_ARCH
from seg_core.data.augment import ORIENTATIONS, AugmentConfig
from seg_core.model.backbones import BACKBONES, DEFAULT_BACKBONE
from seg_core.base.device import PRECISIONS
from seg_core.base.mask_values import MAX_CLASSES, MODES
from seg_core.model.losses import LOSSES
from seg_core.model.network import OUTPUT_MULTIPLE

MAX_WORKERS = 64  # DataLoader worker processes
DEFAULT_BUDGET_S = 300.0  # seconds a run trains when neither epochs nor a time budget is given


@dataclass(frozen=True)
class Setting:
    """What a user is told about one TrainConfig field, wherever they set it.

    ``min``/``max`` bound a number (``above``/``below``: the bound itself is excluded; ``zero`` says what 0
    means, ``unit`` follows the bound in the error); ``choices`` is the allowed values (a registry: ``named``,
    an unknown value is "unknown"); ``parse`` reads the setting from text (the CLI, a text box). ``flag``:
    whether the CLI has it (``--name-with-dashes``); ``page``: whether the Train page shows it.
    ``name`` and ``kind`` (bool, int, float, str, or None for a structured value) come from the field."""

    label: str
    help: str = ""
    words: str = ""  # the Train page's label, in a domain expert's words (default: ``label``)
    flag_help: str | None = None
    metavar: str | None = None
    min: float | None = None
    max: float | None = None
    above: bool = False
    below: bool = False
    zero: str = ""
    unit: str = ""
    choices: Mapping | tuple | None = None
    named: bool = False
    parse: Callable[[str | None], Any] | None = None
    flag: bool = True
    page: bool = True
    name: str = ""
    kind: type | None = None

    @property
    def cli_flag(self) -> str:
        return flag_of(self.name)

    @property
    def page_label(self) -> str:
        """The setting's name on the Train page (``words``, else ``label``)."""
        return self.words or self.label

    @property
    def page_help(self) -> str:
        """The Train page's help: ``help`` and the setting's technical name with its command-line flag."""
        technical = f"Technical name: {self.label} ({self.cli_flag})" if self.flag else f"Technical name: {self.label}"
        return f"{self.help}\n\n{technical}." if self.help else f"{technical}."

    def rule(self) -> str:
        """The bounds in words: "must be at least 1", "must be from 0 up to (not including) 1"."""
        lo = f"{self.min:g}" + (f" ({self.zero})" if self.zero else "")
        if self.max is None:
            if self.above:
                return f"must be more than {lo}{self.unit}"
            return f"must be {lo} or more" if self.min == 0 else f"must be at least {lo}"
        if self.below:
            return f"must be from {lo} up to (not including) {self.max:g}"
        return f"must be {lo} up to {self.max:g}" if self.zero else f"must be {lo}..{self.max:g}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is out of this setting's bounds or choices, or None (None values are not checked)."""
        if value is None:
            return None
        if self.choices is not None and value not in self.choices:
            options = ", ".join(self.choices)
            return f"unknown '{value}'; choose one of: {options}" if self.named else \
                f"must be one of {options}, got '{value}'"
        if self.min is None and self.max is None:
            return None
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or (
                self.kind is int and not isinstance(value, numbers.Integral)):
            return f"{self.rule()}, got {value}"
        low_ok = self.min is None or (value > self.min if self.above else value >= self.min)
        high_ok = self.max is None or (value < self.max if self.below else value <= self.max)
        return None if low_ok and high_ok else f"{self.rule()}, got {value}"


def flag_of(field_name: str) -> str:
    """A setting's command-line flag: the field's name with dashes (``--img-size``)."""
    return "--" + field_name.replace("_", "-")


def setting(default: Any = MISSING, *, factory: Callable[[], Any] | None = None, **meta) -> Any:
    """A TrainConfig field with its ``Setting`` (keyword arguments) in the field's metadata."""
    kw = {"default_factory": factory} if factory is not None else {"default": default}
    return field(metadata={"setting": Setting(**meta)}, **kw)


class ConfigError(ValueError):
    """A setting is out of range; ``field`` is the TrainConfig field, the message names the setting."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        s = SETTINGS.get(field_name)
        super().__init__(f"{s.label if s else field_name}: {message}")


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


def parse_channels(text) -> list[str] | None:
    """'1,3' or 'DAPI,GFP' (or a list of them) -> the channels as given, in order; empty -> None (all). Which
    channels they are is resolved against the data's channel layout when training starts
    (``data.model_input.pick_channels``)."""
    if text is None:
        return None
    items = [str(v).strip() for v in (text.split(",") if isinstance(text, str) else text)]
    items = [v for v in items if v]
    return items or None


@dataclass
class TrainConfig:
    data: str = setting(label="Data folder", page=False,
                        flag_help="the data set folder (required unless --config names it)")
    out: str = setting(label="Run folder", page=False,
                       flag_help="the run folder to write (required unless --config names it)")
    val_data: str | None = setting(None, label="Validation folder", page=False)
    backbone: str = setting(
        DEFAULT_BACKBONE, label="Backbone", choices=BACKBONES, named=True, words="Network the model starts from",
        help="Your model does not start from nothing: it starts from a network that already learned to see edges, "
             "textures and shapes in 1.3 million everyday photos (the ImageNet collection), so it needs only a few "
             "of your labelled images to learn your classes. Larger networks can learn more but train slower; the "
             "list says how big each is and how fast it is on this computer. The network is the model's encoder; "
             "its name is the backbone.")
    arch: str = setting(
        DEFAULT_ARCH, label="Architecture", choices=ARCHITECTURES, named=True, words="How the mask is drawn",
        help="The part of the model that turns what the network sees into a mask (the decoder architecture).")
    weights: str = setting("imagenet", label="Initial weights",  # "imagenet", "none", or a weights file or folder
                           words="What the network knows at the start",
                           help="Everyday photos: the network's learning from 1.3 million photos (ImageNet weights, "
                                "recommended). Nothing: it starts from random numbers and needs many more labelled "
                                "images. Your own file: weights saved elsewhere.",
                           flag_help="imagenet, none, or a weights file/folder")
    freeze_depth: int = setting(3, label="Freeze depth", min=0, words="Parts of the network kept as they are",
                                help="The network is built in parts, from the first (edges, textures: useful for "
                                     "any image) to the last (whole shapes). The first parts you keep stay as they "
                                     "learned from the photos; only the rest adapts to your images. Kept parts make "
                                     "each step faster and steady a short training on few images; in a longer one, "
                                     "letting every part adapt (0) can learn more. Technically: encoder stages "
                                     "frozen.",  # measured: benchmarks/results/2026-12-06-freeze.md
                                flag_help="encoder stages to freeze (0 = none)")
    unfreeze_after: int | None = setting(8, label="Unfreeze everything after epoch", min=0,  # then all stages
                                         words="Let every part learn after this many rounds",
                                         help="A round is one pass over all training images (an epoch). After this "
                                              "many, the parts kept as they are start to adapt too, gently.",
                                         flag_help="epochs before unfreezing the whole encoder")  # train at lr * encoder_lr_factor
    epochs: int | None = setting(None, label="Epochs", min=1, words="Rounds",
                                 help="How many times the training goes over all training images (epochs).")
    time_budget: float | None = setting(
        None, label="Time budget (seconds)", min=0, above=True, unit=" seconds", words="Training time (seconds)",
        help="How long the whole run may take: checking the images, training, scoring on the held-out images and "
             "choosing the sharpening all come out of it, so this is about how long you wait.",
        flag_help=f"seconds for the whole run, preparation and validation included (default {DEFAULT_BUDGET_S:.0f} "
                  "when no --epochs)")
    num_classes: int | None = setting(None, label="Number of classes", min=2, max=MAX_CLASSES, page=False)
    ignore_index: int | None = setting(
        None, label="Unlabelled value", page=False, metavar="VALUE",
        flag_help="the mask value of unlabelled pixels (default: the folder's classes.json \"unlabelled\", for "
                  "evaluate else the run's)")
    mask_values: str = setting(  # how mask values read: auto (the stated rules), index or binary (mask_values.py)
        "auto", label="Mask values", choices=MODES, page=False,
        flag_help="how mask values read: auto (default: class indices; 0/255-only masks of 2 classes are binary when "
                  "nothing marks 255 unlabelled; ambiguous folders are refused), index (class indices, the unlabelled "
                  "value skipped), binary (2 classes: 0 is class 0, 1 and 255 class 1)")
    channels: list[str] | None = setting(  # None: all; resolved by data.model_input.pick_channels
        None, label="Channels", parse=parse_channels, page=False, metavar="LIST",
        words="Channels the model reads",
        help="Which of your images' channels the model looks at, in order (all by default).",
        flag_help="the image channels the model reads, in order, by number from 1 or by name (e.g. 1,3 or "
                  "DAPI,GFP; default: all); recorded in the run's config.json as 'channels'")
    img_size: tuple[int, int] | None = setting(  # crop (H, W); None: from the images, at most 512 a side
        None, label="Training crop", parse=parse_img_size, words="Piece of each image trained on",
        help="Training looks at pieces of this size (height x width in pixels, multiples of 32, e.g. 256x256); "
             "empty: chosen from your images.",
        flag_help="training crop HxW, multiples of 32 (default: from the images)")
    loss: str = setting("ce+dice", label="Loss", choices=LOSSES, named=True, words="How mistakes are counted",
                        help="What the training tries to make small: wrong pixels one by one (cross-entropy, ce), "
                             "the overlap of each class (dice), both (ce+dice, the default), or mostly the hardest "
                             "pixels (focal).")
    class_weights: list[float] | str | None = setting(  # per class, or "balanced": from the training pixels
        "balanced", label="Class weights", parse=parse_class_weights, words="Rare classes count more",
        help="Weights from how many pixels of each class the training masks hold.",
        flag_help="'balanced' (rarer classes weigh more), comma-separated weights per class, or 'none'")
    # the decoder's; the encoder's: lr * encoder_lr_factor
    lr: float = setting(2e-3, label="Learning rate", min=0, above=True, words="Learning speed",
                        help="How big a step each correction takes: larger learns faster but less steadily.")
    encoder_lr_factor: float = 0.3
    weight_decay: float = 1e-4
    batch_size: int = setting(  # measured: docs/training.md#the-default-recipe
        2, label="Batch size", min=1, words="Images per step",
        help="How many image pieces each correction looks at together: fewer make more corrections in the same "
             "time, more need more memory.")
    val_fraction: float = setting(
        0.2, label="Validation fraction", min=0, max=1, below=True, words="Share of images kept aside to check",
        help="Share of the labelled images the model does not learn from: it is scored on them, to keep its best "
             "state and to choose the edge sharpening (0: learn from all, keep the last state).",
        flag_help="share of the labelled images held out to choose the checkpoint (0: train on all, keep the last "
                  "weights)")
    seed: int = setting(0, label="Seed", page=False)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    orientation: str = setting(  # seg_core/training/orientation.py; measured: docs/training.md#which-way-up
        "measure", label="Orientation", choices=ORIENTATIONS, words="Which way up",
        help="Whether your images have an up. Street scenes do (sky above the road); a slide, an aerial tile or a "
             "surface under inspection looks right any way round, and the model then learns from each piece "
             "turned and mirrored too (all eight ways), which shows it more from the same images. 'Find out' "
             "trains upright for the first third, then checks on the images kept aside whether the model reads "
             "them as well turned a quarter, and says what it found.",
        flag_help="measure (default: train upright, then check on the held-out images whether they read the same "
                  "turned a quarter, and if so train on all eight orientations), upright (left-right flips only), "
                  "or any (all eight orientations: flips and quarter turns from the start)")
    precision: str = setting("auto", label="Precision", choices=PRECISIONS, page=False)
    device: str = setting("auto", label="Device", page=False)
    require_masks: bool = True  # False: train on the labelled images, skip the others (the app)
    val_interval_s: float = 10.0  # validate at an epoch end at most this often (and always at the end)
    init_run: str | None = setting(  # a run folder whose checkpoint the model starts from (same classes)
        None, label="Continue from run", words="Continue from an earlier model",
        help="Start from that run's trained model and train on the current labels: faster than starting again. "
             "Only runs trained on the current classes are listed.",
        flag_help="continue from this run's checkpoint (same classes, backbone and architecture)")
    num_workers: int = setting(  # measured fastest on 2 cores with 0 (benchmarks/bench_scale.py)
        0, label="Data loading processes", words="Helpers reading images", min=0, max=MAX_WORKERS,
        zero="read images in the training process",
        help="Processes that read, decode and augment images while the model trains (0: the training process "
             "does it; fastest on a few CPU cores).",
        flag_help="DataLoader processes that read and augment the images (0: the training process)")
    ema: bool = setting(  # measured: docs/training.md#options-measured-against-the-default
        True, label="Keep an average of the weights (EMA)", words="Smooth over the last steps",
        help="Keeps and scores an average of the model over its last steps: steadier, and it scored higher on "
             "unseen images in the measurements (turn it off to keep the weights of the chosen step as they are).",
        flag_help="validate and save a moving average of the weights (--no-ema: the weights as they are)")
    even_colours: bool = setting(  # seg_core.data.colour; measured: docs/training.md#colours-evened-out-between-images
        True, label="Colour normalisation", words="Even out colour and brightness",
        help="Images of one kind still differ in stain, exposure or lighting. With this on, every image is brought "
             "to the average colour, brightness and contrast of your training images before the model looks at it "
             "(when training and when predicting), so a darker or paler image is not taken for something else. "
             "It helps on stained slides, microscopy and other images taken the same way; turn it off for photographs "
             "of everyday scenes (streets, rooms), where an image's overall colour follows what it shows, or when "
             "the overall colour or brightness of an image is itself what tells the classes apart.",
        flag_help="bring every image to the training images' average colour, brightness and contrast (L*a*b* mean "
                  "and spread) before the network sees it (default on; --no-even-colours turns it off)")
    cache_mb: int = setting(  # processes, workers and validation share it; a decode is small next to a step
        512, label="Image cache (MB)", min=0, zero="keep no decoded image", words="Memory for images (MB)",
        help="Decoded images kept in memory; beyond it images are read again from disk, so large data sets train "
             "in bounded memory.",
        flag_help="decoded images kept in memory, in MB")

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
        from seg_core.model.architectures import get_architecture
        from seg_core.runs.folder import Run

        def need(ok: bool, name: str, message: str) -> None:
            if not ok:
                raise ConfigError(name, message)

        for name, s in SETTINGS.items():  # the declared bounds and choices
            problem = s.problem(getattr(self, name))
            if problem is not None:
                raise ConfigError(name, problem)
        try:
            get_architecture(self.arch, self.backbone)
        except ValueError as err:
            raise ConfigError("arch", str(err)) from None
        need(self.weights in ("imagenet", "none") or Path(self.weights).exists(), "weights",
             f"'{self.weights}' is neither ImageNet, none, nor an existing weights file or folder")
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


def _kind(hint: Any) -> type | None:
    """bool, int, float or str for a field of that type (or that or None), else None."""
    args = [a for a in (typing.get_args(hint) or (hint,)) if a is not type(None)]
    return args[0] if len(args) == 1 and args[0] in (bool, int, float, str) else None


_HINTS = typing.get_type_hints(TrainConfig)
SETTINGS: dict[str, Setting] = {  # field name -> its Setting, in the fields' order
    f.name: replace(f.metadata["setting"], name=f.name, kind=_kind(_HINTS[f.name]))
    for f in fields(TrainConfig) if "setting" in f.metadata}


def default_of(name: str) -> Any:
    """A TrainConfig field's default (None for ``data`` and ``out``, which have none)."""
    f = TrainConfig.__dataclass_fields__[name]
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None


def build_config(values: Mapping[str, Any]) -> TrainConfig:
    """A TrainConfig from settings as a form or the command line gives them (field name -> value): a text
    value of a setting read from text (``img_size``, ``class_weights``) is parsed (ConfigError when it does not
    read); fields not given keep their defaults. Not validated: ``validate()`` (or training) does that."""
    unknown = set(values) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise TypeError(f"not TrainConfig fields: {', '.join(sorted(unknown))}")
    kw = dict(values)
    for name, value in values.items():
        s = SETTINGS.get(name)
        if s is not None and s.parse is not None and (value is None or isinstance(value, str)):
            kw[name] = s.parse(value)
    return TrainConfig(**kw)
