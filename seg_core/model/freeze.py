"""Freezing the first K encoder stages, with their norm layers kept in eval mode."""
from __future__ import annotations

from torch import nn

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


def _norm(name: str) -> str:
    return name.replace(".", "_")


def _stage_modules(encoder: nn.Module) -> list[list[nn.Module]]:
    """Modules of a smp timm encoder grouped by feature stage, in forward order.

    Stage k ends with the module timm reports for feature level k; modules before it (a stem)
    belong to the same stage. Levels that own no parameters are merged into the next one.
    """
    model = encoder.model
    bounds = [_norm(model.feature_info.module_name(i)) for i in range(len(model.feature_info))]
    groups: list[list[nn.Module]] = [[] for _ in bounds]
    s, inside = 0, False
    for name, mod in model.named_modules():
        if not name:
            continue
        n = _norm(name)
        while s < len(bounds) and inside and not (n == bounds[s] or n.startswith(bounds[s] + "_")):
            s, inside = s + 1, False
        if s < len(bounds) and (n == bounds[s] or n.startswith(bounds[s] + "_")):
            inside = True
        groups[min(s, len(bounds) - 1)].append(mod)
    merged: list[list[nn.Module]] = []
    carry: list[nn.Module] = []
    for g in groups:
        carry += g
        if any(p.numel() for m in carry for p in m.parameters(recurse=False)):
            merged.append(carry)
            carry = []
    if carry and merged:
        merged[-1] += carry
    return merged


def encoder_stages(encoder: nn.Module) -> list[list[nn.Parameter]]:
    """Parameters of each encoder stage (first = closest to the image)."""
    return [[p for m in mods for p in m.parameters(recurse=False)] for mods in _stage_modules(encoder)]


def check_freeze_depth(depth: int, num_stages: int, backbone_name: str = "this backbone") -> None:
    """ValueError unless 0 <= ``depth`` <= ``num_stages`` (the one check, for the CLI, the app and the library)."""
    if not 0 <= depth <= num_stages:
        raise ValueError(f"Freeze depth must be 0..{num_stages} for {backbone_name} "
                         f"(it has {num_stages} encoder stages), got {depth}")


def apply_freeze(model: nn.Module, encoder: nn.Module, depth: int, backbone_name: str = "this backbone") -> int:
    """Freeze the first ``depth`` stages of ``encoder``; returns the number of trainable parameters.

    Frozen stages' norm layers are recorded on ``model._frozen_norms`` so that its ``train()``
    keeps them in eval mode (running statistics do not drift).
    """
    stages = _stage_modules(encoder)
    check_freeze_depth(depth, len(stages), backbone_name)
    for p in encoder.parameters():
        p.requires_grad_(True)
    frozen_norms: list[nn.Module] = []
    for mods in stages[:depth]:
        for m in mods:
            for p in m.parameters(recurse=False):
                p.requires_grad_(False)
            if isinstance(m, _NORMS):
                frozen_norms.append(m)
    model._frozen_norms = frozen_norms
    model.train(model.training)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class FreezableMixin:
    """``train()`` that leaves frozen norm layers in eval mode."""

    _frozen_norms: list[nn.Module]

    def train(self, mode: bool = True):
        super().train(mode)  # type: ignore[misc]
        for m in getattr(self, "_frozen_norms", []):
            m.eval()
        return self
