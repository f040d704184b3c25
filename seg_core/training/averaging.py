"""A moving average of the weights (``TrainConfig.ema``): validated and saved instead of the raw weights.

(Learning from unlabelled images, a mean teacher's confident pseudo-labels, was removed in issue #22: it
scored below the labels alone on every domain measured, 0.74x street, 0.94x membrane, 1.00x sample.)
"""
from __future__ import annotations

import torch

EMA_DECAY = 0.99


def ema_model(model: torch.nn.Module, decay: float = EMA_DECAY):
    """An EMA copy of ``model`` (parameters and BatchNorm statistics), updated with ``update_parameters``.

    The decay warms up as (1 + n) / (10 + n) up to ``decay`` after n updates, so a short run's average is not
    dominated by the untrained start."""
    from torch.optim.swa_utils import AveragedModel

    def average(averaged: list[torch.Tensor], current: list[torch.Tensor], n) -> None:
        n = float(n)
        d = min(decay, (1 + n) / (10 + n))
        floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point()]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], 1 - d)
        for a, c in zip(averaged, current):
            if not a.is_floating_point():  # BatchNorm's step counter
                a.copy_(c)

    ema = AveragedModel(model, multi_avg_fn=average, use_buffers=True)
    ema.eval()
    return ema


class Averaging:
    """What a Trainer adds for ``TrainConfig.ema``: the EMA of the weights, validated and saved instead of the
    raw weights."""

    def __init__(self, model: torch.nn.Module):
        self.ema = ema_model(model)

    @staticmethod
    def for_config(cfg, model: torch.nn.Module) -> "Averaging | None":
        return Averaging(model) if cfg.ema else None

    def update(self, model: torch.nn.Module) -> None:
        self.ema.update_parameters(model)

    @property
    def model(self) -> torch.nn.Module:
        """The averaged network (what is validated and saved)."""
        return self.ema.module
