"""Registry of segmentation architectures (decoders from segmentation-models-pytorch), and which
backbones each can be built on."""
from __future__ import annotations

from dataclasses import dataclass

import segmentation_models_pytorch as smp
import torch

from seg_core.model.backbones import Backbone, get_backbone
from seg_core.model.input_layer import RGB_CHANNELS, widen_input


@dataclass(frozen=True)
class Architecture:
    name: str  # our name, used on the command line and in run configs
    label: str  # how people write it
    smp_class: type
    note: str
    needs_dilation: bool = False  # runs its encoder dilated (output stride 16): only backbones that dilate
    plain: str = ""  # what it is good at, in a domain expert's words (the Train page)


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in [
    Architecture("unet", "U-Net", smp.Unet, "sharp boundaries, the default",
                 plain="sharp outlines (recommended)"),
    Architecture("fpn", "FPN", smp.FPN, "Feature Pyramid Network: light decoder, output at 1/4 then upsampled",
                 plain="lighter and quicker, softer outlines"),
    Architecture("deeplabv3plus", "DeepLabV3+", smp.DeepLabV3Plus, "atrous context, good for large regions",
                 needs_dilation=True, plain="looks wider around each pixel: large regions"),
]}
DEFAULT_ARCH = "unet"


def _fits(arch: Architecture, backbone: Backbone) -> bool:
    return backbone.dilates or not arch.needs_dilation


def supported_archs(backbone: str) -> list[str]:
    """The architectures that can be built on ``backbone``, in registry order."""
    bb = get_backbone(backbone)
    return [a.name for a in ARCHITECTURES.values() if _fits(a, bb)]


def get_architecture(name: str, backbone: str | None = None) -> Architecture:
    """The architecture ``name``; with ``backbone``, a ValueError saying why when it cannot be built on it."""
    try:
        arch = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture '{name}'; choose one of: {', '.join(ARCHITECTURES)}") from None
    if backbone is not None and not _fits(arch, get_backbone(backbone)):
        choices = " or ".join(ARCHITECTURES[a].label for a in supported_archs(backbone))
        raise ValueError(f"{arch.label} cannot be built on {backbone}: it needs an encoder that can run dilated "
                         f"(output stride 16), and {backbone} cannot; choose {choices}")
    return arch


def build_net(arch: str, backbone: Backbone, num_classes: int,
              weights: str | dict[str, torch.Tensor] | None = None, in_channels: int = 3) -> torch.nn.Module:
    """The smp model. ``weights``: None (random encoder), "imagenet" (timm's download and cache) or the
    encoder's state dict under timm's names (see weights.timm_state_dict), for RGB. ``in_channels``: for more
    than 3 with weights, the RGB network's first layer widened (``input_layer.widen_input``: the RGB filters
    as they are, zeros for the further channels); for 1 or 2, smp's, passed to timm as ``in_chans``, which
    adapts the RGB weights of the first layer (from any of these sources: timm's ``load_pretrained`` does it
    after reading a state dict too)."""
    if weights is not None and in_channels > RGB_CHANNELS:
        net = build_net(arch, backbone, num_classes, weights, RGB_CHANNELS)
        widen_input(net, in_channels)
        net.encoder._in_channels = in_channels
        return net
    extra = {}
    if isinstance(weights, dict):
        extra["pretrained_cfg_overlay"] = dict(state_dict=weights)  # timm loads it like its own file
    net = get_architecture(arch, backbone.name).smp_class(
        encoder_name=backbone.smp_encoder, encoder_weights=True if weights is not None else None,
        classes=num_classes, in_channels=in_channels, **extra)
    if extra:
        for m in net.modules():  # timm keeps the overlay, a copy of every weight, in the encoder's config
            cfg = getattr(m, "pretrained_cfg", None)
            if isinstance(cfg, dict):
                cfg.pop("state_dict", None)
    return net
