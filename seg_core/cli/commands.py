"""One function per command of ``python -m seg_core``: it calls the engine with the parsed flags and hands
what came back to ``output``, which prints it and says the exit code. The engine loads as a command needs it.
"""
from __future__ import annotations

import json
from pathlib import Path

from seg_core.cli import output


def backbones(args) -> int:
    from seg_core.model.backbones import BACKBONES, DEFAULT_BACKBONE
    from seg_core.model.network import encoder_info
    from seg_core.model.weights import imagenet_offline

    return output.backbones((name, encoder_info(name), bb, imagenet_offline(bb), name == DEFAULT_BACKBONE)
                            for name, bb in BACKBONES.items())  # each line printed as it is measured


def validate(args) -> int:
    from seg_core.data.dataset import scan_dataset

    ds = scan_dataset(Path(args.data), args.num_classes, args.ignore_index, mask_values=args.mask_values)
    return output.validation(args.data, ds)


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


def train(args) -> int:
    from seg_core.cli.parser import setting_values
    from seg_core.data.augment import AugmentConfig
    from seg_core.runs.config import TrainConfig, build_config
    from seg_core.training.distributed import Place
    from seg_core.training.loop import train

    if args.config:  # the settings from a file (a run's config.json, or the app's for torchrun)
        cfg = TrainConfig.from_dict(_json_file(args.config) | {k: v for k, v in (("data", args.data),
                                    ("out", args.out)) if v is not None})
    elif args.data is None or args.out is None:
        raise ValueError("train needs --data and --out (or --config FILE)")
    else:
        aug = AugmentConfig.none() if args.no_augment else AugmentConfig(vflip=args.vflip, rotate=args.rotate)
        cfg = build_config(setting_values(args) | {"augment": aug})
    main_process = Place.from_env().main  # under torchrun only rank 0 prints
    run = train(cfg, [output.training_printer(args.quiet)] if main_process else [])
    return output.trained(run) if main_process else output.OK


def _postprocessing(args, recorded: dict | None):
    """The CRF parameters (None: off) and flips to use: ``--crf``/``--no-crf`` and ``--tta``/``--no-tta`` where
    given, else what the run measured on its held-out images (``recorded``: its postprocess.json, or the
    exported file's copy of it; ``seg_core.infer.postprocess``); said on stderr."""
    from seg_core.infer.crf import CRFParams
    from seg_core.infer.postprocess import resolve

    choice = resolve(recorded, args.crf, args.tta)
    output.postprocessing(choice.reason)
    params = CRFParams(iterations=args.crf_iterations, sxy_bilateral=args.crf_sxy, srgb=args.crf_srgb,
                       compat_bilateral=args.crf_compat) if choice.crf else None
    return params, choice.tta


def _object_settings(args, recorded: dict | None):
    """The objects' settings of the flags, counted at ``--min-confidence`` where given, else at the confidence
    the run measured on its held-out images (``recorded``: its postprocess.json; ``seg_core.objects.faint``),
    said on stderr. A bad --min-size or --pixel-size is said here, before any model loads."""
    from seg_core.cli.parser import object_settings
    from seg_core.objects.faint import resolve_min_confidence

    sure, why = resolve_min_confidence(recorded, args.min_confidence)
    settings = object_settings(args, sure)
    if args.min_confidence is None and recorded is not None:
        output.counting(why)
    return settings


def evaluate(args) -> int:
    from seg_core.infer.evaluation import evaluate_run
    from seg_core.runs.folder import Run

    run = Run(Path(args.run))
    crf, tta = _postprocessing(args, run.postprocess)
    kw = dict(crf=crf, tta=tta, ignore_index=args.ignore_index, device=args.device, mask_values=args.mask_values)
    if args.instances:  # the objects matched to the true ones as well
        from seg_core.objects.scoring import evaluate_objects

        res = evaluate_objects(run, Path(args.data), Path(args.instances), _object_settings(args, run.postprocess),
                               **kw)
    else:
        res = evaluate_run(run, Path(args.data), **kw)
    return output.evaluation(res, args.json)


def predict(args) -> int:
    """Masks for a folder, with a run (``--run``, torch) or an exported ONNX file alone (``--model``,
    onnxruntime: torch is never loaded)."""
    if args.model:
        from seg_core.infer.onnx_predictor import OnnxPredictor
        from seg_core.infer.prediction import predict_files

        pred = OnnxPredictor(Path(args.model), device=args.device)
        pred.crf, pred.tta = _postprocessing(args, pred.description.get("postprocess"))

        def folder(progress, cancel):
            return predict_files(pred.predict, pred.classes, Path(args.images), Path(args.out), progress, cancel,
                                 pred.intensities)
    else:
        from seg_core.infer.predictor import predict_folder
        from seg_core.runs.folder import Run

        run = Run(Path(args.run))
        crf, tta = _postprocessing(args, run.postprocess)

        def folder(progress, cancel):
            return predict_folder(run, Path(args.images), Path(args.out), crf=crf, tta=tta, device=args.device,
                                  progress=progress, cancel=cancel)
    with output.interruptible() as work:  # Ctrl-C: stop before the next image, keep the masks written
        rows = folder(work.progress, work.cancel)
        rows = _slides().predict_slides(lambda: _slide_predictor(args, pred if args.model else None), _slide_model(args),
                                        Path(args.images), Path(args.out), rows, args.level, work.progress, work.cancel)
    if work.stopped:
        rows = work.stopped.partial
    return output.predictions(rows, str(work.stopped or ""), Path(args.out))


def measure(args) -> int:
    from seg_core.objects.folder import measure_folder
    from seg_core.runs.folder import Run

    run = Run(Path(args.run))
    settings = _object_settings(args, run.postprocess)
    crf, tta = _postprocessing(args, run.postprocess)
    with output.interruptible() as work:  # Ctrl-C: stop before the next image, keep the rows and files written
        rows = measure_folder(run, Path(args.images), Path(args.out), settings, crf=crf, tta=tta,
                              device=args.device, progress=work.progress, cancel=work.cancel)
        rows = _slides().measure_slides(lambda: _slide_predictor(args), _slide_model(args), Path(args.images),
                                        Path(args.out), rows, settings, args.level, work.progress, work.cancel)
    if work.stopped:
        rows = work.stopped.partial
    return output.measured(rows, str(work.stopped or ""), Path(args.out), args.json)


def _slides():
    """The whole slides' prediction and measuring (``seg_core.slides.folder``), for slides in ``--images``."""
    from seg_core.slides import folder

    return folder


def _slide_predictor(args, onnx=None):
    """The predictor for slides: the ONNX one in use, or the run's with the post-processing chosen."""
    if onnx is not None:
        return onnx
    from seg_core.infer.predictor import Predictor
    from seg_core.runs.folder import Run

    run = Run(Path(args.run))
    crf, tta = _postprocessing(args, run.postprocess)
    return Predictor(run, device=args.device, tta=tta, crf=crf)


def _slide_model(args) -> str:
    return _slides().model_id(Path(getattr(args, "model", None) or args.run), args.crf, args.tta, args.level)


def rank(args) -> int:
    from seg_core.infer.predictor import Predictor, image_files
    from seg_core.data.stacks.planes import with_planes
    from seg_core.infer.ranking import EXPLAIN, rank_images
    from seg_core.runs.folder import Run

    with output.interruptible(keep_partial=False) as work:  # Ctrl-C: stop before the next image, exit 130
        files = with_planes(image_files(Path(args.images)))  # a stack's planes ranked one by one
        rows = rank_images(Predictor(Run(Path(args.run)), device=args.device), files, progress=work.progress,
                           cancel=work.cancel)
    return output.ranking(rows, EXPLAIN, args.json)


def runs(args) -> int:
    from seg_core.base.locks import holder
    from seg_core.runs.folder import list_runs

    root = Path(args.workspace)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such workspace folder")
    runs_dir = root / "runs"
    rows = [r.summary() for r in list_runs(runs_dir)]
    training = holder(runs_dir) if args.json and runs_dir.is_dir() else None
    return output.run_list(root, runs_dir, rows, training, args.json)


def export(args) -> int:
    from seg_core.exchange.bioimageio import export_bioimageio
    from seg_core.infer.export import export_onnx, export_torchscript
    from seg_core.runs.folder import Run

    run = Run(Path(args.run))
    fn = {"torchscript": export_torchscript, "onnx": export_onnx, "bioimageio": export_bioimageio}[args.format]
    with output.interruptible(keep_partial=False) as work:  # Ctrl-C: stop at the next stage, no file written
        path = fn(run, Path(args.out), progress=work.progress, cancel=work.cancel)
    return output.wrote(str(path))


def import_files(args) -> int:
    """What the Data page's upload does, for files and zips on disk: one line per file, or ``--json``."""
    from seg_core.slides.registry import import_slides, split_slides
    from seg_core.workspace.workspace import Workspace

    if bool(args.combine) == bool(args.files) or bool(args.combine) != bool(args.name):
        raise ValueError("give the files to import, or --combine FILE... --name STEM (files of one channel each "
                         "joined into one image), not both" if args.combine and args.files else
                         "--combine needs --name STEM, the name of the image it makes" if args.combine else
                         "--name goes with --combine FILE..." if args.name else "no files to import given")
    choices = _annotation_choices(args)  # a malformed --map-class said before anything is created
    ws = Workspace(Path(args.workspace), seed_sample=False)
    slides, paths = split_slides(args.files, args.region)  # slides registered (or a region taken), not copied
    with output.interruptible() as work:  # Ctrl-C: stop before the next file, keep (and list) those handled
        if args.combine:
            files = [(str(p), Path(p).read_bytes()) for p in args.combine]
            rep = ws.import_combined(files, args.name, replace=args.replace, progress=work.progress,
                                     cancel=work.cancel)
        else:
            rep = ws.import_paths(paths, replace=args.replace, progress=work.progress, cancel=work.cancel,
                                  axes=args.axes, annotations=choices)
    if work.stopped:
        rep = work.stopped.partial
    import_slides(ws, slides, args.region, rep)
    if rep.any_imported:  # the project's record of who did what (seg_core.workspace.activity)
        _record(ws.root, "import", ", ".join(f"{r.name} ({r.kind})" for r in rep.files if r.status != "refused"))
    return output.import_report(rep, args.json)


def _annotation_choices(args):
    """``--map-class``, ``--add-classes`` and ``--instance-class`` as the importer's choices."""
    from seg_core.workspace.importing.annotations import AnnotationChoices

    mapping = {}
    for item in args.map_class:
        theirs, sep, ours = item.rpartition("=")
        if not sep or not ours.strip():
            raise ValueError(f"--map-class {item}: write it as THEIRS=OURS (the annotations' class, then the "
                             "workspace's)")
        mapping[theirs.strip()] = ours.strip()
    return AnnotationChoices(mapping, args.add_classes, args.instance_class)


def _record(root: Path, action: str, what: str) -> None:
    """Write to the project's activity record that this machine's user did ``action`` from the command line."""
    from seg_core.workspace.activity import record
    from seg_core.workspace.members import local_user

    record(root, local_user(), action, f"{what} (command line)")


def preview(args) -> int:
    """The live preview of one image from its painted pixels (and a folder of labelled examples)."""
    from seg_core.assist import LivePreview
    from seg_core.assist.preview import check_labels
    from seg_core.base.classes import ClassList
    from seg_core.base.mask_values import MAX_CLASSES, UNLABELLED
    from seg_core.data.dataset import DatasetError, scan_dataset
    from seg_core.data.imageio import read_image, read_mask_raw, write_index_mask

    image = read_image(Path(args.image))
    labels = read_mask_raw(Path(args.labels))
    classes, pairs = None, []
    if args.examples:
        ds = scan_dataset(Path(args.examples), args.num_classes, require_masks=False)
        if ds.errors:
            raise DatasetError(ds.errors)
        classes, pairs = ds.classes, ds.load_pairs()
    painted = labels[labels != UNLABELLED]  # without classes given, the largest painted value is the last class
    num_classes = args.num_classes or (len(classes) if classes else
                                       min(MAX_CLASSES, max(2, int(painted.max(initial=0)) + 1)))
    labels = check_labels(labels, image.shape[:2], num_classes, f"{args.labels} (beside {args.image})")
    with output.interruptible(keep_partial=False) as work:  # Ctrl-C: stop at the next example, no file written
        live = LivePreview(image, num_classes, pairs, progress=work.progress, cancel=work.cancel)
    mask = live.update(labels)
    write_index_mask(Path(args.out), mask, classes or ClassList.default(num_classes))
    return output.wrote(f"the preview mask to {args.out}")


def classes(args) -> int:
    """List a workspace's classes, or change them (``seg_core.workspace.class_edits``: masks rewritten under the
    mask lock, the old ones kept in a restore point)."""
    from seg_core.workspace import class_edits as ce
    from seg_core.workspace.workspace import Workspace

    root = Path(args.workspace)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such workspace folder")
    ws = Workspace(root, seed_sample=False)
    if args.action == "restore":
        point = ce.restore_class_change(ws)
        _record(root, "classes", f"undid: {ce.describe(point)}")
        return output.class_list(ws.classes(), None, args.json, f"undid: {ce.describe(point)} (from {point})")
    ops = {"add": lambda: ce.add_class(ws, args.name, args.color),
           "rename": lambda: ce.rename_class(ws, args.old, args.new),
           "remove": lambda: ce.remove_class(ws, args.name, args.pixels_to),
           "merge": lambda: ce.merge_class(ws, args.name, args.into)}
    change = ops[args.action]() if args.action else None
    if change is not None:
        _record(root, "classes", change.summary())
    return output.class_list(ws.classes(), change, args.json)


def projects(args) -> int:
    """The app's projects: name, folder (what ``--workspace`` takes) and how many images, masks and runs."""
    from seg_core.workspace.projects import Projects

    home = Projects(Path(args.home) if args.home else None)
    rows = [{"name": p.name, "workspace": str(p.root), **p.counts()} for p in home.list()]
    removed = [{"name": r.name, "where": str(r.where)} for r in home.removed()]
    return output.project_list(home.home, rows, removed, args.json)


def members(args) -> int:
    """A project's members and their roles (``seg_core.workspace.members``); add (or change) or remove one."""
    from seg_core.workspace.members import Members

    root = Path(args.workspace)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such workspace folder")
    team = Members(root)
    if args.action == "add":
        listed = team.set(args.email, args.role)
        _record(root, "members", f"{args.email.strip().lower()} is {args.role}")
    elif args.action == "remove":
        listed = team.remove(args.email)
        _record(root, "members", f"{args.email.strip().lower()} removed")
    else:
        listed = team.all()
    return output.member_list(root, listed, args.json)


def sample(args) -> int:
    from seg_core.data.sample import make_sample

    return output.wrote(f"the sample to {make_sample(Path(args.out))}")


COMMANDS = {"backbones": backbones, "validate": validate, "train": train, "evaluate": evaluate, "predict": predict,
            "measure": measure, "rank": rank, "runs": runs, "export": export, "import": import_files,
            "preview": preview, "classes": classes, "projects": projects,
            "members": members, "sample": sample}
