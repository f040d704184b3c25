"""Registry of losses; every one skips IGNORE pixels and ce/focal take optional class weights."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seg_core.base.mask_values import IGNORE


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


class DiceLoss(nn.Module):
    """smp's ``DiceLoss("multiclass", from_logits=True, ignore_index=IGNORE)``, same value and gradient
    (tested against it), computed by gathering instead of a one-hot tensor: 3x faster at 352x480,
    which is 7 % of a CPU training step."""

    def __init__(self, eps: float = 1e-7):
        super().__init__()
        self.eps = eps

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        probs = logits.softmax(1)
        valid = target != IGNORE
        t = torch.where(valid, target, 0)
        n = logits.shape[1]
        picked = probs.gather(1, t.unsqueeze(1)).squeeze(1)[valid]  # probability of the true class
        inter = torch.zeros(n, dtype=probs.dtype, device=probs.device).index_add_(0, t[valid], picked)
        count = torch.bincount(t[valid], minlength=n).to(probs.dtype)
        card = (probs * valid.unsqueeze(1)).sum((0, 2, 3)) + count
        dice = 2 * inter / card.clamp_min(self.eps)
        return ((1 - dice) * (count > 0)).mean()  # classes absent from the target count as 0


def _dice(w):
    return DiceLoss()


LOSSES: dict[str, Callable[[torch.Tensor | None], nn.Module]] = {
    "ce": _ce,
    "dice": _dice,
    "ce+dice": lambda w: SumLoss(_ce(w), _dice(w)),
    "focal": lambda w: FocalLoss(w),
}

LOSS_WORDS = {  # each loss in a domain expert's words (the Train page)
    "ce": "wrong pixels, one by one",
    "dice": "overlap of each class",
    "ce+dice": "wrong pixels and overlap (recommended)",
    "focal": "mostly the hardest pixels",
}


def build_loss(name: str, class_weights: torch.Tensor | None = None) -> nn.Module:
    try:
        return LOSSES[name](class_weights)
    except KeyError:
        raise ValueError(f"unknown loss '{name}'; choose one of: {', '.join(LOSSES)}") from None
