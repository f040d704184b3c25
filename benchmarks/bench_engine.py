"""Engine benchmark on camvid-mini (train on train/, score on val/, ignore 11). Prints figures, asserts nothing.

    python benchmarks/bench_engine.py [--budget 300] [--depth-budget 60] [--data ../shared/data/camvid-mini]

1. default recipe vs a plain smp loop, same CPU budget: mIoU, ratio, train images/s;
2. ImageNet vs random initialisation (default recipe);
3. train images/s and mIoU per freeze depth;
   (train images/s counts the training steps; seg_core's budget also pays for its validations, every 10 s
   on the 20 % of train/ it holds out, so it trains on fewer images than the plain loop, which uses all)
4. inference and dense-CRF seconds/image, mIoU with and without the CRF.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import torch

from seg_core import CRFParams, TrainConfig, evaluate_run, scan_dataset, train
from seg_core.data.colour import prepare_for
from seg_core.infer.evaluation import evaluate_pairs
import plain_loop  # benchmarks/ is on sys.path when this script runs

SIZE = (352, 480)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "camvid-mini"))
    ap.add_argument("--budget", type=float, default=300)
    ap.add_argument("--depth-budget", type=float, default=60)
    ap.add_argument("--out", default="bench_out")
    args = ap.parse_args()
    tr_dir, va_dir, out = Path(args.data) / "train", Path(args.data) / "val", Path(args.out)
    tr = scan_dataset(tr_dir, ignore_index=11)
    va = scan_dataset(va_dir, ignore_index=11, classes=tr.classes)
    val_pairs = va.load_pairs()
    print(f"# seg_core benchmark {time.strftime('%Y-%m-%d %H:%M')} on {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"train {len(tr.labelled)} images, score on {len(val_pairs)} val images, crop {SIZE[0]}x{SIZE[1]}\n")

    def ours(name, **kw):
        cfg = dict(data=str(tr_dir), out=str(out / name), ignore_index=11, img_size=SIZE, time_budget=args.budget)
        run = train(TrainConfig(**(cfg | kw)))
        seen = prepare_for(run.colour_reference)  # the images as the run's network takes them
        res = evaluate_pairs(run.load_model(), [(seen(im), m) for im, m in val_pairs], tr.num_classes, None)
        return run, res["miou"], run.status["train_images_per_s"]

    t = time.time()
    model, plain_ips = plain_loop.train_plain(tr.load_pairs(), tr.num_classes, args.budget, SIZE)
    plain_miou = evaluate_pairs(model, val_pairs, tr.num_classes)["miou"]
    run, miou, ips = ours("default")
    _, rnd_miou, _ = ours("random_init", weights="none")
    print(f"## 1. Same {args.budget:.0f} s CPU budget\n")
    print("| recipe | val mIoU | train images/s | images/s, validation included |\n|---|---|---|---|")
    print(f"| plain smp loop (AdamW 1e-3, CE, flips, fp32) | {plain_miou:.4f} | {plain_ips:.2f} | (none) |")
    print(f"| seg_core default | {miou:.4f} | {ips:.2f} | {run.status['images_per_s']:.2f} |")
    print(f"| seg_core default, random init (no ImageNet) | {rnd_miou:.4f} | | |")
    print(f"\nmIoU ratio default/plain: **{miou / max(plain_miou, 1e-9):.2f}x** (target >= 1.15); "
          f"ImageNet/random: {miou / max(rnd_miou, 1e-9):.2f}x\n")

    print(f"## 2. Freeze depth ({args.depth_budget:.0f} s each, default recipe otherwise)\n")
    print("| freeze depth | trainable params | train images/s | vs plain loop | val mIoU |\n|---|---|---|---|---|")
    for k in range(0, run.config["num_stages"] + 1):
        r, m, kips = ours(f"depth{k}", freeze_depth=k, time_budget=args.depth_budget)
        tp = r.history()[0]["trainable_params"]
        print(f"| {k} | {tp / 1e6:.2f}M | {kips:.2f} | {kips / plain_ips:.2f}x | {m:.4f} |", flush=True)

    print("\n## 3. Inference and dense CRF (default run, val images 360x480)\n")
    plain_eval = evaluate_run(run, va_dir, ignore_index=11)
    crf_eval = evaluate_run(run, va_dir, crf=CRFParams(), ignore_index=11)
    print("| | mIoU | seconds/image |\n|---|---|---|")
    print(f"| network only | {plain_eval.miou:.4f} | {plain_eval.seconds_per_image:.3f} |")
    print(f"| + dense CRF | {crf_eval.miou:.4f} | {crf_eval.seconds_per_image:.3f} "
          f"(CRF alone {crf_eval.crf_seconds_per_image:.3f}) |")
    print(f"\ntotal benchmark time {time.time() - t:.0f} s")


if __name__ == "__main__":
    main()
