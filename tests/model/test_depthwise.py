"""Depthwise convolutions compute in fp32 under a CPU's bf16 autocast (several times faster there); nothing else
about the network changes."""
import copy
import pickle

import torch
from torch import nn

from seg_core.model.depthwise import depthwise_in_fp32, is_depthwise
from seg_core.model.network import ModelSpec, build_model


def _output_dtypes(model, x):
    seen = {}

    def hook(name):
        def record(module, inputs, output):
            seen[name] = output.dtype
        return record
    hooks = [m.register_forward_hook(hook(name)) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    for h in hooks:
        h.remove()
    return seen, out


def test_under_cpu_bf16_autocast_depthwise_layers_give_fp32_and_the_others_bf16():
    model = build_model(ModelSpec("unet", "efficientnet_lite0", 2), "none").eval()
    depthwise = {name for name, m in model.named_modules() if is_depthwise(m)}
    assert len(depthwise) >= 10  # every MBConv block's, timm's padded stride-2 ones (Conv2dSame) included
    dtypes, out = _output_dtypes(model, torch.rand(1, 3, 64, 96))
    assert {dtypes[n] for n in depthwise} == {torch.float32}
    assert {d for n, d in dtypes.items() if n not in depthwise} == {torch.bfloat16}
    assert out.shape == (1, 2, 64, 96)


def test_in_fp32_the_network_computes_what_it_did_and_keeps_its_weights():
    torch.manual_seed(0)
    model = build_model(ModelSpec("unet", "efficientnet_lite0", 3), "none").eval()
    plain = copy.deepcopy(model)
    for m in plain.modules():  # back to the libraries' own classes
        if is_depthwise(m):
            m.__class__ = m.__class__.__mro__[2]
    assert not any(type(m).__module__ == "seg_core.model.depthwise" for m in plain.modules())
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), plain(x))
    assert model.state_dict().keys() == plain.state_dict().keys()


def test_a_copied_or_pickled_network_keeps_its_fp32_depthwise_layers():
    model = build_model(ModelSpec("unet", "efficientnet_lite0", 2), "none").eval()
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):  # the weights' average is a deep copy
        dtypes, _ = _output_dtypes(other, torch.rand(1, 3, 64, 64))
        assert {dtypes[n] for n, m in other.named_modules() if is_depthwise(m)} == {torch.float32}
    assert depthwise_in_fp32(model) == sum(is_depthwise(m) for m in model.modules())  # twice is harmless
