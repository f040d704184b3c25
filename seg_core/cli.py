"""``python -m seg_core``: backbones, validate, train, evaluate, predict, export, sample."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

from .architectures import ARCHITECTURES
from .backbones import BACKBONES, DEFAULT_BACKBONE, encoder_info
from .crf import CRFParams
from .losses import LOSSES


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    logging.getLogger("timm").setLevel(logging.ERROR)


def cmd_backbones(args) -> int:
    from .weights import imagenet_offline

    print(f"{'name':20} {'encoder params':>14} {'stages':>6}  {'ImageNet offline':16} note")
    for name, bb in BACKBONES.items():
        info = encoder_info(name)
        offline = "yes" if imagenet_offline(bb) else "no (download)"
        default = " (default)" if name == DEFAULT_BACKBONE else ""
        print(f"{name:20} {info['encoder_params'] / 1e6:13.1f}M {info['stages']:>6}  {offline:16} {bb.note}{default}")
    return 0


def cmd_validate(args) -> int:
    from .dataset import scan_dataset

    ds = scan_dataset(Path(args.data), args.num_classes, args.ignore_index)
    labelled = len(ds.labelled)
    print(f"{args.data}: {len(ds.samples)} images, {labelled} usable pairs, {ds.num_classes} classes "
          f"({', '.join(ds.classes.names)})" + (f", ignore index {ds.ignore_index}" if ds.ignore_index is not None else ""))
    for p in ds.problems:
        print(str(p))
    n_err = len(ds.errors)
    print(f"{n_err} error(s), {len(ds.problems) - n_err} warning(s)")
    return 1 if n_err else 0


def _progress_printer(quiet: bool):
    from .events import Start, Status, Step, Unfreeze, Validation

    last = [0.0]

    def show(ev) -> None:
        if isinstance(ev, Step) and not quiet and time.time() - last[0] > 5:
            last[0] = time.time()
            eta = f"{ev.eta:.0f}s" if ev.eta is not None else "?"
            print(f"  epoch {ev.epoch} step {ev.step} loss {ev.loss_avg:.4f} {ev.images_per_s:.2f} img/s "
                  f"{100 * ev.progress:.0f}% ETA {eta}", flush=True)
        elif isinstance(ev, Start):
            print(f"training {ev.train_images} images (val {ev.val_images}), crop {ev.img_size}, "
                  f"trainable parameters {ev.trainable_params:,}", flush=True)
        elif isinstance(ev, Unfreeze):
            print(f"epoch {ev.epoch}: unfroze the encoder, trainable parameters {ev.trainable_params:,}")
        elif isinstance(ev, Validation) and ev.val_miou is not None:
            print(f"  validation after epoch {ev.epoch}: mIoU {ev.val_miou:.4f}" + (" (best, saved)" if ev.best else ""),
                  flush=True)
        elif isinstance(ev, Status):
            print(ev.message, flush=True)
    return show


def cmd_train(args) -> int:
    from .augment import AugmentConfig
    from .train_config import TrainConfig, parse_class_weights, parse_img_size
    from .training import train

    aug = AugmentConfig.none() if args.no_augment else AugmentConfig(vflip=args.vflip, rotate=args.rotate)
    cfg = TrainConfig(
        data=args.data, out=args.out, val_data=args.val_data, backbone=args.backbone, arch=args.arch,
        weights=args.weights, freeze_depth=args.freeze_depth, unfreeze_after=args.unfreeze_after,
        epochs=args.epochs, time_budget=args.time_budget, num_classes=args.num_classes,
        ignore_index=args.ignore_index, img_size=parse_img_size(args.img_size), loss=args.loss,
        class_weights=parse_class_weights(args.class_weights),
        lr=args.lr, batch_size=args.batch_size, seed=args.seed, augment=aug, precision=args.precision,
        device=args.device)
    run = train(cfg, _progress_printer(args.quiet))
    st = run.status
    print(f"{st['state']}: {st['epochs']} epochs, {st['steps']} steps in {st['seconds']:.0f}s "
          f"({st['images_per_s']:.2f} img/s)" + (f", best val mIoU {st['best_val_miou']:.4f}"
                                                  if st.get("best_val_miou") is not None else ""))
    print(f"run saved to {run.path}")
    return 0


def _crf(args) -> CRFParams | None:
    if not args.crf:
        return None
    return CRFParams(iterations=args.crf_iterations, sxy_bilateral=args.crf_sxy, srgb=args.crf_srgb,
                     compat_bilateral=args.crf_compat)


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate_run
    from .runs import Run

    res = evaluate_run(Run(Path(args.run)), Path(args.data), crf=_crf(args), tta=args.tta,
                       ignore_index=args.ignore_index, device=args.device)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"mIoU {res['miou']:.4f}  Dice {res['dice']:.4f}  pixel accuracy {res['pixel_accuracy']:.4f}  "
              f"({res['images']} images, {res['seconds_per_image']:.3f} s/image)")
        for name, v in res["per_class_iou"].items():
            print(f"  {name:20} IoU {'-' if v is None else f'{v:.4f}'}")
    return 0


def cmd_predict(args) -> int:
    from .predictor import predict_folder
    from .runs import Run

    def show(p: dict) -> None:
        print(f"  {p['done']}/{p['total']} {p['image']}", flush=True)

    rows = predict_folder(Run(Path(args.run)), Path(args.images), Path(args.out), crf=_crf(args), tta=args.tta,
                          device=args.device, progress=show)
    bad = [r for r in rows if "error" in r]
    for r in bad:
        print(f"skipped: {r['error']}")
    print(f"wrote {len(rows) - len(bad)} masks to {Path(args.out) / 'masks'} and overlays to {Path(args.out) / 'overlays'}")
    return 1 if bad and len(bad) == len(rows) else 0


def cmd_export(args) -> int:
    from .export import export_onnx, export_torchscript
    from .runs import Run

    run = Run(Path(args.run))
    fn = {"torchscript": export_torchscript, "onnx": export_onnx}[args.format]
    print(f"wrote {fn(run, Path(args.out))}")
    return 0


def cmd_sample(args) -> int:
    from .sample import make_sample

    print(f"wrote the sample to {make_sample(Path(args.out))}")
    return 0


def _add_crf(p) -> None:
    d = CRFParams()
    p.add_argument("--crf", action="store_true", help="refine with a dense CRF")
    p.add_argument("--crf-iterations", type=int, default=d.iterations)
    p.add_argument("--crf-sxy", type=float, default=d.sxy_bilateral, help="appearance kernel width (pixels)")
    p.add_argument("--crf-srgb", type=float, default=d.srgb, help="appearance kernel colour tolerance")
    p.add_argument("--crf-compat", type=float, default=d.compat_bilateral, help="appearance kernel weight")
    p.add_argument("--tta", action="store_true", help="average with the horizontally flipped image")
    p.add_argument("--device", default="auto")


def parser() -> argparse.ArgumentParser:
    from .device import PRECISIONS
    from .schedule import DEFAULT_BUDGET_S
    from .train_config import TrainConfig

    D = TrainConfig(data="", out="")  # the defaults live in one place
    A = D.augment
    ap = argparse.ArgumentParser(prog="python -m seg_core", description="Transfer-learning image segmentation.")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("backbones", help="list backbones with sizes and offline availability").set_defaults(fn=cmd_backbones)

    p = sub.add_parser("validate", help="list every problem of a data set folder")
    p.add_argument("--data", required=True)
    p.add_argument("--num-classes", type=int)
    p.add_argument("--ignore-index", type=int)
    p.set_defaults(fn=cmd_validate)

    p = sub.add_parser("train", help="fine-tune a pretrained encoder on a data set")
    p.add_argument("--data", required=True)
    p.add_argument("--val-data")
    p.add_argument("--out", required=True)
    p.add_argument("--backbone", default=D.backbone, choices=list(BACKBONES))
    p.add_argument("--arch", default=D.arch, choices=list(ARCHITECTURES))
    p.add_argument("--weights", default=D.weights, help="imagenet, none, or a weights file/folder")
    p.add_argument("--freeze-depth", type=int, default=D.freeze_depth, help="encoder stages to freeze (0 = none)")
    p.add_argument("--unfreeze-after", type=int, default=D.unfreeze_after,
                   help="epochs before unfreezing the whole encoder")
    p.add_argument("--epochs", type=int)
    p.add_argument("--time-budget", type=float, help=f"seconds (default {DEFAULT_BUDGET_S:.0f} when no --epochs)")
    p.add_argument("--num-classes", type=int)
    p.add_argument("--ignore-index", type=int)
    p.add_argument("--img-size", help="training crop HxW, multiples of 32 (default: from the images)")
    p.add_argument("--loss", default=D.loss, choices=list(LOSSES))
    p.add_argument("--class-weights", default=D.class_weights,
                   help="'balanced' (rarer classes weigh more), comma-separated weights per class, or 'none'")
    p.add_argument("--lr", type=float, default=D.lr)
    p.add_argument("--batch-size", type=int, default=D.batch_size)
    p.add_argument("--seed", type=int, default=D.seed)
    p.add_argument("--vflip", action="store_true", help="also flip vertically (top-down imagery)")
    p.add_argument("--rotate", type=float, default=A.rotate, help="max rotation in degrees")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--precision", default=D.precision, choices=list(PRECISIONS))
    p.add_argument("--device", default=D.device)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("evaluate", help="score a run on a labelled folder")
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--ignore-index", type=int)
    p.add_argument("--json", action="store_true")
    _add_crf(p)
    p.set_defaults(fn=cmd_evaluate)

    p = sub.add_parser("predict", help="write masks and overlays for a folder of images")
    p.add_argument("--run", required=True)
    p.add_argument("--images", required=True)
    p.add_argument("--out", required=True)
    _add_crf(p)
    p.set_defaults(fn=cmd_predict)

    p = sub.add_parser("export", help="export a run as TorchScript or ONNX")
    p.add_argument("--run", required=True)
    p.add_argument("--format", choices=["torchscript", "onnx"], required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("sample", help="regenerate the bundled sample data set")
    p.add_argument("--out", default="data")
    p.set_defaults(fn=cmd_sample)
    return ap


def main(argv: list[str] | None = None) -> int:
    from .train_config import ConfigError
    from .training import Cancelled

    _quiet()
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ConfigError as err:
        print(f"error: {flag_of(err.field)}: {err}", file=sys.stderr)
        return 2
    except Cancelled as err:
        print(str(err), file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def flag_of(field_name: str) -> str:
    """The command-line flag of a TrainConfig field (its name with dashes)."""
    return "--" + field_name.replace("_", "-")
