"""Registry of losses; every one skips IGNORE pixels and ce/focal take optional class weights."""
from __future__ import annotations

from typing import Callable

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import nn

from .dataset import IGNORE


class FocalLoss(nn.Module):
    """Multi-class focal loss with per-class weights (smp's FocalLoss has only a scalar alpha)."""

    def __init__(self, weight: torch.Tensor | None = None, gamma: float = 2.0):
        super().__init__()
        self.register_buffer("weight", weight if weight is not None else None)
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(logits, target, reduction="none", ignore_index=IGNORE)
        pt = torch.exp(-ce)
        loss = (1 - pt) ** self.gamma * ce
        valid = target != IGNORE
        if self.weight is not None:
            loss = loss * self.weight[target.clamp(max=len(self.weight) - 1)]
        return loss[valid].sum() / valid.sum().clamp(min=1)


class SumLoss(nn.Module):
    def __init__(self, *parts: nn.Module):
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, logits, target):
        return sum(p(logits, target) for p in self.parts)


def _ce(w):
    return nn.CrossEntropyLoss(weight=w, ignore_index=IGNORE)


def _dice(w):
    return smp.losses.DiceLoss("multiclass", from_logits=True, ignore_index=IGNORE)


LOSSES: dict[str, Callable[[torch.Tensor | None], nn.Module]] = {
    "ce": _ce,
    "dice": _dice,
    "ce+dice": lambda w: SumLoss(_ce(w), _dice(w)),
    "focal": lambda w: FocalLoss(w),
}


def build_loss(name: str, class_weights: torch.Tensor | None = None) -> nn.Module:
    try:
        return LOSSES[name](class_weights)
    except KeyError:
        raise ValueError(f"unknown loss '{name}'; choose one of: {', '.join(LOSSES)}") from None
