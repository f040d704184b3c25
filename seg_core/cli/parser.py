"""The command line's grammar (argparse): its commands and flags. ``train``'s flags for the run's settings are
generated from TrainConfig's fields (``seg_core.runs.config.SETTINGS``: the flag, its help, default, type and
choices), so a new setting gets its flag there; the augmentation flags map onto ``AugmentConfig``.

``parser(command)`` gives every command its flags, or only ``command`` its own: the settings (and the torch they
load) are read only by a command that has them, so ``predict --model FILE.onnx`` starts without torch.
"""
from __future__ import annotations

import argparse
from dataclasses import fields, replace
from typing import Callable

from seg_core.infer.crf import CRFParams
from seg_core.objects.settings import ObjectSettings


def add_setting(p: argparse.ArgumentParser, name: str) -> None:
    """The flag of TrainConfig field ``name``: ``--name-with-dashes``, its default, type, choices and help.
    Settings read from text (``--img-size HxW``, ``--class-weights``) stay text until ``build_config``."""
    from seg_core.runs.config import SETTINGS, default_of

    s = SETTINGS[name]
    kw: dict = {"default": default_of(name)}
    if s.kind is bool:  # --name, or --name/--no-name for a setting that is on by default
        kw["action"] = argparse.BooleanOptionalAction if kw["default"] else "store_true"
    elif s.kind in (int, float):
        kw["type"] = s.kind
    if s.choices is not None:
        kw["choices"] = list(s.choices)
    if s.metavar is not None:
        kw["metavar"] = s.metavar
    if s.flag_help is not None:
        kw["help"] = s.flag_help
    p.add_argument(s.cli_flag, **kw)


def setting_values(args: argparse.Namespace) -> dict:
    """The settings ``train``'s flags gave (field name -> value, text not yet parsed)."""
    from seg_core.runs.config import SETTINGS

    return {name: getattr(args, name) for name, s in SETTINGS.items() if s.flag}


def _add_train_settings(p: argparse.ArgumentParser) -> None:
    """Every TrainConfig setting with a flag, in the fields' order; ``--config`` after ``--out``, the
    augmentation flags where ``augment`` is."""
    from seg_core.data.augment import AugmentConfig
    from seg_core.runs.config import SETTINGS, TrainConfig

    for f in fields(TrainConfig):
        if f.name == "augment":
            p.add_argument("--vflip", action="store_true", help="also flip vertically (top-down imagery)")
            p.add_argument("--rotate", type=float, default=AugmentConfig().rotate, help="max rotation in degrees")
            p.add_argument("--no-augment", action="store_true")
        elif f.name in SETTINGS and SETTINGS[f.name].flag:
            add_setting(p, f.name)
        if f.name == "out":
            p.add_argument("--config", help="read every setting from this JSON file (a run's config.json, or the one "
                                            "the app writes for torchrun); --data and --out override it, other "
                                            "flags are not read")


def _add_mask_values(p: argparse.ArgumentParser) -> None:
    add_setting(p, "ignore_index")
    add_setting(p, "mask_values")


def _add_postprocessing(p: argparse.ArgumentParser) -> None:
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


def _add_object_settings(p: argparse.ArgumentParser) -> None:
    d = ObjectSettings()
    p.add_argument("--split-touching", action="store_true",
                   help="separate touching objects of a class (a watershed on the distance to the class's edge)")
    p.add_argument("--min-size", type=int, default=d.min_size, metavar="PX",
                   help=f"drop objects of fewer pixels (default {d.min_size})")
    p.add_argument("--min-confidence", type=float, default=None, metavar="P",
                   help="drop objects where the model's probability for their class reaches P nowhere: faint "
                        "specks (0 to 1; 0 keeps every object; default: what the run measured on its held-out "
                        f"images, else {d.min_confidence:g})")
    p.add_argument("--pixel-size", type=_length, default=None, metavar="UM",
                   help="micrometres per pixel (0.325, or with a unit: 0.325um, 325nm): sizes in square micrometres "
                        "and micrometres as well; overrides the pixel size the files state (default: the file's "
                        "own, from OME, ImageJ or TIFF resolution metadata or the NIfTI header)")


def _length(text: str) -> float:
    """``--pixel-size``'s value in micrometres (``metadata.parse_length``), or argparse's error saying why not."""
    from seg_core.data.stacks.metadata import parse_length

    try:
        return parse_length(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def object_settings(args: argparse.Namespace, min_confidence: float) -> ObjectSettings:
    """The objects' settings the flags give (the others at their defaults), counted at ``min_confidence`` (the
    flag's, or what the run measured: ``commands._object_settings``)."""
    return replace(ObjectSettings(), split_touching=args.split_touching, min_size=args.min_size,
                   min_confidence=min_confidence, pixel_size=args.pixel_size)


def _validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True)
    add_setting(p, "num_classes")
    _add_mask_values(p)


def _train(p: argparse.ArgumentParser) -> None:
    _add_train_settings(p)
    p.add_argument("--quiet", action="store_true")


def _evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True)
    _add_mask_values(p)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout (warnings go to stderr)")
    p.add_argument("--instances", metavar="DIR",
                   help="label images of the objects (one id per object, named as the images): object F1 at "
                        "IoU 0.5, mean matched IoU and count error per image as well")
    _add_object_settings(p)
    _add_postprocessing(p)


def _predict(p: argparse.ArgumentParser) -> None:
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--run", help="a run folder (its model, classes and measured post-processing)")
    model.add_argument("--model", help="an exported ONNX file (Runs page or `export --format onnx`): predicted "
                                       "with onnxruntime from what the file says, without torch")
    p.add_argument("--images", required=True)
    p.add_argument("--out", required=True)
    _add_slide_level(p)
    _add_postprocessing(p)


def _add_slide_level(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", type=int, default=0, metavar="N",
                   help="whole slides in --images: the pyramid level to predict at (0: full resolution)")


def _measure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--images", required=True)
    p.add_argument("--out", required=True)
    _add_slide_level(p)
    _add_object_settings(p)
    p.add_argument("--json", action="store_true",
                   help='{"images": [{image, objects, faint, instances, geojson, seconds} or {image, error}], '
                        '"objects": n, "out"}')
    _add_postprocessing(p)


def _rank(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--images", required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="a list of {image, score, unsure_fraction, uncertainty, "
                                                       "reason}, the first to label first")


def _runs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", required=True, help="the app's workspace folder (its runs are in runs/)")
    p.add_argument("--json", action="store_true",
                   help='{"runs": [{run, state, best_val_miou, has_checkpoint, ...}], "training": lock owner or null}')


def _export(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True)
    p.add_argument("--format", choices=["torchscript", "onnx", "bioimageio"], required=True,
                   help="bioimageio: a bioimage.io model package (a zip: ONNX and TorchScript weights, rdf.yaml, "
                        "test input and output, cover, README) for deepImageJ, ilastik, QuPath and bioimageio.core")
    p.add_argument("--out", required=True)


def _import(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", required=True, help="the app's workspace folder (created if missing)")
    p.add_argument("files", nargs="*", metavar="FILE_OR_ZIP",
                   help="images; masks (in a masks/ folder or named <image>_mask.png); zips; classes.json; "
                        "annotations: QuPath GeoJSON (<image>.geojson), COCO JSON (images matched by file_name), "
                        "instance label images (in an instances/ folder or named <image>_instances.tif)")
    p.add_argument("--combine", nargs="+", metavar="FILE",
                   help="files of one channel each (one per band or stain, one size, one pixel type) joined into "
                        "one image of as many channels, in this order, named after the files; with --name")
    p.add_argument("--name", metavar="STEM", help="the name of the image --combine makes")
    p.add_argument("--axes", metavar="ORDER",
                   help="the order of the axes of the TIFF files given, one letter each (T time, Z depth, C "
                        "channel, Y, X; S colour may be left out), e.g. ZYX, TYX or CYX for pages the file does "
                        "not name (read as depth by default)")
    p.add_argument("--map-class", action="append", default=[], metavar="THEIRS=OURS",
                   help="read the annotations' class THEIRS as the workspace's class OURS (repeat for more)")
    p.add_argument("--add-classes", action="store_true",
                   help="add the annotations' classes the workspace does not have, at the end of its classes")
    p.add_argument("--instance-class", metavar="CLASS",
                   help="the class the objects of instance label images are (needed when the workspace has "
                        "more than one class besides the background)")
    p.add_argument("--replace", action="store_true",
                   help="replace an existing image, mask or classes.json (the old one goes to the trash) "
                        "instead of renaming or refusing")
    p.add_argument("--region", metavar="X,Y,W,H",
                   help="take this region of each slide given (full-resolution pixels) into the project as an "
                        "image <stem>_x<X>_y<Y>_w<W>_h<H>, linked to the slide (a slide alone is registered "
                        "where it lies, no pixels copied)")
    p.add_argument("--json", action="store_true",
                   help='{"files": [{file, status, name, reason, kind}], "imported": n, "renamed": n, "refused": n}')


def _preview(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", required=True, help="the image")
    p.add_argument("--labels", required=True,
                   help="its partly painted mask: class indices, 255 for unpainted pixels (as the app saves masks)")
    p.add_argument("--out", required=True, help="the whole mask to write (a palette PNG of class indices)")
    p.add_argument("--examples", help="a data folder (images/ and masks/ paired by name) to learn from as well")
    add_setting(p, "num_classes")


def _classes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", required=True, help="the app's workspace folder")
    p.add_argument("--json", action="store_true",
                   help='{"classes": [{name, color}], and after a change: "change", "masks_changed", "masks", '
                        '"pixels_moved", "pixels_changed", "unreadable", "restore_point"}')
    ops = p.add_subparsers(dest="action", metavar="ACTION")  # none: list the classes
    add = ops.add_parser("add", help="add a class at the end")
    add.add_argument("name")
    add.add_argument("--color", help="R,G,B (default: the next colour of the palette)")
    rename = ops.add_parser("rename", help="rename a class (masks unchanged)")
    rename.add_argument("old")
    rename.add_argument("new")
    remove = ops.add_parser("remove", help="remove a class, rewriting every mask (restorable)")
    remove.add_argument("name")
    remove.add_argument("--pixels-to", required=True, metavar="unlabelled|OTHER",
                        help="what its pixels become: unlabelled, or another class's name")
    merge = ops.add_parser("merge", help="merge a class into another, rewriting every mask (restorable)")
    merge.add_argument("name")
    merge.add_argument("--into", required=True, metavar="OTHER")
    ops.add_parser("restore", help="undo the last class change (its classes.json and masks come back)")
    for sub in (add, rename, remove, merge, *[ops.choices["restore"]]):
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _projects(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="the projects' folder (default: $SEGAPP_HOME, else projects/ beside app.py)")
    p.add_argument("--json", action="store_true",
                   help='{"home": DIR, "projects": [{name, workspace, images, masks, runs}], "removed": [{name, where}]}')


def _members(p: argparse.ArgumentParser) -> None:
    from seg_core.workspace.members import ROLES

    p.add_argument("--workspace", required=True, help="the project's (workspace) folder")
    p.add_argument("--json", action="store_true", help='{"workspace": DIR, "members": {EMAIL: ROLE}}')
    ops = p.add_subparsers(dest="action", metavar="ACTION")  # none: list the members
    add = ops.add_parser("add", help="add a member, or change a member's role")
    add.add_argument("email")
    add.add_argument("role", choices=list(ROLES), help="owner: everything, members and removing the project "
                     "included; annotator: import, paint, accept, edit classes, train, export; viewer: look, download")
    remove = ops.add_parser("remove", help="take a member off the project (not its last owner)")
    remove.add_argument("email")
    for sub in (add, remove):
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _sample(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="data")


# command -> (its help, what adds its flags)
GRAMMAR: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None] | None]] = {
    "backbones": ("list backbones with sizes and offline availability", None),
    "validate": ("list every problem of a data set folder and how its mask values read", _validate),
    "train": ("fine-tune a pretrained encoder on a data set (several processes: "
              "torchrun --nproc_per_node N -m seg_core train ...)", _train),
    "evaluate": ("score a run on a labelled folder", _evaluate),
    "predict": ("write masks and overlays for a folder of images, with a run or an exported ONNX file", _predict),
    "measure": ("count and measure the objects of each class in a folder of images: objects.csv, images.csv "
                "and instances/<image>.tif (16-bit ids)", _measure),
    "rank": ("list images in the order to label them next, with why (typical images of kinds not labelled yet "
             "while labels are few, then those the model hesitates on)", _rank),
    "runs": ("list a workspace's runs: state, best validation mIoU, checkpoint", _runs),
    "export": ("export a run as TorchScript or ONNX (each describes its classes and input), or as a bioimage.io "
               "model package", _export),
    "import": ("add images, masks, zips, classes.json and annotations (QuPath GeoJSON, COCO, instance label "
               "images) to a workspace (as the Data page does)", _import),
    "preview": ("the live preview of the Annotate page: a whole mask from a partly painted one (and other "
                "labelled images)", _preview),
    "classes": ("list a workspace's classes, or add, rename, remove or merge one (masks rewritten, restorable)",
                _classes),
    "projects": ("list the app's projects (each a workspace folder, for --workspace) and the removed ones",
                 _projects),
    "members": ("list who may work on a project and their roles (owner, annotator, viewer), or add, change or "
                "remove one", _members),
    "sample": ("regenerate the bundled sample data set", _sample),
}


def command_of(argv: list[str]) -> str | None:
    """The command ``argv`` names (its first word that is not a flag), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """``python -m seg_core``'s parser; ``args.command`` names the command (``commands.COMMANDS``). With
    ``command`` (one of ``GRAMMAR``) only that command gets its flags; the others are still listed."""
    ap = argparse.ArgumentParser(prog="python -m seg_core", description="Transfer-learning image segmentation.")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, (text, flags) in GRAMMAR.items():
        p = sub.add_parser(name, help=text)
        if flags is not None and (command not in GRAMMAR or command == name):
            flags(p)
    return ap
