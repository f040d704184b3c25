"""Registry of segmentation architectures (decoders from segmentation-models-pytorch)."""
from __future__ import annotations

from dataclasses import dataclass

import segmentation_models_pytorch as smp


@dataclass(frozen=True)
class Architecture:
    name: str
    smp_class: type
    note: str


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in [
    Architecture("unet", smp.Unet, "U-Net: sharp boundaries, the default"),
    Architecture("fpn", smp.FPN, "Feature Pyramid Network: light decoder, output at 1/4 then upsampled"),
    Architecture("deeplabv3plus", smp.DeepLabV3Plus, "DeepLabV3+: atrous context, good for large regions"),
]}
DEFAULT_ARCH = "unet"


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture '{name}'; choose one of: {', '.join(ARCHITECTURES)}") from None


def build_net(arch: str, backbone, num_classes: int, weights: str | None = None, **timm_kwargs):
    """The smp model; ``weights`` is None or "imagenet" (``timm_kwargs`` reach timm.create_model)."""
    return get_architecture(arch).smp_class(
        encoder_name=backbone.smp_encoder, encoder_weights=True if weights else None, classes=num_classes, **timm_kwargs
    )
