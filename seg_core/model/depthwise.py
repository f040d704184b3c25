"""Depthwise convolutions kept in fp32 under a CPU's bf16 autocast.

On a CPU, PyTorch's bf16 depthwise convolution (one filter per channel: EfficientNet's and MobileNet's 3x3 and 5x5
blocks) is far slower than its fp32 one: 4-7x over forward and backward on a 2-core AVX512-BF16 EPYC for the
shapes of an EfficientNet-Lite0 U-Net at 352x480 (37 against 4 ms, 67 against 11 ms), while the ordinary
convolutions are 1.5-2x faster in bf16. Keeping the depthwise ones in fp32 made a bf16 training step of that
network 1.2-1.3x faster (benchmarks/results/2026-12-07-depthwise.md). Everywhere else (fp32, a GPU's autocast)
the layers compute as before; the weights and what a network computes in fp32 (an exported file) are unchanged.
"""
from __future__ import annotations

import torch
from torch import nn


class Fp32OnCpu:
    """Mixed into a depthwise ``nn.Conv2d`` class (also timm's ``Conv2dSame``): under CPU autocast, compute
    in fp32 from an fp32 copy of the input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())
        return super().forward(x)


_KEPT: dict[type, type] = {}


def _fp32_class(base: type) -> type:
    """The class ``base`` with ``Fp32OnCpu`` mixed in, made once and named in this module (so it pickles)."""
    if base not in _KEPT:
        name = f"Fp32OnCpu{base.__name__}"
        cls = type(name, (Fp32OnCpu, base), {"__module__": __name__, "__qualname__": name})
        globals()[name] = cls
        _KEPT[base] = cls
    return _KEPT[base]


def is_depthwise(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels


def depthwise_in_fp32(net: nn.Module) -> int:
    """Make every depthwise convolution of ``net`` compute in fp32 under CPU autocast (in place: its class
    gains ``Fp32OnCpu``; its parameters, state dict and outputs outside CPU autocast are unchanged). Returns how
    many layers that concerns."""
    n = 0
    for m in net.modules():
        if is_depthwise(m):
            if not isinstance(m, Fp32OnCpu):
                m.__class__ = _fp32_class(type(m))
            n += 1
    return n
