"""What the command line prints and how it exits: result lines (or ``--json``), progress lines, Ctrl-C, and
the exit codes (0 done, 1 nothing usable came out, 2 an error named on stderr, 130 interrupted or cancelled).
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

# Cancel and Ctrl-C: the one vocabulary of the engine (progress counts printed on stderr)
from seg_core.base.progress import Cancelled, Progress, cancel_on_interrupt, count_printer

OK, FAILED, ERROR, INTERRUPTED = 0, 1, 2, 130


def quiet_libraries() -> None:
    warnings.filterwarnings("ignore")
    logging.getLogger("timm").setLevel(logging.ERROR)


def flags(text) -> str:
    """An engine message in the command line's words: each setting it names (``seg_core.base.messages.given``)
    as its flag (``--mask-values binary``)."""
    from seg_core.base.messages import worded

    return worded(text, _flags)


def _flags(settings: list[tuple[str, str | None]]) -> str:
    if not settings:
        return "the flag"
    from seg_core.runs.config import flag_of  # loaded only for a message that names a setting

    return " ".join(flag_of(name) + ("" if value is None else f" {value}") for name, value in settings)


def _flags_in(data):
    """``data`` (JSON values) with every string in the command line's words (``flags``)."""
    if isinstance(data, str):
        return flags(data)
    if isinstance(data, dict):
        return {k: _flags_in(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_flags_in(v) for v in data]
    return data


def error(text: str) -> None:
    print(flags(text), file=sys.stderr)


def _raised(err: Exception, module: str, name: str) -> bool:
    """``err`` is ``module.name``'s exception: only a module the command loaded can have raised one, so a
    command that needs no torch does not load it here."""
    mod = sys.modules.get(module)
    return mod is not None and isinstance(err, getattr(mod, name))


def run(fn: Callable[[Any], int], args: Any) -> int:
    """Run a command; an error becomes its message on stderr and an exit code."""
    try:
        return fn(args)
    except KeyboardInterrupt:
        error("interrupted")
        return INTERRUPTED
    except Cancelled as err:
        error(str(err))
        return INTERRUPTED
    except Exception as err:
        if _raised(err, "seg_core.runs.config", "ConfigError"):
            from seg_core.runs.config import flag_of

            error(f"error: {flag_of(err.field)}: {err}")
            return ERROR
        if _raised(err, "seg_core.training.distributed", "MainFailed"):
            return ERROR  # torchrun: rank 0 failed at work done for all processes and says why itself
        if isinstance(err, (ValueError, FileNotFoundError, RuntimeError)):
            error(f"error: {err}")
            return ERROR
        raise


@dataclass
class Work:
    """Work the user may stop with Ctrl-C: pass ``progress`` and ``cancel`` to the engine; ``stopped`` is the
    Cancelled it raised (what was done: ``stopped.partial``; what was kept: ``str(stopped)``), or None."""

    progress: Progress
    cancel: threading.Event
    stopped: Cancelled | None = None


@contextmanager
def interruptible(keep_partial: bool = True) -> Iterator[Work]:
    """Ctrl-C within the block cancels the work at its next item (counts printed on stderr meanwhile). With
    ``keep_partial`` the block's Cancelled is kept in ``Work.stopped``; without, it propagates (``run`` says
    what was kept and exits 130)."""
    with cancel_on_interrupt() as cancel:
        work = Work(count_printer(), cancel)
        try:
            yield work
        except Cancelled as err:
            if not keep_partial:
                raise
            work.stopped = err


# -- training ------------------------------------------------------------------------------------------
def training_printer(quiet: bool):
    """A progress callback printing a training's events: the start, a step line each 5 s (not ``quiet``),
    unfreezing, validations, status messages."""
    from seg_core.runs.events import Start, Status, Step, Unfreeze, Validation

    last = [0.0]
    said = set()  # what validations were scored on, said once

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
            if ev.scored_on and ev.scored_on not in said:
                said.add(ev.scored_on)
                print(f"  validating on {ev.scored_on}", flush=True)
            print(f"  validation after epoch {ev.epoch}: mIoU {ev.val_miou:.4f}" + (" (best, saved)" if ev.best else ""),
                  flush=True)
        elif isinstance(ev, Status):
            print(flags(ev.message), flush=True)
    return show


def trained(run) -> int:
    st = run.status
    total = st.get("total_s")
    print(f"{st['state']}: {st['epochs']} epochs, {st['steps']} steps in {st['seconds']:.0f}s "
          f"({st['images_per_s']:.2f} img/s)" + (f", best val mIoU {st['best_val_miou']:.4f}"
                                                  if st.get("best_val_miou") is not None else "")
          + (f"; {total:.0f}s in all" + (f" of a {st['time_budget']:.0f}s budget" if st.get("time_budget") else "")
             if total is not None else ""))
    print(f"run saved to {run.path}")
    return OK


# -- the other commands ----------------------------------------------------------------------------------
def backbones(rows: Iterable[tuple]) -> int:
    """``rows``: (name, encoder info, backbone, ImageNet weights offline, is the default) per backbone."""
    print(f"{'name':20} {'encoder params':>14} {'stages':>6}  {'suits':10} {'ImageNet offline':16} note")
    for name, info, bb, offline, default in rows:
        print(f"{name:20} {info['encoder_params'] / 1e6:13.1f}M {info['stages']:>6}  {bb.suits:10} "
              f"{'yes' if offline else 'no (download)':16} {bb.note}{' (default)' if default else ''}")
    return OK


def validation(folder: str, ds) -> int:
    print(f"{folder}: {len(ds.samples)} images, {len(ds.labelled)} usable pairs, {ds.num_classes} classes "
          f"({', '.join(ds.classes.names)})"
          + (f", unlabelled value {ds.ignore_index}" if ds.ignore_index is not None else ""))
    if ds.channels:  # the folder's one channel layout (``data.channel_layout``): what --channels picks from
        print(f"channels: {len(ds.channels)} (" + ", ".join(f"{i + 1} {n}" for i, n in enumerate(ds.channels)) + ")")
    for rule in ds.mask_rules:  # how the mask values are read, as training and scoring read them
        print(f"mask values: {flags(rule)}")
    for p in ds.problems:
        print(flags(p))
    n_err = len(ds.errors)
    print(f"{n_err} error(s), {len(ds.problems) - n_err} warning(s)")
    return FAILED if n_err else OK


def postprocessing(reason: str) -> None:
    print(f"post-processing: {reason}", file=sys.stderr)


def counting(reason: str) -> None:
    """How sure the model must be of an object for it to be counted, as the run measured it, and why."""
    print(f"objects: {reason}", file=sys.stderr)


def evaluation(res, as_json: bool) -> int:
    """``res``: an ``Evaluation`` (``seg_core.infer.evaluation``), or an ``ObjectEvaluation`` (``--instances``)."""
    for w in res.warnings:  # on stderr, so --json's stdout stays one JSON object
        print(f"warning: {flags(w)}", file=sys.stderr)
    if as_json:
        print(json.dumps(_flags_in(res.to_json())))
        return OK
    for rule in res.mask_values:
        print(f"mask values: {flags(rule)}")
    print(f"mIoU {res.miou:.4f}  Dice {res.dice:.4f}  pixel accuracy {res.pixel_accuracy:.4f}  "
          f"({res.images} images, {res.seconds_per_image:.3f} s/image)")
    for name, v in res.per_class_iou.items():
        hidden = "  (hidden: every ground-truth pixel was unlabelled)" if name in res.hidden_classes else ""
        print(f"  {name:20} IoU {'-' if v is None else f'{v:.4f}'}{hidden}")
    o = getattr(res, "objects", None)
    if o is not None:
        print(f"objects: F1 at IoU 0.5 {o.object_f1:.4f}  matched IoU {_num(o.matched_iou)}  "
              f"median count error {_num(o.median_count_error)}  ({o.objects_predicted} predicted, "
              f"{o.objects_true} true)")
        for r in res.per_image:
            m = r.extra  # the image's objects matched (``seg_core.objects.matching.Match``)
            print(f"  {r.image:20} {m.predicted:6d} objects of {m.true:6d}  "
                  f"F1 {m.f1:.4f}  count error {_num(m.count_error)}")
    return OK


def _num(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def measured(rows: list[dict], stopped: str, out, as_json: bool) -> int:
    bad = [r for r in rows if "error" in r]
    if as_json:
        print(json.dumps({"images": rows, "objects": sum(r.get("objects", 0) for r in rows), "out": str(out)}
                         | ({"stopped": stopped} if stopped else {})))
    else:
        for r in bad:
            print(f"skipped: {r['error']}")
    if stopped:
        error(stopped)
        return INTERRUPTED
    if not as_json:
        faint = sum(r.get("faint", 0) for r in rows)
        print(f"wrote {sum(r.get('objects', 0) for r in rows)} objects of {len(rows) - len(bad)} images to "
              f"{out / 'objects.csv'}, {out / 'images.csv'}, {out / 'instances'}, {out / 'geojson'} and "
              f"{out / 'coco.json'}"
              + (f"; {faint} faint region(s) left out (the model was nowhere as sure as --min-confidence)"
                 if faint else ""))
        sized = [r for r in rows if r.get("pixel_size_um")]
        if sized:
            print(f"sizes in micrometres for {len(sized)} image(s) (pixel size from "
                  f"{', '.join(sorted({r['pixel_size_from'] for r in sized}))})"
                  + (f"; in pixels only for {len(rows) - len(bad) - len(sized)} whose files state no pixel size "
                     "(give one with --pixel-size)" if len(rows) - len(bad) > len(sized) else ""))
    return FAILED if bad and len(bad) == len(rows) else OK


def predictions(rows: list[dict], stopped: str, out) -> int:
    bad = [r for r in rows if "error" in r]
    for r in bad:
        print(f"skipped: {r['error']}")
    if stopped:
        error(stopped)
        return INTERRUPTED
    print(f"wrote {len(rows) - len(bad)} masks to {out / 'masks'} and overlays to {out / 'overlays'}")
    return FAILED if bad and len(bad) == len(rows) else OK


def ranking(rows, explain: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps([{"image": r.image, "score": None if r.error else round(r.score, 6),
                           "unsure_fraction": None if r.error else round(r.unsure_fraction, 6),
                           "uncertainty": None if r.error else round(r.uncertainty, 6), "reason": r.reason}
                          | ({"error": r.error} if r.error else {}) for r in rows], ensure_ascii=False))
    else:
        print(explain)
        for r in rows:
            print(f"skipped: {r.error}" if r.error else f"{r.score:.4f}  {r.image}  ({r.reason})")
    return OK if any(r.error is None for r in rows) else FAILED


def run_list(root, runs_dir, rows: list[dict], training, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"workspace": str(root), "training": training, "runs": rows}, default=str))
        return OK
    if not rows:
        print(f"no runs in {runs_dir}")
        return OK
    print(f"{'run':40} {'state':12} {'best val mIoU':>13}  checkpoint")
    for r in rows:
        miou = "-" if r["best_val_miou"] is None else f"{r['best_val_miou']:.4f}"
        print(f"{r['run']:40} {r['state']:12} {miou:>13}  {'yes' if r['has_checkpoint'] else 'no'}")
        for problem in r["problems"]:
            print(f"  problem: {problem}")
    return OK


def project_list(home, rows: list[dict], removed: list[dict], as_json: bool) -> int:
    if as_json:
        print(json.dumps({"home": str(home), "projects": rows, "removed": removed}, ensure_ascii=False))
        return OK
    if not rows:
        print(f"no projects in {home}")
    for r in rows:
        print(f"{r['name']:30} {r['images']:5} image(s) {r['masks']:5} mask(s) {r['runs']:3} run(s)  {r['workspace']}")
    for r in removed:
        print(f"removed: {r['name']} (in {r['where']})")
    return OK


def member_list(root, members: dict[str, str], as_json: bool) -> int:
    if as_json:
        print(json.dumps({"workspace": str(root), "members": members}, ensure_ascii=False))
        return OK
    if not members:
        print(f"{root}: no members yet (add one: members --workspace {root} add EMAIL owner)")
    for email, role in members.items():
        print(f"{email}\t{role}")
    return OK


def import_report(rep, as_json: bool) -> int:
    if as_json:
        print(json.dumps(rep.to_json(), ensure_ascii=False))
    else:
        for line in rep.lines():
            print(line)
    if rep.cancelled:
        error(rep.cancel_note())
        return INTERRUPTED
    return OK if rep.any_imported else FAILED


def wrote(what: str) -> int:
    print(f"wrote {what}")
    return OK


def class_list(classes, change, as_json: bool, note: str = "") -> int:
    """The classes (index, name, colour) and, after a change, what it rewrote and where its restore point is
    (``class_edits.ClassChange``); ``note``: what an undo put back. A mask left unreadable is named on stderr."""
    if as_json:
        data = change.to_json() if change is not None else {"classes": classes.to_json()["classes"]}
        print(json.dumps(data | ({"restored": note} if note else {})))
    else:
        for line in ([note] if note else []) + ([change.what] if change is not None else []):
            print(line)
        for i, (name, colour) in enumerate(zip(classes.names, classes.colours)):
            print(f"{i:3d}  {name:24} {','.join(map(str, colour))}")
        if change is not None:
            print(f"{len(change.masks)} mask(s) changed ({change.pixels_moved} pixel(s) of the class moved), "
                  f"{len(change.proposals)} proposal(s) changed; undo with `classes --workspace WS restore` "
                  f"(the old classes.json and masks are in {change.restore_point})")
    for problem in change.unreadable if change is not None else []:
        error(f"left as it is: {problem}")
    return OK
