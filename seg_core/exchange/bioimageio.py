"""A run as a bioimage.io model package (``python -m seg_core export --format bioimageio``): a zip that
deepImageJ, ilastik, QuPath and bioimageio.core run without this project.

It holds ``rdf.yaml`` (the model description, bioimage.io spec 0.5), the model as ONNX and as TorchScript
(``seg_core.infer.export``), a test input and the output the model gives for it (``.npy``), a cover image
and a README. The input is (batch, channel, y, x) float32: RGB values as stored (0..255 for 8-bit images);
the package's preprocessing brings them to 0..1 as the studio does (``scale_linear``: divided by 255; for a
run trained on 16-bit or float images, each channel mapped by the run's fixed range, ``seg_core.data.
intensities``, then clipped to 0..1); the network normalises with its mean and spread itself. Sides are
multiples of 32. The output is (batch, channel, y, x): per pixel, one probability per class (softmax of the
network's class scores, a postprocessing step), the channels named after the classes.

The studio's evening out of colours (``seg_core.data.colour``, L*a*b*), which a package's preprocessing
cannot express, is baked into both weights where the run uses it: a torch module in front of the network
(``colour_module``) computes it per image, so the package gives the run's predictions (within the tolerance
tests/exchange/test_bioimageio_colour.py states).
"""
from __future__ import annotations

import copy
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import tifffile

from seg_core.base.atomic import atomic_write
from seg_core.base.progress import Progress, Steps
from seg_core.data.colour import ColourReference
from seg_core.data.imageio import IMAGE_EXTS, colour_values, read_raw
from seg_core.data.intensities import Intensities
from seg_core.infer.export import export_onnx, export_torchscript
from seg_core.runs.folder import Run

SIDE = 32  # sides are multiples of this (the network's output multiple)
TEST_SIDE = 256  # the test image: at most this many pixels a side (a crop of one of the run's images)
COVER_HEIGHT = 256
INPUT_ID, OUTPUT_ID = "image", "probabilities"


def _test_image(run: Run) -> tuple[np.ndarray, str]:
    """One of the run's images as stored, (H, W, C), cropped to sides that are multiples of ``SIDE``: its first
    held-out image, else its first training image; ValueError when the run's data folder is gone."""
    data = Path(run.config.get("data") or "")
    split = run.config.get("split") or {}
    names = list(split.get("val") or []) + list(split.get("train") or [])
    folder = data / "images" if (data / "images").is_dir() else data
    candidates = [folder / f"{n}{ext}" for n in names for ext in IMAGE_EXTS] if names else []
    candidates += sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_EXTS) if folder.is_dir() else []
    for path in candidates:
        if not path.is_file():
            continue
        arr, hdr = read_raw(path)
        arr = colour_values(arr, path.name, hdr)
        h, w = arr.shape[:2]
        ch, cw = min(TEST_SIDE, h // SIDE * SIDE), min(TEST_SIDE, w // SIDE * SIDE)
        if ch and cw:
            top, left = (h - ch) // 2, (w - cw) // 2
            return arr[top:top + ch, left:left + cw], path.name
    raise ValueError(f"{run.path}: the package needs one of the run's images as its test input, and none was found in "
                     f"{folder} (the folder the run was trained on); put the images back there and export again")


def _preprocessing(ref: Intensities | None, channels: int) -> list:
    """``ref``: the run's fixed ranges of 16-bit and float images (``Run.intensities``), or None: 8-bit values."""
    from bioimageio.spec.model import v0_5 as m

    if ref is None:
        return [m.ScaleLinearDescr(kwargs=m.ScaleLinearKwargs(gain=1 / 255, offset=0.0))]
    low = np.resize(np.asarray(ref.low, float), channels)  # a gray range repeated for the 3 colour channels
    high = np.resize(np.asarray(ref.high, float), channels)
    gain, offset = 1 / (high - low), -low / (high - low)
    return [m.ScaleLinearDescr(kwargs=m.ScaleLinearAlongAxisKwargs(axis=m.AxisId("channel"),
                                                                  gain=[float(g) for g in gain],
                                                                  offset=[float(o) for o in offset])),
            m.ClipDescr(kwargs=m.ClipKwargs(min=0.0, max=1.0))]


def _unit(ref: Intensities | None, image: np.ndarray, channels: int) -> np.ndarray:
    """What the package's preprocessing makes of ``image`` (as stored): (H, W, channels) float32 0..1."""
    arr = image.astype(np.float32)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, channels, axis=-1)
    if ref is None:
        return arr / 255
    low = np.resize(np.asarray(ref.low, np.float32), channels)
    high = np.resize(np.asarray(ref.high, np.float32), channels)
    return np.clip((arr - low) / (high - low), 0, 1)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _cover(image01: np.ndarray, probs: np.ndarray, colours, path: Path) -> None:
    """The test image beside its predicted classes in their colours (2:1, as bioimage.io shows covers)."""
    from PIL import Image

    rgb = (image01 * 255 + 0.5).astype(np.uint8)
    classes = probs[0].argmax(0)
    lut = np.array([colours[i] if i < len(colours) else (255, 255, 255) for i in range(len(colours))], np.uint8)
    blend = (0.5 * rgb + 0.5 * lut[classes]).astype(np.uint8)
    both = np.concatenate([rgb, blend], axis=1)
    h, w = both.shape[:2]
    Image.fromarray(both).resize((2 * COVER_HEIGHT, COVER_HEIGHT) if w == 2 * h else
                                 (round(w * COVER_HEIGHT / h), COVER_HEIGHT)).save(path)


def _readme(run: Run, ranges: Intensities | None, description: dict, image_name: str) -> str:
    classes = description["classes"]["classes"]
    scores = description.get("held_out_scores") or {}
    miou = scores.get("val_miou")
    trained = description.get("trained") or {}
    lines = [f"# {run.name}: image segmentation", "",
             "Gives every pixel of an image one of these classes (output channel: class):", ""]
    lines += [f"- {i}: {c['name']}" for i, c in enumerate(classes)]
    lines += ["", "## Input", "",
              "RGB images (gray images repeated to three channels), values as stored: 0..255 for 8-bit images. "
              "The preprocessing in rdf.yaml brings them to 0..1"
              + (" by the fixed per-channel range the run measured on its training images (values outside it "
                 "clipped)" if ranges is not None else " (divided by 255)")
              + "; the network normalises itself. Height and width must be multiples of 32 (pad the bottom and "
                "right by mirroring, then crop the output).",
              "", "## Output", "",
              "One probability per class and pixel (softmax of the network's class scores); the pixel's class is "
              "the most probable one.", ""]
    if description["input"].get(COLOURS_INSIDE):
        lines += ["## Colours evened out inside the model", "",
                  "As the studio does, each image's colours are evened out before the network sees it (its L*a*b* "
                  "mean and spread brought to those of the training images, so that a darker or paler staining is "
                  "not taken for another tissue). The weights do it themselves, per image, from the whole image "
                  "they are given: run the model on whole images (or tiles large enough to hold the image's range "
                  "of colours), not on small tiles, each of which would be evened out by itself. It follows "
                  "OpenCV's L*a*b* formulas in floating point, where the studio uses OpenCV's 8-bit tables: the "
                  "probabilities differ from the studio's by a few hundredths at most on most pixels.", ""]
    lines += ["## How it was made", "",
              f"Trained with the segmentation studio (transfer learning: {description.get('architecture')} with a "
              f"{description.get('backbone')} encoder) on {trained.get('train_images')} image(s), "
              f"{trained.get('held_out_images')} held out.",
              "", "## Validation", "",
              f"Held-out images: {trained.get('held_out_images')} of the run's images, never trained on"
              + (f"; mean IoU {miou:.3f}" if isinstance(miou, (int, float)) else "") + f". Test input: a crop of "
              f"{image_name}; its expected output was computed with the TorchScript weights.", ""]
    return "\n".join(lines)


def export_bioimageio(run: Run, path: Path, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> Path:
    """Write ``run`` as a bioimage.io model package (a zip) at ``path``; counted in 5 steps, cancel checked
    between them (no file written then)."""
    import torch
    from bioimageio.spec import save_bioimageio_package
    from bioimageio.spec.model import v0_5 as m

    path = Path(path)
    steps = Steps(progress, cancel, 5, "steps", "bioimage.io export")
    nothing = "bioimage.io export cancelled; no file was written" + (f" ({path.name} is as it was)"
                                                                     if path.exists() else "")
    image, image_name = _test_image(run)
    ranges = run.intensities  # read once: the run's config.json is parsed on each access
    with tempfile.TemporaryDirectory(prefix="bioimageio-") as tmp:
        tmp = Path(tmp)
        wrap = _colours_inside(run.colour_reference)
        steps.show("ONNX weights")
        onnx_file = export_onnx(run, tmp / "weights.onnx", cancel=cancel, wrap=wrap)
        steps.tick("TorchScript weights")
        steps.check(nothing)
        ts_file = export_torchscript(run, tmp / "weights.pt", cancel=cancel, wrap=wrap)
        steps.tick("test input and output")
        steps.check(nothing)
        import onnx

        proto = onnx.load(str(onnx_file))
        from seg_core.infer.description import from_metadata

        description = from_metadata({p.key: p.value for p in proto.metadata_props}, onnx_file.name)
        channels = len(description["input"]["mean"])
        unit = _unit(ranges, image, channels)
        test_input = np.ascontiguousarray(
            np.repeat(image, channels, -1) if image.shape[-1] == 1 else image).astype(np.float32)
        test_input = test_input.transpose(2, 0, 1)[None]
        model = torch.jit.load(str(ts_file), map_location="cpu").eval()
        with torch.inference_mode():
            logits = model(torch.from_numpy(unit.transpose(2, 0, 1)[None].copy())).numpy()
        probs = _softmax(logits)
        np.save(tmp / "test_input.npy", test_input)
        np.save(tmp / "test_output.npy", probs)
        tifffile.imwrite(tmp / "sample_input.tif", test_input[0])  # (channel, y, x), for people to look at
        tifffile.imwrite(tmp / "sample_output.tif", probs[0])
        colours = [tuple(c["color"]) for c in description["classes"]["classes"]]
        _cover(unit, probs, colours, tmp / "cover.png")
        (tmp / "README.md").write_text(_readme(run, ranges, description, image_name))
        steps.tick("the model description")
        steps.check(nothing)
        names = [c["name"] for c in description["classes"]["classes"]]
        channel_names = ["red", "green", "blue"] if channels == 3 else [f"channel{i}" for i in range(channels)]
        size = m.ParameterizedSize(min=SIDE, step=SIDE)
        inputs = [m.InputTensorDescr(
            id=m.TensorId(INPUT_ID),
            description="RGB image, values as stored (0..255 for 8-bit images)",
            axes=[m.BatchAxis(), m.ChannelAxis(channel_names=[m.Identifier(n) for n in channel_names]),
                  m.SpaceInputAxis(id=m.AxisId("y"), size=size), m.SpaceInputAxis(id=m.AxisId("x"), size=size)],
            test_tensor=m.FileDescr(source=tmp / "test_input.npy"),
            sample_tensor=m.FileDescr(source=tmp / "sample_input.tif"),
            preprocessing=_preprocessing(ranges, channels))]
        outputs = [m.OutputTensorDescr(
            id=m.TensorId(OUTPUT_ID),
            description="per pixel, the probability of each class (channels: " + ", ".join(names) + ")",
            axes=[m.BatchAxis(), m.ChannelAxis(channel_names=[m.Identifier(_identifier(n)) for n in names]),
                  m.SpaceOutputAxis(id=m.AxisId("y"), size=m.SizeReference(tensor_id=m.TensorId(INPUT_ID),
                                                                           axis_id=m.AxisId("y"))),
                  m.SpaceOutputAxis(id=m.AxisId("x"), size=m.SizeReference(tensor_id=m.TensorId(INPUT_ID),
                                                                           axis_id=m.AxisId("x")))],
            test_tensor=m.FileDescr(source=tmp / "test_output.npy"),
            sample_tensor=m.FileDescr(source=tmp / "sample_output.tif"),
            postprocessing=[m.SoftmaxDescr(kwargs=m.SoftmaxKwargs(axis=m.AxisId("channel")))])]
        descr = m.ModelDescr(
            name=_name(run),
            description=f"Segments images into {', '.join(names[1:])} and {names[0]} (made with the segmentation "
                        "studio by transfer learning).",
            authors=[m.Author(name="segmentation studio user")],
            cite=[m.CiteEntry(text="Iakubovskii, P. Segmentation Models Pytorch (2019)",
                              url="https://github.com/qubvel/segmentation_models.pytorch")],
            license=m.LicenseId("CC-BY-4.0"),
            documentation=m.FileDescr(source=tmp / "README.md"),
            covers=[m.FileDescr(source=tmp / "cover.png")],
            tags=["segmentation", "semantic-segmentation", "2d", "transfer-learning"],
            timestamp=datetime.now(timezone.utc),
            inputs=inputs, outputs=outputs,
            weights=m.WeightsDescr(
                onnx=m.OnnxWeightsDescr(source=onnx_file, opset_version=_opset(proto), parent="torchscript"),
                # both traced from the run's PyTorch model; the TorchScript file counts as the original
                torchscript=m.TorchscriptWeightsDescr(source=ts_file, pytorch_version=_torch_version())),
        )
        steps.tick(f"writing {path.name}")
        steps.check(nothing)

        def write(tmp_zip: Path) -> None:
            save_bioimageio_package(descr, output_path=tmp_zip)
            steps.check(nothing)

        atomic_write(path, write)
    steps.tick("done")
    return path


COLOURS_INSIDE = "colour_normalisation_inside"  # the description's input entry: the evening out is in the model


def _colours_inside(reference: ColourReference | None):
    """The wrap (``export.Wrap``) that puts the run's evening out of colours in front of its network
    (``colour_module.WithEvenColours``), or None for a run trained on images as they are. The wrapped model's
    description says it is inside (``colour_normalisation`` None, so the studio's ONNX predictor does not do it
    again)."""
    if reference is None:
        return None

    def wrap(network):
        from seg_core.exchange.colour_module import WithEvenColours

        model = WithEvenColours(network, reference).eval()
        description = copy.deepcopy(network.description)
        description["input"][COLOURS_INSIDE] = description["input"].pop("colour_normalisation", None) | {
            "where": "inside the model, before the network: give it images as they are"}
        description["input"]["colour_normalisation"] = None
        model.description = description
        return model
    return wrap


def _identifier(name: str) -> str:
    """A class name as bioimage.io channel names want it (letters, digits, _ and -; no spaces)."""
    import re

    out = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")
    return out or "class"


def _name(run: Run) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_\- ()]+", " ", f"segmentation studio {run.name}").strip()[:128]


def _opset(proto) -> int:
    return max(int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx"))


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]
