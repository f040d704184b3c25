"""UI responsiveness benchmark: the real app in headless Chromium. Prints figures, asserts nothing.

    python benchmarks/bench_ui.py [--budget 90] [--clicks 5]

1. seconds from clicking Start to the first progress update shown in the browser (and, for comparison,
   the engine alone in this process: start of ``train()`` to its first step event);
2. while that training runs: seconds from a click to the page showing its answer, for page switches
   (Data, Train, Runs & export) and a widget on the Train page. Targets: first update within 5 s,
   clicks answered within 1 s.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from segapp.harness import CHROMIUM, INSTALL_HINT, launch_chromium, streamlit_app

PROGRESS = re.compile(r"step \d+(/\d+)? · ")


def engine_first_step(workspace: Path) -> float:
    """Seconds from starting a job with the app's defaults to the engine's first step event."""
    from seg_core import REGISTRY, TrainConfig, Workspace, train

    ws = Workspace(workspace)
    cfg = TrainConfig(data=str(ws.data_dir), out=str(ws.new_run_dir("bench")), time_budget=3, require_masks=False)
    job = REGISTRY.start("train", "bench", lambda progress, stop: train(cfg, progress, stop))
    job.wait(120)
    if job.error:
        raise RuntimeError(job.error)
    return job.first_progress_s


def timed_click(page, click, answer, timeout_ms: int = 30_000) -> float:
    """Seconds from a click to ``answer`` (a locator) being visible."""
    from playwright.sync_api import expect

    t = time.perf_counter()
    click()
    expect(answer).to_be_visible(timeout=timeout_ms)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=90, help="training time budget (s) during the click test")
    ap.add_argument("--clicks", type=int, default=5, help="repetitions of each click")
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit(INSTALL_HINT)
    from playwright.sync_api import expect, sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench_ui_"))
    print(f"# UI benchmark {time.strftime('%Y-%m-%d %H:%M')}: streamlit app on the bundled sample, "
          f"headless Chromium, default recipe, {args.budget} s budget\n")
    engine_s = engine_first_step(tmp / "engine_ws")

    with streamlit_app(tmp / "ws", tmp / "streamlit.log") as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url)
        expect(page.get_by_role("heading", name="Data")).to_be_visible()
        page.get_by_role("link", name="Train").click()
        budget = page.get_by_label("Time budget (seconds)")
        budget.fill(str(args.budget))
        budget.press("Enter")
        page.wait_for_timeout(1500)
        progress = page.get_by_text(PROGRESS)
        first_s = timed_click(page, page.get_by_role("button", name="Start training").click, progress, 60_000)
        t_start = time.time()

        def nav(link: str, answer):
            return lambda: timed_click(page, page.get_by_role("link", name=link).click, answer)

        actions = {
            "open Data page": nav("Data", page.get_by_text(re.compile(r"\d+ images: \d+ (reviewed|labelled|proposal|unlabelled)"))),
            "open Runs & export page": nav("Runs & export", page.get_by_role("heading", name="Runs & export")),
            "open Train page (live progress shown)": nav("Train", progress),
            "Train page: switch 'Stop after' to epochs": lambda: timed_click(
                page, page.get_by_text("epochs", exact=True).click, page.get_by_label("Epochs")),
            "Train page: switch back to time budget": lambda: timed_click(
                page, page.get_by_text("time budget", exact=True).click, page.get_by_label("Time budget (seconds)")),
        }
        times: dict[str, list[float]] = {k: [] for k in actions}
        for _ in range(args.clicks):
            for name, act in actions.items():
                times[name].append(act())
                page.wait_for_timeout(300)
        still_training = "running" in page.get_by_role("heading", name=re.compile("Job")).inner_text()
        elapsed_training = time.time() - t_start
        page.get_by_role("button", name="Cancel training").click()
        expect(page.get_by_text("Cancelled")).to_be_visible(timeout=60_000)
        browser.close()

    print("| measure | seconds | target |\n|---|---|---|")
    print(f"| Start click to first progress update in the browser | {first_s:.2f} | <= 5 |")
    print(f"| engine alone: train() start to first step event | {engine_s:.2f} | |")
    for name, ts in times.items():
        print(f"| click during training: {name} (median / max of {len(ts)}) | "
              f"{statistics.median(ts):.2f} / {max(ts):.2f} | <= 1 |")
    print(f"\nall clicks made while training ran ({elapsed_training:.0f} s in, still running: {still_training})")


if __name__ == "__main__":
    main()
