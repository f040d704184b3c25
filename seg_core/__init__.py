"""seg_core: transfer-learning image segmentation engine (no UI code; the app, the CLI and tests use it).

Main entry points: ``scan_dataset`` (validate a folder), ``TrainConfig`` + ``train`` (fine-tune),
``Run`` (a trained model's folder), ``Predictor`` / ``evaluate_run`` / ``predict_folder`` (use it),
``Workspace`` (the app's data on disk), ``REGISTRY`` (background jobs).

Names are imported on first use (PEP 562), so ``import seg_core.workspace`` or reading a constant does
not load torch: the app declares its navigation before anything slow.
"""
from __future__ import annotations

import importlib
import logging as _logging
import warnings as _warnings

# public name -> the module that holds it (one home per name)
_EXPORTS: dict[str, str] = {
    "ARCHITECTURES": "architectures",
    "BACKBONES": "backbones", "DEFAULT_BACKBONE": "backbones", "encoder_info": "backbones",
    "get_backbone": "backbones",
    "ClassList": "classes",
    "CRFParams": "crf", "dense_crf": "crf",
    "Dataset": "dataset", "DatasetError": "dataset", "Problem": "dataset", "scan_dataset": "dataset",
    "IGNORE": "mask_values", "UNLABELLED": "mask_values",
    "Predictor": "predictor", "predict_folder": "predictor",
    "evaluate_run": "evaluation",
    "REGISTRY": "jobs", "Job": "jobs", "JobRefused": "jobs",
    "LOSSES": "losses",
    "Run": "runs", "list_runs": "runs",
    "TrainConfig": "train_config", "ConfigError": "train_config",
    "train": "training",
    "WeightsUnavailable": "weights", "imagenet_offline": "weights",
    "Workspace": "workspace",
}

_logging.getLogger("timm").setLevel(_logging.ERROR)
_warnings.filterwarnings("ignore", message=".*(weights_only|pretrained_cfg|Unexpected keys).*")

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seg_core' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
