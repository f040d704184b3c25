"""``python -m seg_core``: backbones, validate, train, evaluate, predict, export, sample, import, runs."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

from seg_core.model.architectures import ARCHITECTURES
from seg_core.model.backbones import BACKBONES, DEFAULT_BACKBONE
from seg_core.model.network import encoder_info
from seg_core.infer.crf import CRFParams
from seg_core.model.losses import LOSSES


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    logging.getLogger("timm").setLevel(logging.ERROR)


def cmd_backbones(args) -> int:
    from seg_core.model.weights import imagenet_offline

    print(f"{'name':20} {'encoder params':>14} {'stages':>6}  {'suits':10} {'ImageNet offline':16} note")
    for name, bb in BACKBONES.items():
        info = encoder_info(name)
        offline = "yes" if imagenet_offline(bb) else "no (download)"
        default = " (default)" if name == DEFAULT_BACKBONE else ""
        print(f"{name:20} {info['encoder_params'] / 1e6:13.1f}M {info['stages']:>6}  {bb.suits:10} {offline:16} {bb.note}"
              f"{default}")
    return 0


def cmd_validate(args) -> int:
    from seg_core.data.dataset import scan_dataset

    ds = scan_dataset(Path(args.data), args.num_classes, args.ignore_index, mask_values=args.mask_values)
    labelled = len(ds.labelled)
    print(f"{args.data}: {len(ds.samples)} images, {labelled} usable pairs, {ds.num_classes} classes "
          f"({', '.join(ds.classes.names)})"
          + (f", unlabelled value {ds.ignore_index}" if ds.ignore_index is not None else ""))
    for rule in ds.mask_rules:  # how the mask values are read, as training and scoring read them
        print(f"mask values: {rule}")
    for p in ds.problems:
        print(str(p))
    n_err = len(ds.errors)
    print(f"{n_err} error(s), {len(ds.problems) - n_err} warning(s)")
    return 1 if n_err else 0


def _progress_printer(quiet: bool):
    from seg_core.runs.events import Start, Status, Step, Unfreeze, Validation

    last = [0.0]

    def show(ev) -> None:
        if isinstance(ev, Step) and not quiet and time.time() - last[0] > 5:
            last[0] = time.time()
            eta = f"{ev.eta:.0f}s" if ev.eta is not None else "?"
            print(f"  epoch {ev.epoch} step {ev.step} loss {ev.loss_avg:.4f} {ev.images_per_s:.2f} img/s "
                  f"{100 * ev.progress:.0f}% ETA {eta}", flush=True)
        elif isinstance(ev, Start):
            print(f"training {ev.train_images} images (val {ev.val_images}), crop {ev.img_size}, "
                  f"trainable parameters {ev.trainable_params:,}, on {ev.device} ({ev.precision})"
                  + (f" in {ev.processes} processes" if ev.processes > 1 else ""), flush=True)
        elif isinstance(ev, Unfreeze):
            print(f"epoch {ev.epoch}: unfroze the encoder, trainable parameters {ev.trainable_params:,}")
        elif isinstance(ev, Validation) and ev.val_miou is not None:
            print(f"  validation after epoch {ev.epoch}: mIoU {ev.val_miou:.4f}" + (" (best, saved)" if ev.best else ""),
                  flush=True)
        elif isinstance(ev, Status):
            print(ev.message, flush=True)
    return show


def _json_file(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror or err})") from None
    except ValueError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object of training settings")
    return data


def cmd_train(args) -> int:
    from seg_core.data.augment import AugmentConfig
    from seg_core.runs.config import TrainConfig, parse_class_weights, parse_img_size
    from seg_core.train.loop import train

    from seg_core.train.distributed import Place

    aug = AugmentConfig.none() if args.no_augment else AugmentConfig(vflip=args.vflip, rotate=args.rotate)
    if args.config:  # the settings from a file (a run's config.json, or the app's for torchrun)
        cfg = TrainConfig.from_dict(_json_file(args.config) | {k: v for k, v in (("data", args.data),
                                    ("out", args.out)) if v is not None})
    elif args.data is None or args.out is None:
        raise ValueError("train needs --data and --out (or --config FILE)")
    else:
        cfg = TrainConfig(
            data=args.data, out=args.out, val_data=args.val_data, backbone=args.backbone, arch=args.arch,
            weights=args.weights, freeze_depth=args.freeze_depth, unfreeze_after=args.unfreeze_after,
            epochs=args.epochs, time_budget=args.time_budget, num_classes=args.num_classes,
            ignore_index=args.ignore_index, mask_values=args.mask_values, img_size=parse_img_size(args.img_size),
            loss=args.loss,
            class_weights=parse_class_weights(args.class_weights),
            lr=args.lr, batch_size=args.batch_size, seed=args.seed, augment=aug, precision=args.precision,
            device=args.device, init_run=args.init_run, num_workers=args.num_workers, cache_mb=args.cache_mb,
            unlabelled=args.unlabelled, ema=args.ema, val_fraction=args.val_fraction)
    main_process = Place.from_env().main  # under torchrun only rank 0 prints
    run = train(cfg, _progress_printer(args.quiet or not main_process))
    if not main_process:
        return 0
    st = run.status
    print(f"{st['state']}: {st['epochs']} epochs, {st['steps']} steps in {st['seconds']:.0f}s "
          f"({st['images_per_s']:.2f} img/s)" + (f", best val mIoU {st['best_val_miou']:.4f}"
                                                  if st.get("best_val_miou") is not None else ""))
    print(f"run saved to {run.path}")
    return 0


def _postprocessing(args, run) -> tuple[CRFParams | None, bool]:
    """The CRF parameters (None: off) and flips to use: ``--crf``/``--no-crf`` and ``--tta``/``--no-tta`` where
    given, else what the run measured on its held-out images (``seg_core.infer.postprocess``); said on stderr."""
    from seg_core.infer.postprocess import resolve

    choice = resolve(run.postprocess, args.crf, args.tta)
    print(f"post-processing: {choice.reason}", file=sys.stderr)
    params = CRFParams(iterations=args.crf_iterations, sxy_bilateral=args.crf_sxy, srgb=args.crf_srgb,
                       compat_bilateral=args.crf_compat) if choice.crf else None
    return params, choice.tta


def cmd_evaluate(args) -> int:
    from seg_core.infer.evaluation import evaluate_run
    from seg_core.runs.folder import Run

    run = Run(Path(args.run))
    crf, tta = _postprocessing(args, run)
    res = evaluate_run(run, Path(args.data), crf=crf, tta=tta,
                       ignore_index=args.ignore_index, device=args.device, mask_values=args.mask_values)
    for w in res["warnings"]:  # on stderr, so --json's stdout stays one JSON object
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        print(json.dumps(res))
    else:
        for rule in res["mask_values"]:
            print(f"mask values: {rule}")
        print(f"mIoU {res['miou']:.4f}  Dice {res['dice']:.4f}  pixel accuracy {res['pixel_accuracy']:.4f}  "
              f"({res['images']} images, {res['seconds_per_image']:.3f} s/image)")
        for name, v in res["per_class_iou"].items():
            hidden = "  (hidden: every ground-truth pixel was unlabelled)" if name in res["hidden_classes"] else ""
            print(f"  {name:20} IoU {'-' if v is None else f'{v:.4f}'}{hidden}")
    return 0


def cmd_predict(args) -> int:
    from seg_core.infer.predictor import predict_folder
    from seg_core.runs.folder import Run

    from seg_core.runner.tasks import Cancelled, cancel_on_interrupt, count_printer

    run = Run(Path(args.run))
    crf, tta = _postprocessing(args, run)
    stopped = ""
    with cancel_on_interrupt() as cancel:  # Ctrl-C: stop before the next image, keep the masks written
        try:
            rows = predict_folder(run, Path(args.images), Path(args.out), crf=crf, tta=tta,
                                  device=args.device, progress=count_printer(), cancel=cancel)
        except Cancelled as err:
            rows, stopped = err.partial, str(err)
    bad = [r for r in rows if "error" in r]
    for r in bad:
        print(f"skipped: {r['error']}")
    if stopped:
        print(stopped, file=sys.stderr)
        return 130
    print(f"wrote {len(rows) - len(bad)} masks to {Path(args.out) / 'masks'} and overlays to {Path(args.out) / 'overlays'}")
    return 1 if bad and len(bad) == len(rows) else 0


def cmd_rank(args) -> int:
    from seg_core.infer.predictor import Predictor, image_files
    from seg_core.infer.ranking import EXPLAIN, rank_images
    from seg_core.runs.folder import Run

    rows = rank_images(Predictor(Run(Path(args.run)), device=args.device, tta=args.tta), image_files(Path(args.images)),
                       args.measure)
    if args.json:
        print(json.dumps([{"image": r.image, "score": None if r.error else round(r.score, 6),
                           "unsure_fraction": None if r.error else round(r.unsure_fraction, 6)}
                          | ({"error": r.error} if r.error else {}) for r in rows]))
    else:
        print(EXPLAIN[args.measure])
        for r in rows:
            print(f"skipped: {r.error}" if r.error else f"{r.score:.4f}  {r.image}")
    return 0 if any(r.error is None for r in rows) else 1


def cmd_runs(args) -> int:
    from seg_core.runs.folder import list_runs
    from seg_core.base.locks import holder

    root = Path(args.workspace)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such workspace folder")
    runs_dir = root / "runs"
    rows = [r.summary() for r in list_runs(runs_dir)]
    if args.json:
        print(json.dumps({"workspace": str(root), "training": holder(runs_dir) if runs_dir.is_dir() else None,
                          "runs": rows}, default=str))
        return 0
    if not rows:
        print(f"no runs in {runs_dir}")
    else:
        print(f"{'run':40} {'state':12} {'best val mIoU':>13}  checkpoint")
        for r in rows:
            miou = "-" if r["best_val_miou"] is None else f"{r['best_val_miou']:.4f}"
            print(f"{r['run']:40} {r['state']:12} {miou:>13}  {'yes' if r['has_checkpoint'] else 'no'}")
            for problem in r["problems"]:
                print(f"  problem: {problem}")
    return 0


def cmd_export(args) -> int:
    from seg_core.infer.export import export_onnx, export_torchscript
    from seg_core.runs.folder import Run

    from seg_core.runner.tasks import cancel_on_interrupt, count_printer

    run = Run(Path(args.run))
    fn = {"torchscript": export_torchscript, "onnx": export_onnx}[args.format]
    with cancel_on_interrupt() as cancel:  # Ctrl-C: stop at the next stage, no file written (main says so)
        print(f"wrote {fn(run, Path(args.out), progress=count_printer(), cancel=cancel)}")
    return 0


def cmd_import(args) -> int:
    """What the Data page's upload does, for files and zips on disk: one line per file, or ``--json``."""
    from seg_core.runner.tasks import Cancelled, cancel_on_interrupt, count_printer
    from seg_core.workspace.workspace import Workspace

    ws = Workspace(Path(args.workspace), seed_sample=False)
    with cancel_on_interrupt() as cancel:  # Ctrl-C: stop before the next file, keep (and list) those handled
        try:
            rep = ws.import_paths(args.files, replace=args.replace, progress=count_printer(), cancel=cancel)
        except Cancelled as err:
            rep = err.partial
    if args.json:
        print(json.dumps(rep.to_json(), ensure_ascii=False))
    else:
        for line in rep.lines():
            print(line)
    if rep.cancelled:
        print(rep.cancel_note(), file=sys.stderr)
        return 130
    return 0 if rep.any_imported else 1


def cmd_sample(args) -> int:
    from seg_core.data.sample import make_sample

    print(f"wrote the sample to {make_sample(Path(args.out))}")
    return 0


def _add_crf(p) -> None:
    d = CRFParams()
    p.add_argument("--crf", action=argparse.BooleanOptionalAction, default=None,
                   help="refine with a dense CRF, or not (default: as the run measured on its held-out images)")
    p.add_argument("--crf-iterations", type=int, default=d.iterations)
    p.add_argument("--crf-sxy", type=float, default=d.sxy_bilateral, help="appearance kernel width (pixels)")
    p.add_argument("--crf-srgb", type=float, default=d.srgb, help="appearance kernel colour tolerance")
    p.add_argument("--crf-compat", type=float, default=d.compat_bilateral, help="appearance kernel weight")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average with the flipped image, or not (default: as the run measured)")
    p.add_argument("--device", default="auto")


def _add_mask_values(p) -> None:
    from seg_core.base.mask_values import MODES

    p.add_argument("--ignore-index", type=int, metavar="VALUE",
                   help="the mask value of unlabelled pixels (default: the folder's classes.json \"unlabelled\", "
                        "for evaluate else the run's)")
    p.add_argument("--mask-values", choices=MODES, default="auto",
                   help="how mask values read: auto (default: class indices; 0/255-only masks of 2 classes are "
                        "binary when nothing marks 255 unlabelled; ambiguous folders are refused), index (class "
                        "indices, the unlabelled value skipped), binary (2 classes: 0 is class 0, 1 and 255 class 1)")


def parser() -> argparse.ArgumentParser:
    from seg_core.base.device import PRECISIONS
    from seg_core.train.schedule import DEFAULT_BUDGET_S
    from seg_core.runs.config import TrainConfig

    D = TrainConfig(data="", out="")  # the defaults live in one place
    A = D.augment
    ap = argparse.ArgumentParser(prog="python -m seg_core", description="Transfer-learning image segmentation.")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("backbones", help="list backbones with sizes and offline availability").set_defaults(fn=cmd_backbones)

    p = sub.add_parser("validate", help="list every problem of a data set folder and how its mask values read")
    p.add_argument("--data", required=True)
    p.add_argument("--num-classes", type=int)
    _add_mask_values(p)
    p.set_defaults(fn=cmd_validate)

    p = sub.add_parser("train", help="fine-tune a pretrained encoder on a data set (several processes: "
                                      "torchrun --nproc_per_node N -m seg_core train ...)")
    p.add_argument("--data", help="the data set folder (required unless --config names it)")
    p.add_argument("--val-data")
    p.add_argument("--out", help="the run folder to write (required unless --config names it)")
    p.add_argument("--config", help="read every setting from this JSON file (a run's config.json, or the one the "
                                    "app writes for torchrun); --data and --out override it, other flags are "
                                    "not read")
    p.add_argument("--backbone", default=D.backbone, choices=list(BACKBONES))
    p.add_argument("--arch", default=D.arch, choices=list(ARCHITECTURES))
    p.add_argument("--init-run", default=D.init_run,
                   help="continue from this run's checkpoint (same classes, backbone and architecture)")
    p.add_argument("--weights", default=D.weights, help="imagenet, none, or a weights file/folder")
    p.add_argument("--unlabelled", default=D.unlabelled, metavar="DIR",
                   help="also learn from the images of DIR that have no mask (confident pseudo-labels of a mean "
                        "teacher); DIR may be --data itself")
    p.add_argument("--ema", action="store_true", help="validate and save a moving average of the weights")
    p.add_argument("--val-fraction", type=float, default=D.val_fraction,
                   help="share of the labelled images held out to choose the checkpoint (0: train on all, keep "
                        "the last weights)")
    p.add_argument("--freeze-depth", type=int, default=D.freeze_depth, help="encoder stages to freeze (0 = none)")
    p.add_argument("--unfreeze-after", type=int, default=D.unfreeze_after,
                   help="epochs before unfreezing the whole encoder")
    p.add_argument("--epochs", type=int)
    p.add_argument("--time-budget", type=float, help=f"seconds (default {DEFAULT_BUDGET_S:.0f} when no --epochs)")
    p.add_argument("--num-classes", type=int)
    _add_mask_values(p)
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
    p.add_argument("--num-workers", type=int, default=D.num_workers,
                   help="DataLoader processes that read and augment the images (0: the training process)")
    p.add_argument("--cache-mb", type=int, default=D.cache_mb, help="decoded images kept in memory, in MB")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("evaluate", help="score a run on a labelled folder")
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True)
    _add_mask_values(p)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout (warnings go to stderr)")
    _add_crf(p)
    p.set_defaults(fn=cmd_evaluate)

    p = sub.add_parser("predict", help="write masks and overlays for a folder of images")
    p.add_argument("--run", required=True)
    p.add_argument("--images", required=True)
    p.add_argument("--out", required=True)
    _add_crf(p)
    p.set_defaults(fn=cmd_predict)

    p = sub.add_parser("rank", help="list images by how unsure a run's model is about them (label those first)")
    p.add_argument("--run", required=True)
    p.add_argument("--images", required=True)
    p.add_argument("--measure", default="entropy", choices=["entropy", "margin"])
    p.add_argument("--tta", action="store_true", help="average with the horizontally flipped image first")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="a list of {image, score, unsure_fraction}, most unsure first")
    p.set_defaults(fn=cmd_rank)

    p = sub.add_parser("runs", help="list a workspace's runs: state, best validation mIoU, checkpoint")
    p.add_argument("--workspace", required=True, help="the app's workspace folder (its runs are in runs/)")
    p.add_argument("--json", action="store_true",
                   help='{"runs": [{run, state, best_val_miou, has_checkpoint, ...}], "training": lock owner or null}')
    p.set_defaults(fn=cmd_runs)

    p = sub.add_parser("export", help="export a run as TorchScript or ONNX")
    p.add_argument("--run", required=True)
    p.add_argument("--format", choices=["torchscript", "onnx"], required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("import", help="add images, masks, zips and classes.json to a workspace (as the Data page does)")
    p.add_argument("--workspace", required=True, help="the app's workspace folder (created if missing)")
    p.add_argument("files", nargs="+", metavar="FILE_OR_ZIP",
                   help="images; masks (in a masks/ folder or named <image>_mask.png); zips; classes.json")
    p.add_argument("--replace", action="store_true",
                   help="replace an existing image, mask or classes.json (the old one goes to the trash) "
                        "instead of renaming or refusing")
    p.add_argument("--json", action="store_true",
                   help='{"files": [{file, status, name, reason, kind}], "imported": n, "renamed": n, "refused": n}')
    p.set_defaults(fn=cmd_import)

    p = sub.add_parser("sample", help="regenerate the bundled sample data set")
    p.add_argument("--out", default="data")
    p.set_defaults(fn=cmd_sample)
    return ap


def main(argv: list[str] | None = None) -> int:
    from seg_core.runner.tasks import Cancelled as TaskCancelled
    from seg_core.runs.config import ConfigError
    from seg_core.train.distributed import MainFailed
    from seg_core.train.loop import Cancelled

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
    except (Cancelled, TaskCancelled) as err:
        print(str(err), file=sys.stderr)
        return 130
    except MainFailed:  # torchrun: rank 0 failed at work done for all processes and says why itself
        return 2
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def flag_of(field_name: str) -> str:
    """The command-line flag of a TrainConfig field (its name with dashes)."""
    return "--" + field_name.replace("_", "-")
