"""A run is a folder: config, metrics history, best checkpoint, classes. It reloads from that alone."""
from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seg_core.base.classes import ClassList
from seg_core.base.atomic import atomic_write, atomic_write_text
from seg_core.runs.events import Validation, field_names

if TYPE_CHECKING:
    import torch

    from seg_core.data.colour import ColourReference
    from seg_core.data.intensities import Intensities
    from seg_core.data.model_input import ModelInput

CONFIG = "config.json"
HISTORY = "history.csv"
CHECKPOINT = "model.safetensors"
CLASSES = "classes.json"
STATUS = "status.json"
EVENTS = "events.jsonl"  # the training's events, one JSON object a line (``event_log.py``)
CANCEL = "cancel"  # present: the user asked the training to stop (the training checks it every step)
POSTPROCESS = "postprocess.json"  # seg_core.infer.postprocess: CRF / flips measured on held-out images, and the choice
STATES = ("running", "done", "cancelled", "failed", "interrupted")  # what ``Run.state`` says (or "unknown")
FINISHED = ("done", "cancelled", "interrupted")  # ended, its best checkpoint final


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
            data = json.loads((self.path / CONFIG).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path}: not a run folder (no {CONFIG})") from None
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"{self.path / CONFIG}: not valid JSON ({err})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{self.path / CONFIG}: not a JSON object")
        return data

    @property
    def settings(self) -> dict:
        """``config`` for display: {} when config.json is damaged (``problems()`` names it)."""
        try:
            return self.config
        except (OSError, ValueError):
            return {}

    @property
    def classes(self) -> ClassList:
        return ClassList.load(self.path / CLASSES)

    @property
    def status(self) -> dict:
        """status.json, with ``state`` as ``Run.state`` tells it ("interrupted" for a "running" whose process
        died; what the file says is then kept as ``recorded_state``)."""
        s = self._recorded_status()
        state = self._state(s)
        return s if state == s.get("state") else {**s, "state": state, "recorded_state": s.get("state")}

    def _recorded_status(self) -> dict:
        try:
            data = json.loads((self.path / STATUS).read_text())
        except (OSError, ValueError):
            return {"state": "unknown"}
        return data if isinstance(data, dict) else {"state": "unknown"}

    @property
    def state(self) -> str:
        """running, done, cancelled, failed, interrupted (or unknown): "running" in status.json is believed only
        while the process that trains it lives; a run whose process died (killed, server restarted) reads
        "interrupted", its best checkpoint so far kept."""
        return self._state(self._recorded_status())

    def _state(self, s: dict) -> str:
        state = str(s.get("state", "unknown"))
        if state in ("running", "starting") and not self._trainer_alive(s):
            return "interrupted"
        return "running" if state == "starting" else state

    def _trainer_alive(self, status: dict) -> bool:
        from seg_core.base.locks import holder, owner_alive

        alive = owner_alive(status)
        if alive is not None:
            return alive
        if status.get("host") not in (None, socket.gethostname()):
            return True  # trained on another machine: cannot tell from here
        owner = holder(self.path.parent)  # no pid recorded: believe the runs folder's training lock
        return owner is not None and Path(str(owner.get("run"))).name == self.name

    @property
    def best_val_miou(self) -> float | None:
        """The best validation mIoU: from status.json once ended, else from history.csv (running, interrupted)."""
        v = self.status.get("best_val_miou")
        if isinstance(v, (int, float)):
            return float(v)
        try:
            scores = [r.get("val_miou") for r in self.history() if r.get("best") in (True, 1, "True")]
        except ValueError:
            return None
        scores = [float(x) for x in scores if isinstance(x, (int, float))]
        return max(scores) if scores else None

    def problems(self) -> list[str]:
        """Each damaged file of the run, named, with what is wrong (empty when all read)."""
        out = []
        for check in (lambda: self.config, lambda: self.classes if (self.path / CLASSES).exists() else None,
                      self.history):
            try:
                check()
            except (OSError, ValueError) as err:
                out.append(str(err))
        if (self.path / STATUS).exists() and self._recorded_status().get("state") == "unknown":
            out.append(f"{self.path / STATUS}: not valid JSON (the run's state is unknown)")
        return out

    def summary(self) -> dict:
        """One row about the run that never raises: name, state, best validation mIoU, checkpoint, settings;
        ``problems`` names damaged files."""
        cfg = self.settings
        s = self.status
        return {"run": self.name, "state": s["state"], "best_val_miou": self.best_val_miou,
                "has_checkpoint": self.has_checkpoint, "path": str(self.path), "started": s.get("started"),
                "backbone": cfg.get("backbone"), "arch": cfg.get("arch"), "epochs": s.get("epochs", cfg.get("epochs")),
                "seconds": s.get("seconds"), "problems": self.problems()}

    def history(self) -> list[dict]:
        """The validation rows (``seg_core.runs.events.Validation`` fields), oldest first."""
        import pandas as pd

        try:
            df = pd.read_csv(self.path / HISTORY)
        except (FileNotFoundError, pd.errors.EmptyDataError):
            return []
        except (ValueError, UnicodeDecodeError, OSError) as err:  # pandas' ParserError is a ValueError
            raise ValueError(f"{self.path / HISTORY}: cannot be read as a table ({type(err).__name__}: "
                             f"{str(err).strip()[:200]})") from None
        return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in df.to_dict("records")]

    @property
    def is_run(self) -> bool:
        return (self.path / CONFIG).is_file()

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT).is_file()

    @property
    def checkpoint_mtime(self) -> float:
        """When the checkpoint was last written (0 when there is none): a cache key for the model."""
        ck = self.path / CHECKPOINT
        return ck.stat().st_mtime if ck.is_file() else 0.0

    def load_weights_into(self, model) -> None:
        """Start ``model`` from this run's checkpoint (continue training: the caller checks the classes)."""
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(self.path / CHECKPOINT)))

    def load_model(self, device: str = "cpu"):
        """The trained network, rebuilt from config.json and the safetensors checkpoint."""
        from safetensors.torch import load_file

        from seg_core.model.network import ModelSpec, build_model

        if not self.has_checkpoint:
            raise FileNotFoundError(f"run '{self.name}' has no checkpoint yet ({CHECKPOINT} missing)")
        cfg = self.config
        try:
            spec = ModelSpec(cfg["arch"], cfg["backbone"], cfg["num_classes"], int(cfg.get("in_channels") or 3))
        except KeyError as err:
            raise ValueError(f"{self.path / CONFIG}: has no {err} setting") from None
        model = build_model(spec, weights="none")
        try:
            model.load_state_dict(load_file(str(self.path / CHECKPOINT)))
        except Exception as err:  # truncated or foreign file: name it
            raise ValueError(f"{self.path / CHECKPOINT}: cannot load the checkpoint ({type(err).__name__}: "
                             f"{str(err)[:300]})") from None
        return model.to(device).eval()

    @property
    def cancel_requested(self) -> bool:
        return (self.path / CANCEL).exists()

    def request_cancel(self) -> None:
        """Ask the training that writes this run, in whichever process, to stop after its current step."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / CANCEL, "cancel requested\n")

    # -- writing ---------------------------------------------------------------------------
    def write_config(self, config: dict) -> None:
        atomic_write_text(self.path / CONFIG, json.dumps(config, indent=2, default=str))

    def write_status(self, **status) -> None:
        atomic_write_text(self.path / STATUS, json.dumps(status, indent=2, default=str))

    @property
    def colour_reference(self) -> "ColourReference | None":
        """What the run's images are brought to before the network sees them (config.json's
        ``colour_reference``; ``seg_core.data.colour``), or None: a run trained without evening out colours."""
        from seg_core.data.colour import ColourReference

        return self._read_config(lambda c: ColourReference.from_dict(c.get("colour_reference")))

    @property
    def intensities(self) -> "Intensities | None":
        """The fixed per-channel ranges its 16-bit and float images are read with (config.json's
        ``input_normalisation``; ``seg_core.data.intensities``), or None: 8-bit images, or a run trained before."""
        from seg_core.data.intensities import Intensities

        return self._read_config(lambda c: Intensities.from_dict(c.get("input_normalisation")))

    @property
    def reading(self) -> "ModelInput":
        """How the run reads an image (``seg_core.data.model_input``): its channels, in order (config.json's
        ``channels`` of ``channel_layout``), and their fixed ranges (``intensities``); a run from before
        channels were recorded reads gray or RGB images."""
        from seg_core.data.model_input import ModelInput

        return self._read_config(ModelInput.from_config)

    def _read_config(self, parse):
        """``parse(config.json's dict)``, its ValueError (a malformed entry) naming the run's config.json."""
        try:
            return parse(self.config)
        except ValueError as err:
            raise ValueError(f"{self.path / CONFIG}: {err}") from None

    @property
    def postprocess(self) -> dict | None:
        """postprocess.json (``seg_core.infer.postprocess.measure``): held-out scores with and without CRF and flips,
        and the choice prediction uses by default; None when not measured (older runs) or unreadable."""
        try:
            data = json.loads((self.path / POSTPROCESS).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_postprocess(self, measured: dict) -> None:
        atomic_write_text(self.path / POSTPROCESS, json.dumps(measured, indent=2))

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

    def started(r: Run) -> float:
        try:
            return (r.path / CONFIG).stat().st_mtime
        except OSError:  # removed meanwhile
            return 0.0
    return sorted(runs, key=started, reverse=True)
