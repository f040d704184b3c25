"""Scaling benchmark: prints figures, asserts nothing.

    python benchmarks/bench_scale.py [--parts ab,procs,memory] [--ab-rev REV] [--rounds 4]

1. ab: the one-process CPU path before and after streaming (the training code of git revision ``--ab-rev``
   against this checkout's), alternated in short runs, several rounds: train images/s of each, the ratio
   of the medians. Each run is its own process (camvid-mini train/, crop 352x480, batch 4, no validation).
2. procs: train images/s in 1 process (batch 4; 0 and 2 DataLoader workers) and 2 processes under torchrun
   with gloo (batch 2 each, the same global batch of 4 and the same steps), on this CPU.
3. memory: peak resident memory of all the training's processes (sampled every 0.1 s: the peak of their
   summed RSS, and the sum of each one's own peak, VmHWM) training on a generated set of 200 images of
   2048x2048 (crop 512x512, batch 4, a time budget), with 0 and 2 DataLoader workers and 2 processes.

The CPU may be shared with other work: the A/B runs alternate so both see the same load; read the
absolute figures with that in mind.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAMVID = ROOT.parent / "shared" / "data" / "camvid-mini" / "train"
OLD_FILES = ("training.py", "training_data.py")  # what streaming replaced
CROP = [352, 480]

TRAIN = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import seg_core
from seg_core import TrainConfig, train
kw = json.loads(sys.argv[1])
if kw.get("img_size"): kw["img_size"] = tuple(kw["img_size"])
run = train(TrainConfig(**kw))
print(json.dumps({"module": seg_core.__file__, **run.status}))
"""


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size: resident memory with pages shared among processes split between them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[subprocess.CompletedProcess, float, dict]:
    """Run ``cmd``; returns (result, wall seconds, memory in GB of its process tree, sampled every 0.1 s:
    "pss" the peak of the processes' summed PSS, "rss" the peak of their summed RSS (shared pages counted in
    each), "hwm" the sum of each process's own peak RSS)."""
    t = time.time()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True, cwd=tempfile.gettempdir())
        pss = rss = 0
        hwm: dict[int, int] = {}
        while proc.poll() is None:
            pids = _tree(proc.pid)
            pss = max(pss, sum(_pss_kb(p) for p in pids))
            rss = max(rss, sum(_kb(p, "VmRSS") for p in pids))
            for p in pids:
                hwm[p] = max(hwm.get(p, 0), _kb(p, "VmHWM"))
            time.sleep(0.1)
        out.seek(0)
        err.seek(0)
        res = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    return res, time.time() - t, {k: v / 2**20 for k, v in (("pss", pss), ("rss", rss), ("hwm", sum(hwm.values())))}


def _status(res: subprocess.CompletedProcess) -> dict:
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(res.args)}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def one_process(kw: dict, pythonpath: str | None = None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    res, wall, mem = run_measured([sys.executable, "-c", TRAIN, json.dumps(kw)], env)
    return _status(res) | {"wall": wall, "mem": mem}


def torchrun(kw: dict, processes: int) -> dict:
    cfg = Path(kw["out"] + ".settings.json")
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps(kw))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
           "-m", "seg_core", "train", "--config", str(cfg), "--quiet"]
    res, wall, mem = run_measured(cmd, dict(os.environ, OMP_NUM_THREADS=str(max(1, os.cpu_count() // processes))))
    if res.returncode != 0:
        raise SystemExit(f"torchrun failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
    return json.loads((Path(kw["out"]) / "status.json").read_text()) | {"wall": wall, "mem": mem}


def old_package(rev: str, where: Path) -> Path:
    """This checkout's seg_core with the training modules of git revision ``rev``, under ``where``."""
    pkg = where / "seg_core"
    shutil.rmtree(pkg, ignore_errors=True)
    shutil.copytree(ROOT / "seg_core", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for name in OLD_FILES:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:seg_core/{name}"], capture_output=True,
                              text=True, check=True).stdout
        (pkg / name).write_text(text)
    return where


def part_ab(args, out: Path) -> None:
    old = old_package(args.ab_rev, out / "old_pkg")
    kw = dict(data=str(args.data), img_size=CROP, batch_size=4, epochs=args.ab_epochs, val_fraction=0.0, seed=0)
    rows = {"old": [], "new": []}
    print(f"## 1. One process, before ({args.ab_rev}) and after streaming: alternated, {args.rounds} rounds\n")
    print("| round | before: train images/s | after: train images/s | after/before |\n|---|---|---|---|")
    for r in range(args.rounds):
        order = ("old", "new") if r % 2 == 0 else ("new", "old")
        got = {}
        for which in order:
            st = one_process(kw | {"out": str(out / f"ab_{which}_{r}")}, str(old) if which == "old" else None)
            assert (which == "old") == st["module"].startswith(str(old)), st["module"]
            got[which] = st["train_images_per_s"]
            rows[which].append(got[which])
        print(f"| {r + 1} | {got['old']:.3f} | {got['new']:.3f} | {got['new'] / got['old']:.3f} |", flush=True)
    mo, mn = statistics.median(rows["old"]), statistics.median(rows["new"])
    paired = statistics.median(n / o for n, o in zip(rows["new"], rows["old"]))
    print(f"\nmedian before {mo:.3f}, after {mn:.3f} train images/s: ratio of the medians **{mn / mo:.3f}**, median "
          f"of the rounds' ratios {paired:.3f} (target >= 0.95)\n")


def part_procs(args, out: Path) -> None:
    kw = dict(data=str(args.data), img_size=CROP, epochs=args.procs_epochs, val_fraction=0.0, seed=0,
              device="cpu")
    print(f"## 2. Processes on this CPU ({os.cpu_count()} cores): the same {args.procs_epochs} epochs, global "
          "batch 4\n")
    print("| processes | DataLoader workers | batch per process | train images/s | images/s, start-up excluded | "
          "wall s |\n|---|---|---|---|---|---|")
    one = one_process(kw | {"batch_size": 4, "out": str(out / "procs1")})
    workers = one_process(kw | {"batch_size": 4, "num_workers": 2, "out": str(out / "procs1w")})
    two = torchrun(kw | {"batch_size": 2, "out": str(out / "procs2")}, 2)
    for n, w, b, st in ((1, 0, 4, one), (1, 2, 4, workers), (2, 0, 2, two)):
        print(f"| {n} | {w} | {b} | {st['train_images_per_s']:.3f} | {st['images_per_s']:.3f} | {st['wall']:.0f} |",
              flush=True)
    print(f"\n2 processes / 1 process: {two['train_images_per_s'] / one['train_images_per_s']:.2f}x train images/s "
          "(on 2 cores each process gets 1 thread: no faster than one process using both)\n")


def make_big_set(folder: Path, n: int, side: int) -> Path:
    """``n`` smooth synthetic RGB images of side x side (JPEG) with 3-class masks (PNG); kept for reuse."""
    import cv2
    import numpy as np

    if (folder / "done").exists():
        return folder
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.integers(0, 255, (side // 64, side // 64, 3), dtype=np.uint8)
        img = cv2.resize(small, (side, side), interpolation=cv2.INTER_CUBIC)
        mask = (cv2.resize(small[..., 0], (side, side), interpolation=cv2.INTER_LINEAR) // 86).astype(np.uint8)
        cv2.imwrite(str(folder / "images" / f"img{i:03d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(folder / "masks" / f"img{i:03d}.png"), mask)
    (folder / "done").write_text("")
    return folder


def part_memory(args, out: Path) -> None:
    t = time.time()
    data = make_big_set(Path(args.big_data), 200, 2048)
    print(f"## 3. Memory: 200 images of 2048x2048 (generated in {time.time() - t:.0f} s), crop 512x512, batch 4, "
          f"{args.mem_budget:.0f} s budget, image cache 512 MB (the default), all 200 trained on\n")
    print("| processes | DataLoader workers | batch per process | peak memory, all processes (summed PSS, GB) | "
          "peak summed RSS (GB) | sum of each process's peak RSS (GB) | steps | train images/s |\n"
          "|---|---|---|---|---|---|---|---|")
    kw = dict(data=str(data), img_size=None, batch_size=4, time_budget=args.mem_budget, seed=0, device="cpu",
              num_classes=3, val_fraction=0.0)  # training alone (no held-out images: no validation)
    for procs, workers in ((1, 0), (1, 2), (2, 0)):  # 2 processes: batches of 2, the same global batch of 4
        cfg = kw | {"num_workers": workers, "batch_size": 4 // procs, "out": str(out / f"mem_{procs}_{workers}")}
        st = one_process(cfg) if procs == 1 else torchrun(cfg, procs)
        m = st["mem"]
        print(f"| {procs} | {workers} | {4 // procs} | {m['pss']:.2f} | {m['rss']:.2f} | {m['hwm']:.2f} | {st['steps']} | "
              f"{st['train_images_per_s']:.2f} |", flush=True)
    print("\n(target: under 3 GB. PSS splits the pages processes share (forked DataLoader workers share the "
          "training process's libraries); RSS counts them in every process.)\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="ab,procs,memory")
    ap.add_argument("--data", default=str(CAMVID))
    ap.add_argument("--ab-rev", default="HEAD", help="git revision whose training code is 'before'")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--ab-epochs", type=int, default=1)
    ap.add_argument("--procs-epochs", type=int, default=2)
    ap.add_argument("--big-data", default=str(Path(tempfile.gettempdir()) / "seg_core_bench_2048"))
    ap.add_argument("--mem-budget", type=float, default=120, help="seconds: long enough to fill the image cache")
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "seg_core_bench_scale"))
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    import torch

    print(f"# seg_core scaling benchmark {time.strftime('%Y-%m-%d %H:%M')} on {platform.processor() or platform.machine()}"
          f", {os.cpu_count()} cores, torch {torch.__version__}, load average {os.getloadavg()[0]:.1f} "
          "(a shared machine: figures vary with the other work)\n")
    parts = args.parts.split(",")
    for name, fn in (("ab", part_ab), ("procs", part_procs), ("memory", part_memory)):
        if name in parts:
            fn(args, out)


if __name__ == "__main__":
    main()
