"""The network's first layer for images of more than 3 channels (red, green, blue and more bands, or any channels
read beyond the third): the pretrained RGB filters kept as they are for the first three channels, the filters of
the channels beyond them starting at zero (as fastai adapts a pretrained first layer to more channels).

timm's ``in_chans`` (and smp's ``in_channels``) instead repeat the RGB filters over all N channels and scale
every one by 3/N: the first three channels are then read by 3/N of their pretrained filters, so what the
pretrained network sees of red, green and blue changes, and the layers after the first (whose batch-norm
statistics were learned on RGB, and which stay frozen early in a run) see another input than they learned on.
On 38-Cloud (Landsat-8, red, green, blue and near-infrared) that made RGB + near-infrared score 0.96x RGB alone
(benchmarks/results/2026-12-05-bench_multiband.md). Started as here, the network reads the first three channels
exactly as the pretrained one reads RGB, and learns from the data what each further channel adds: its first
layer (``input_conv``) trains from the first step, at the decoder's learning rate, also while the encoder's
first stages are kept as they are (``SegModel.freeze``, ``SegModel.new_parameters``).

Gray and RGB images (3 channels) and networks of 1 or 2 channels are built as before.
"""
from __future__ import annotations

import torch
from torch import nn

RGB_CHANNELS = 3


def input_conv(net: nn.Module) -> nn.Conv2d:
    """The network's first convolution: the first ``nn.Conv2d`` of its encoder, in module order (as smp's
    ``patch_first_conv`` finds it)."""
    conv = next((m for m in net.encoder.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise ValueError("the network's encoder has no convolution to read the image with")
    return conv


def widen_input(net: nn.Module, in_channels: int) -> None:
    """Make the first convolution of ``net`` (built for RGB, with pretrained weights) read ``in_channels`` > 3
    channels: its RGB filters for channels 1-3, unchanged; zeros for the channels beyond (module docstring)."""
    conv = input_conv(net)
    if conv.in_channels != RGB_CHANNELS or conv.groups != 1:
        raise ValueError(f"the network's first layer reads {conv.in_channels} channels in {conv.groups} group(s); "
                         "only a layer reading RGB can be widened")
    if in_channels <= RGB_CHANNELS:
        raise ValueError(f"widen_input is for more than {RGB_CHANNELS} channels, got {in_channels}")
    rgb = conv.weight.detach()
    weight = torch.zeros(rgb.shape[0], in_channels, *rgb.shape[2:], dtype=rgb.dtype, device=rgb.device)
    weight[:, :RGB_CHANNELS] = rgb
    conv.weight = nn.Parameter(weight)
    conv.in_channels = in_channels
