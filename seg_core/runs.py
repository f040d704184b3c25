"""A run is a folder: config, metrics history, best checkpoint, classes. It reloads from that alone."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .classes import ClassList
from .atomic import atomic_write, atomic_write_text
from .events import Validation, field_names

if TYPE_CHECKING:
    import torch

CONFIG = "config.json"
HISTORY = "history.csv"
CHECKPOINT = "model.safetensors"
CLASSES = "classes.json"
STATUS = "status.json"


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
        """The validation rows (``seg_core.events.Validation`` fields), oldest first."""
        import pandas as pd

        try:
            df = pd.read_csv(self.path / HISTORY)
        except (FileNotFoundError, pd.errors.EmptyDataError):
            return []
        return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in df.to_dict("records")]

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT).is_file()

    @property
    def checkpoint_mtime(self) -> float:
        """When the checkpoint was last written (0 when there is none): a cache key for the model."""
        ck = self.path / CHECKPOINT
        return ck.stat().st_mtime if ck.is_file() else 0.0

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

    def write_history(self, rows: list[Validation]) -> None:
        import pandas as pd

        df = pd.DataFrame([asdict(r) for r in rows], columns=field_names(Validation))
        atomic_write_text(self.path / HISTORY, df.to_csv(index=False))

    def save_checkpoint(self, model: torch.nn.Module) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        atomic_write(self.path / CHECKPOINT, lambda p: save_file(state, str(p)))


def list_runs(root: Path) -> list[Run]:
    """Runs under ``root``, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [Run(p) for p in root.iterdir() if (p / CONFIG).is_file()]
    return sorted(runs, key=lambda r: (r.path / CONFIG).stat().st_mtime, reverse=True)
