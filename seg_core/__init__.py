"""seg_core: transfer-learning image segmentation engine (no UI code; the app and tests use it).

Main entry points: ``scan_dataset`` (validate a folder), ``TrainConfig`` + ``train`` (fine-tune),
``Run`` (a trained model's folder), ``Predictor`` / ``evaluate_run`` / ``predict_folder`` (use it),
``Workspace`` (the app's data on disk), ``REGISTRY`` (background jobs).
"""
import logging as _logging
import warnings as _warnings

from .architectures import ARCHITECTURES
from .backbones import BACKBONES, DEFAULT_BACKBONE, encoder_info, get_backbone
from .classes import ClassList
from .crf import CRFParams, dense_crf
from .dataset import IGNORE, Dataset, Problem, scan_dataset
from .inference import Predictor, evaluate_run, predict_folder
from .jobs import REGISTRY, Job, JobRefused
from .losses import LOSSES
from .runs import Run, list_runs
from .train import DatasetError, TrainConfig, train
from .weights import WeightsUnavailable, imagenet_offline
from .workspace import Workspace

_logging.getLogger("timm").setLevel(_logging.ERROR)
_warnings.filterwarnings("ignore", message=".*(weights_only|pretrained_cfg|Unexpected keys).*")

__all__ = ["ARCHITECTURES", "BACKBONES", "DEFAULT_BACKBONE", "encoder_info", "get_backbone", "ClassList",
           "CRFParams", "dense_crf", "IGNORE", "Dataset", "Problem", "scan_dataset", "Predictor", "evaluate_run",
           "predict_folder", "REGISTRY", "Job", "JobRefused", "LOSSES", "Run", "list_runs", "DatasetError",
           "TrainConfig", "train", "WeightsUnavailable", "imagenet_offline", "Workspace"]
