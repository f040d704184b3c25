"""seg_core: transfer-learning image segmentation engine (no UI code; the app, the CLI and tests use it).

Main entry points: ``scan_dataset`` (validate a folder), ``TrainConfig`` + ``train`` (fine-tune),
``Run`` (a trained model's folder), ``Predictor`` / ``evaluate_run`` / ``predict_folder`` (use it),
``OnnxPredictor`` (an exported ONNX file, without torch),
``Workspace`` (the app's data on disk), ``REGISTRY`` (background jobs: trainings and tasks).

Names are imported on first use (PEP 562), so ``import seg_core.workspace.workspace`` or reading a constant does
not load torch: the app declares its navigation before anything slow.
"""
from __future__ import annotations

import importlib
import logging as _logging
import warnings as _warnings

# public name -> the module that holds it (one home per name)
_EXPORTS: dict[str, str] = {
    "ARCHITECTURES": "model.architectures",
    "BACKBONES": "model.backbones", "DEFAULT_BACKBONE": "model.backbones", "encoder_info": "model.network",
    "get_backbone": "model.backbones",
    "ClassList": "base.classes",
    "CRFParams": "infer.crf", "dense_crf": "infer.crf",
    "Dataset": "data.dataset", "DatasetError": "data.dataset", "Problem": "data.dataset", "scan_dataset": "data.dataset",
    "IGNORE": "base.mask_values", "UNLABELLED": "base.mask_values",
    "Predictor": "infer.predictor", "predict_folder": "infer.predictor",
    "OnnxPredictor": "infer.onnx_predictor",  # an exported ONNX file alone, without torch
    "evaluate_run": "infer.evaluation",
    "REGISTRY": "runner.jobs", "Job": "runner.jobs", "JobRefused": "runner.jobs", "Cancelled": "base.progress",
    "LOSSES": "model.losses",
    "Run": "runs.folder", "list_runs": "runs.folder",
    "TrainConfig": "runs.config", "ConfigError": "runs.config",
    "train": "training.loop",
    "WeightsUnavailable": "model.weights", "imagenet_offline": "model.weights",
    "Workspace": "workspace.workspace",
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
