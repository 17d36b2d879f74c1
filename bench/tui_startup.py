"""How fast the TUI is: time to the first screen, and the monitor's redraw of a 100,000-step run.

1. Time to first screen: `lorawiz` (the wizard's Model step) against a bare Textual app with a
   header, an input and a footer, each in a fresh subprocess (imports included), run headless,
   alternating, N rounds; medians and their ratio. Goal: ratio <= 1.5.
2. Monitor redraw: a synthetic events.jsonl with 100,000 logged steps is folded once, then the
   monitor screen is redrawn from the snapshot (all four charts downsampled to their width).
   Goal: < 100 ms per redraw.

    python bench/tui_startup.py [--rounds N]
"""

from __future__ import annotations

import os
import sys

# bench/inspect.py (run as a script, this folder is sys.path[0]) would shadow the standard
# library's `inspect`, which asyncio imports.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

BARE = """
import time
t0 = time.perf_counter()
from textual.app import App
from textual.widgets import Footer, Header, Input

class Bare(App):
    def compose(self):
        yield Header()
        yield Input(placeholder="model")
        yield Footer()

painted = []

def done(app):
    painted.append(time.perf_counter() - t0)
    app.exit()

async def first_screen(pilot):
    # Exit right after the first frame of the screen is painted.
    pilot.app.screen.call_after_refresh(done, pilot.app)

Bare().run(headless=True, size=(120, 40), auto_pilot=first_screen)
print(painted[0])
"""

LORAWIZ = """
import time
t0 = time.perf_counter()
from lorawiz.commands.wizard import build_app

painted = []

def done(app):
    painted.append(time.perf_counter() - t0)
    app.exit()

async def first_screen(pilot):
    # Exit right after the first frame of the wizard's Model step is painted.
    import asyncio
    while type(pilot.app.screen).__name__ != "WizardScreen" or not pilot.app.screen.is_mounted:
        await asyncio.sleep(0.001)
    pilot.app.screen.call_after_refresh(done, pilot.app)

build_app().run(headless=True, size=(120, 40), auto_pilot=first_screen)
print(painted[0])
import sys
heavy = [m for m in ("torch", "transformers", "peft") if m in sys.modules]
assert not heavy, heavy
"""


def run_child(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(seconds from the child's first line to its first painted frame, process wall time)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    return float(done.stdout.strip().splitlines()[-1]), wall


def startup(rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LORAWIZ_HOME": home}
        run_child(BARE, env)  # warm the file cache and .pyc files for both
        run_child(LORAWIZ, env)
        bare, ours = [], []
        for _ in range(rounds):
            bare.append(run_child(BARE, env))
            ours.append(run_child(LORAWIZ, env))
    result = {
        "bare_textual_s": statistics.median(b[0] for b in bare),
        "lorawiz_s": statistics.median(o[0] for o in ours),
        "bare_textual_process_s": statistics.median(b[1] for b in bare),
        "lorawiz_process_s": statistics.median(o[1] for o in ours),
    }
    result["ratio"] = result["lorawiz_s"] / result["bare_textual_s"]
    result["process_ratio"] = result["lorawiz_process_s"] / result["bare_textual_process_s"]
    return result


def write_run(run_dir: Path, steps: int) -> None:
    run_dir.mkdir(parents=True)
    t0 = 1_700_000_000.0
    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as handle:
        start = {"event": "start", "time": t0, "max_steps": steps, "method": "dpo", "model": "demo"}
        handle.write(json.dumps(start) + "\n")
        for step in range(1, steps + 1):
            event = {
                "event": "log",
                "time": t0 + step * 0.5,
                "step": step,
                "loss": 2.0 / (1 + step / 1000) + (step % 7) * 0.01,
                "learning_rate": 2e-4 * (1 - step / steps),
                "grad_norm": 1 + (step % 13) / 10,
                "rewards/margins": step / steps,
                "rewards/accuracies": 0.5 + step / (2 * steps),
            }
            handle.write(json.dumps(event) + "\n")
        # A finished run: the App's reader goes quiet after its first pass, so it does not
        # compete with the redraws being timed.
        done = {"event": "done", "time": t0 + steps * 0.5 + 1, "step": steps, "adapter": "a"}
        handle.write(json.dumps(done) + "\n")


async def redraw(steps: int, repeats: int) -> dict[str, float]:
    from lorawiz.app import CoreServices
    from lorawiz.commands.wizard import build_app
    from lorawiz.core.events import EVENTS_FILE, EventReader
    from lorawiz.core.monitor_state import RunFold
    from lorawiz.widgets.metric_chart import MetricChart

    class Quiet(CoreServices):
        def process_alive(self, run_dir: Path, pid: int | None) -> bool | None:
            return True

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        write_run(run_dir, steps)
        size_mb = (run_dir / EVENTS_FILE).stat().st_size / 1e6
        start = time.perf_counter()
        fold = RunFold(run_dir)
        fold.add(EventReader(run_dir / EVENTS_FILE).read_new())
        snapshot = fold.snapshot()
        load = time.perf_counter() - start

        app = build_app(monitor=run_dir, services=Quiet())
        times, chart_times = [], []
        async with app.run_test(size=(160, 50)) as pilot:
            while app.run_snapshot is None or app.run_snapshot.step < steps:
                await pilot.pause(0.1)  # the reader's first pass over the file
            await pilot.pause(0.5)
            screen = app.screen
            charts = list(screen.query(MetricChart))
            for _ in range(repeats):
                fresh = fold.snapshot()  # a new object, as the reader posts one per change
                t = time.perf_counter()
                screen.show_snapshot(fresh)  # type: ignore[attr-defined]
                await pilot.pause()  # layout, render of every chart, compositing
                times.append(time.perf_counter() - t)
                t = time.perf_counter()
                for chart in charts:
                    if chart.display:
                        chart.render()
                chart_times.append(time.perf_counter() - t)
            points = max(chart.points_drawn for chart in charts)
        assert snapshot.step == steps
    return {
        "steps": steps,
        "events_mb": round(size_mb, 1),
        "initial_fold_s": load,
        "redraw_ms_median": statistics.median(times) * 1000,
        "charts_render_ms_median": statistics.median(chart_times) * 1000,
        "points_per_line": points,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    first = startup(args.rounds)
    second = asyncio.run(redraw(args.steps, repeats=10))
    if args.json:
        print(json.dumps({"startup": first, "monitor": second}, indent=2))
        return
    print(f"time to first painted screen (median of {args.rounds}, alternating subprocesses)")
    print("                    first frame   whole process (start to exit)")
    for label, key in (("bare Textual app", "bare_textual"), ("lorawiz wizard", "lorawiz")):
        frame, process = first[key + "_s"] * 1000, first[key + "_process_s"] * 1000
        print(f"  {label:17} {frame:7.0f} ms {process:11.0f} ms")
    verdict = "ok" if first["ratio"] <= 1.5 else "over the 1.5 goal"
    print(
        f"  ratio             {first['ratio']:7.2f}    {first['process_ratio']:11.2f}   ({verdict})"
    )
    print(f"monitor, {second['steps']:,} logged steps ({second['events_mb']} MB events.jsonl)")
    print(f"  fold the file once      {second['initial_fold_s'] * 1000:7.0f} ms")
    print(f"  redraw (all panels)     {second['redraw_ms_median']:7.1f} ms   (goal < 100 ms)")
    print(f"  render the charts only  {second['charts_render_ms_median']:7.1f} ms")
    print(f"  points per chart line   {second['points_per_line']:7d}")


if __name__ == "__main__":
    main()
