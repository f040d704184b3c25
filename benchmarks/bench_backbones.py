"""Training and inference speed per backbone on this machine (what the backbone list's "suits CPU/GPU" rests
on). Prints figures; asserts nothing.

    python benchmarks/bench_backbones.py [--backbones efficientnet_lite0,efficientnet_lite1,efficientnet_lite2]
                                         [--size 352x480] [--steps 8] [--rounds 3]

Per backbone (U-Net, no weights needed: speed does not depend on them): training images/s at freeze depth 0
and at the default depth, and inference seconds per image, each the median over ``--rounds`` rounds taken in
turn (so a load that comes and goes affects every backbone alike); ratios against the first backbone.
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

warnings.filterwarnings("ignore")

import torch
import torch.nn.functional as F

from seg_core.base.device import use_all_cpu_threads
from seg_core.model.network import ModelSpec, build_model
from seg_core.runs.config import TrainConfig


def train_speed(model, x, y, steps: int) -> float:
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    t = time.perf_counter()
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * len(x) / (time.perf_counter() - t)


@torch.inference_mode()
def infer_seconds(model, x, n: int = 3) -> float:
    model.eval()
    t = time.perf_counter()
    for _ in range(n):
        model(x[:1])
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backbones", default="efficientnet_lite0,efficientnet_lite1,efficientnet_lite2")
    ap.add_argument("--size", default="352x480")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    use_all_cpu_threads()
    h, w = (int(v) for v in args.size.split("x"))
    x = torch.rand(4, 3, h, w).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 11, (4, h, w))
    names = args.backbones.split(",")
    depth = TrainConfig(data="", out="").freeze_depth
    models = {n: build_model(ModelSpec("unet", n, 11), "none").to(memory_format=torch.channels_last) for n in names}
    res = {n: {"depth 0": [], f"depth {depth}": [], "infer": []} for n in names}
    for _ in range(args.rounds):
        for n, m in models.items():
            m.freeze(0)
            train_speed(m, x, y, 1)  # warm-up
            res[n]["depth 0"].append(train_speed(m, x, y, args.steps))
            m.freeze(depth)
            res[n][f"depth {depth}"].append(train_speed(m, x, y, args.steps))
            res[n]["infer"].append(infer_seconds(m, x))
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in res.items()}
    base = med[names[0]]
    print(f"# backbone speed, U-Net, batch 4 at {h}x{w}, {torch.get_num_threads()} threads, median of "
          f"{args.rounds} rounds\n")
    print(f"| backbone | train img/s, freeze 0 | train img/s, freeze {depth} | inference s/image | "
          f"vs {names[0]} (freeze {depth}) |\n|---|---|---|---|---|")
    for n, m in med.items():
        print(f"| {n} | {m['depth 0']:.2f} | {m[f'depth {depth}']:.2f} | {m['infer']:.3f} | "
              f"{m[f'depth {depth}'] / base[f'depth {depth}']:.2f}x |")


if __name__ == "__main__":
    main()
