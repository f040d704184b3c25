"""Device and numeric precision: GPU with AMP when present, all CPU threads with bf16 where fast.

On a GPU: bf16 autocast where the GPU supports it, else fp16 with a gradient scaler (``grad_scaler``);
channels-last tensors, pinned host memory for the batches (``pin_memory``) and cuDNN autotuning
(``configure``). Under torchrun each process takes the GPU of its ``LOCAL_RANK`` (``pick_device``) and,
on CPU, its share of the cores (``use_all_cpu_threads``)."""
from __future__ import annotations

import contextlib
from functools import lru_cache

import torch

from seg_core.base.cores import cpu_count  # noqa: F401  (the device's description and threads use it)

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def pick_device(pref: str = "auto", local_rank: int = 0) -> torch.device:
    """The device to train on: ``pref`` ("auto": the GPU when there is one); "cuda" under torchrun is
    this process's GPU (``local_rank``)."""
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(pref)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return device


def configure(device: torch.device) -> None:
    """Per-device speed settings: on a GPU, this process's GPU made current, cuDNN autotuning (the crop
    size is fixed, so the fastest convolution algorithms are chosen once) and TF32 matrix products."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def pin_memory(device: torch.device) -> bool:
    """Batches go to page-locked host memory (faster, asynchronous copies) only when a GPU trains."""
    return device.type == "cuda"


def precision_name(dtype: torch.dtype | None) -> str:
    """"bf16", "fp16" or "fp32" (no autocast): as config.json records it and the Train page shows it."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32")


def describe(pref: str = "auto", precision: str = "auto") -> str:
    """What training with these settings runs on, in a line for the Train page: the device(s) and the
    precision, with why."""
    device = pick_device(pref)
    amp = precision_name(autocast_dtype(device, precision))
    if device.type == "cuda":
        n = torch.cuda.device_count()
        name = torch.cuda.get_device_name(device)
        why = {"bf16": "bf16 autocast", "fp16": "fp16 autocast with a gradient scaler (no bf16 on this GPU)",
               "fp32": "fp32"}[amp]
        return f"GPU: {name}" + (f" (this machine has {n})" if n > 1 else "") + f" · {why} · channels-last"
    if precision != "auto":
        why = f"{amp} autocast (chosen)" if amp != "fp32" else "fp32 (chosen)"
    else:
        why = "bf16 autocast (this CPU has fast bf16)" if amp == "bf16" else "fp32 (bf16 is not fast on this CPU)"
    return f"CPU: {cpu_count()} core(s), no GPU found · {why}"


def describe_plainly(pref: str = "auto") -> str:
    """What training runs on, in a domain expert's words (``describe`` has the technical line)."""
    device = pick_device(pref)
    if device.type == "cuda":
        n = torch.cuda.device_count()
        name = torch.cuda.get_device_name(device)
        return f"the graphics card {name}" + (f" (this computer has {n})" if n > 1 else "")
    return f"this computer's processor ({cpu_count()} cores; no graphics card found, so larger networks are slow)"


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True on CPUs with AMX or AVX512-BF16, where bf16 autocast roughly doubles training speed."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got '{precision}'")
    if precision == "fp32":
        return None
    if precision in ("bf16", "fp16"):
        return torch.bfloat16 if precision == "bf16" else torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_fast_bf16() else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)




def use_all_cpu_threads(processes: int = 1) -> None:
    """Compute threads: all cores, shared evenly among ``processes`` training on this machine (torchrun)."""
    torch.set_num_threads(max(1, cpu_count() // max(1, processes)))


def grad_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for float16 autocast (bfloat16 and fp32 need none): without it
    small float16 gradients underflow to zero and the model stops learning."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
