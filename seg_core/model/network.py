"""The segmentation network: input normalisation + smp model, with freezing that respects BatchNorm."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from seg_core.model.architectures import build_net, get_architecture
from seg_core.model.backbones import get_backbone
from seg_core.model.depthwise import depthwise_in_fp32
from seg_core.model.freeze import FreezableMixin, apply_freeze, encoder_stages
from seg_core.model.input_layer import RGB_CHANNELS, input_conv
from seg_core.model.weights import resolve_weights_file, timm_state_dict

OUTPUT_MULTIPLE = 32  # input sides must be multiples of this (the encoder's total stride)


@dataclass
class ModelSpec:
    arch: str
    backbone: str
    num_classes: int
    in_channels: int = 3  # 3 for gray and RGB images; else the channels read (``data.model_input.ModelInput``)


class SegModel(FreezableMixin, nn.Module):
    """Takes images scaled to 0..1 (N, K, H, W): RGB (K = 3) or the run's K channels; returns class logits
    (N, C, H, W)."""

    def __init__(self, net: nn.Module, mean, std, backbone_name: str = "this backbone"):
        super().__init__()
        self.net = net
        depthwise_in_fp32(net)  # under a CPU's bf16 autocast, fp32 is several times faster for these
        self.backbone_name = backbone_name
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self._frozen_norms = []

    @property
    def encoder(self) -> nn.Module:
        return self.net.encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)

    def freeze(self, depth: int) -> int:
        """Freeze the first ``depth`` encoder stages, except a first layer reading more than 3 channels (its
        filters of the further channels are new: ``input_layer``); returns the trainable parameter count."""
        trainable = apply_freeze(self, self.encoder, depth, self.backbone_name)
        for p in self.new_parameters():
            if not p.requires_grad:
                p.requires_grad_(True)
                trainable += p.numel()
        return trainable

    def new_parameters(self) -> list[nn.Parameter]:
        """Encoder parameters not pretrained as they are: the first layer of a network reading more than 3
        channels (``input_layer``); they train from the first step, at the decoder's learning rate."""
        conv = input_conv(self.net)
        return list(conv.parameters()) if conv.in_channels > RGB_CHANNELS else []

    @property
    def num_stages(self) -> int:
        return len(encoder_stages(self.encoder))

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The pretrained encoder's parameters (``new_parameters`` left out: they are the head's)."""
        new = {id(p) for p in self.new_parameters()}
        return [p for p in self.encoder.parameters() if id(p) not in new]

    def head_parameters(self) -> list[nn.Parameter]:
        """The decoder's and segmentation head's parameters, and the encoder's ``new_parameters``."""
        pretrained = {id(p) for p in self.encoder_parameters()}
        return [p for p in self.parameters() if id(p) not in pretrained]


def norm_stats(backbone_name: str, in_channels: int = 3) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) the backbone's ImageNet weights were trained with (from timm's pretrained config), per input
    channel: for K channels the RGB values repeated in turn (channel i: those of colour i mod 3)."""
    from segmentation_models_pytorch.encoders import get_preprocessing_params

    params = get_preprocessing_params(get_backbone(backbone_name).smp_encoder)
    mean, std = tuple(params["mean"]), tuple(params["std"])
    return tuple(mean[i % 3] for i in range(in_channels)), tuple(std[i % 3] for i in range(in_channels))


def build_model(spec: ModelSpec, weights: str = "none") -> SegModel:
    """Build the network; ``weights``: "imagenet", "none" or a path to encoder weights. A network of
    ``spec.in_channels`` above 3 starts from the RGB weights with its first layer widened (``input_layer``: the
    RGB filters as they are for the first three channels, zeros for the others); one of 1 or 2 channels from
    the RGB weights adapted as timm adapts them (``in_chans``: the first layer's RGB filters summed, or the
    first two scaled by 3/2), from any of those sources.

    "imagenet" uses a local copy when there is one (weights folder, a package that ships them,
    timm's cache) and otherwise timm's normal download; offline it raises WeightsUnavailable at once.
    """
    backbone = get_backbone(spec.backbone)
    if spec.num_classes < 2:
        raise ValueError(f"need at least 2 classes (background and one more), got {spec.num_classes}")
    get_architecture(spec.arch, backbone.name)  # an unsupported pair fails before any weights are read
    file = resolve_weights_file(backbone, weights)
    if weights == "none":
        net = build_net(spec.arch, backbone, spec.num_classes, weights=None, in_channels=spec.in_channels)
    elif file is None:  # online download through timm's own cache
        net = build_net(spec.arch, backbone, spec.num_classes, weights="imagenet", in_channels=spec.in_channels)
    else:
        net = build_net(spec.arch, backbone, spec.num_classes, weights=timm_state_dict(backbone, file),
                        in_channels=spec.in_channels)
    return SegModel(net, *norm_stats(backbone.name, spec.in_channels), backbone_name=backbone.name)


@lru_cache(maxsize=None)
def encoder_info(name: str) -> dict:
    """Parameter count and stage layout of a backbone's encoder (built on the meta device: no memory)."""
    with torch.device("meta"):
        net = build_net("unet", get_backbone(name), num_classes=2, weights=None)
    stages = encoder_stages(net.encoder)
    return {
        "encoder_params": sum(p.numel() for p in net.encoder.parameters()),
        "stages": len(stages),
        "stage_params": [sum(p.numel() for p in params) for params in stages],
    }
