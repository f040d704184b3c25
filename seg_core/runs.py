"""A run is a folder: config, metrics history, best checkpoint, classes. It reloads from that alone."""
from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from .classes import ClassList
from .io_utils import atomic_write, atomic_write_text

CONFIG = "config.json"
HISTORY = "history.csv"
CHECKPOINT = "model.safetensors"
CLASSES = "classes.json"
STATUS = "status.json"
HISTORY_FIELDS = ["epoch", "step", "phase", "elapsed_s", "train_loss", "lr", "images_per_s",
                  "trainable_params", "val_miou", "val_dice", "val_pixel_accuracy", "best"]


@dataclass
class Run:
    path: Path

    def __post_init__(self):
        self.path = Path(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> dict:
        try:
            return json.loads((self.path / CONFIG).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path}: not a run folder (no {CONFIG})") from None

    @property
    def classes(self) -> ClassList:
        return ClassList.load(self.path / CLASSES)

    @property
    def status(self) -> dict:
        try:
            return json.loads((self.path / STATUS).read_text())
        except (FileNotFoundError, ValueError):
            return {"state": "unknown"}

    def history(self) -> list[dict]:
        try:
            text = (self.path / HISTORY).read_text()
        except FileNotFoundError:
            return []
        rows = list(csv.DictReader(io.StringIO(text)))
        return [{k: _num(v) for k, v in r.items()} for r in rows]

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT).is_file()

    def load_model(self, device: str = "cpu"):
        """The trained network, rebuilt from config.json and the safetensors checkpoint."""
        from safetensors.torch import load_file

        from .model import ModelSpec, build_model

        if not self.has_checkpoint:
            raise FileNotFoundError(f"run '{self.name}' has no checkpoint yet ({CHECKPOINT} missing)")
        cfg = self.config
        model = build_model(ModelSpec(cfg["arch"], cfg["backbone"], cfg["num_classes"]), weights="none")
        model.load_state_dict(load_file(str(self.path / CHECKPOINT)))
        return model.to(device).eval()

    # -- writing ---------------------------------------------------------------------------
    def write_config(self, config: dict) -> None:
        atomic_write_text(self.path / CONFIG, json.dumps(config, indent=2, default=str))

    def write_status(self, **status) -> None:
        atomic_write_text(self.path / STATUS, json.dumps(status, indent=2, default=str))

    def write_history(self, rows: list[dict]) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        atomic_write_text(self.path / HISTORY, buf.getvalue())

    def save_checkpoint(self, model: torch.nn.Module) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        atomic_write(self.path / CHECKPOINT, lambda p: save_file(state, str(p)))

    def delete(self) -> None:
        shutil.rmtree(self.path)


def _num(v: str):
    if v in ("", None):
        return None
    if v in ("True", "False"):
        return v == "True"
    try:
        f = float(v)
        return int(f) if f.is_integer() and "." not in v else f
    except ValueError:
        return v


def list_runs(root: Path) -> list[Run]:
    """Runs under ``root``, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [Run(p) for p in root.iterdir() if (p / CONFIG).is_file()]
    return sorted(runs, key=lambda r: (r.path / CONFIG).stat().st_mtime, reverse=True)
