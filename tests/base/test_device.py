"""Device and precision choice, as the Train page shows it; the GPU answers with a GPU faked (none here)."""
import torch

from seg_core.base import device
def _fake_gpus(monkeypatch, n=2, bf16=True):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "NVIDIA H100")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)


def test_cpu_device_and_precision_are_described():
    text = device.describe("cpu")
    assert text.startswith(f"CPU: {device.cpu_count()} core(s), no GPU found · ")
    assert ("bf16 autocast (this CPU has fast bf16)" if device.cpu_has_fast_bf16() else
            "fp32 (bf16 is not fast on this CPU)") in text
    assert device.describe("cpu", "fp32").endswith("fp32 (chosen)")
    assert not device.pin_memory(torch.device("cpu"))


def test_each_torchrun_process_takes_its_own_gpu_with_bf16_or_fp16_and_a_scaler(monkeypatch):
    _fake_gpus(monkeypatch)
    assert device.pick_device("auto", local_rank=1) == torch.device("cuda", 1)
    assert device.pick_device("cuda:0", local_rank=1) == torch.device("cuda", 0)  # an explicit GPU stays
    gpu = torch.device("cuda", 0)
    assert device.autocast_dtype(gpu) == torch.bfloat16 and device.pin_memory(gpu)
    assert device.describe() == "GPU: NVIDIA H100 (this machine has 2) · bf16 autocast · channels-last"
    _fake_gpus(monkeypatch, n=1, bf16=False)  # an older GPU: fp16, and a gradient scaler to keep small gradients
    assert device.autocast_dtype(gpu) == torch.float16
    assert device.describe() == ("GPU: NVIDIA H100 · fp16 autocast with a gradient scaler (no bf16 on this GPU) · "
                                 "channels-last")
    assert device.precision_name(torch.float16) == "fp16" and device.precision_name(None) == "fp32"


def test_cpu_processes_share_the_cores():
    before = torch.get_num_threads()
    try:
        device.use_all_cpu_threads(processes=device.cpu_count())
        assert torch.get_num_threads() == 1
        device.use_all_cpu_threads()
        assert torch.get_num_threads() == device.cpu_count()
    finally:
        torch.set_num_threads(before)
