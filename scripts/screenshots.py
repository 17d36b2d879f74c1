"""Write the README screenshots by driving the real app: every wizard step on the demo, then the
monitor during and after a real (short) demo run.

    python scripts/screenshots.py [--out screenshots] [--steps N]

Runs offline; the demo model is created locally on first use. Sessions and runs go to a
temporary LORAWIZ_HOME, so no saved session of yours shows up. Files (120x36 cells):
1-model.svg … 5-review.svg, 6-monitor-running.svg, 7-monitor-done.svg.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZE = (120, 36)


async def wait(pilot: Any, check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.1)


async def drive(out: Path, steps: int | None) -> list[Path]:
    from textual.widgets import Input, Static

    from lorawiz.commands.wizard import build_app

    app = build_app(demo=True)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def shot(name: str) -> None:
        app.clear_notifications()  # a toast from an earlier step would cover the picture
        written.append(Path(app.save_screenshot(filename=f"{name}.svg", path=str(out))))
        print(written[-1])

    async with app.run_test(size=SIZE) as pilot:
        screen: Any = app.screen
        await wait(pilot, lambda: screen.inspection is not None, 300, "the demo's inspection")
        await pilot.pause(0.3)
        shot("1-model")
        await pilot.press("ctrl+n")
        await pilot.pause(0.3)
        shot("2-layers")
        await pilot.press("ctrl+n")
        stats = screen.query_one("#token-stats", Static)
        await wait(pilot, lambda: "tokens per example" in str(stats.render()), 300, "token stats")
        await pilot.pause(0.3)
        shot("3-data")
        await pilot.press("ctrl+n")
        await pilot.pause(0.3)
        if steps is not None:
            max_steps = screen.query_one("#field-train-max_steps-input", Input)
            max_steps.value = str(steps)  # posts Changed: the draft takes it like typing
        await pilot.pause(0.5)
        shot("4-training")
        await pilot.press("ctrl+n")
        await pilot.pause(0.3)
        shot("5-review")
        await pilot.press("ctrl+l")
        await wait(pilot, lambda: type(app.screen).__name__ == "MonitorScreen", 120, "launch")

        def snapshot() -> Any:
            return app.run_snapshot

        def ended() -> bool:
            snap = snapshot()
            return snap is not None and snap.status in ("done", "failed", "crashed")

        def halfway() -> bool:
            snap = snapshot()
            return ended() or bool(snap and snap.max_steps and snap.step >= snap.max_steps // 2)

        await wait(pilot, halfway, 900, "training to log half its steps")
        await pilot.pause(0.5)
        shot("6-monitor-running")
        await wait(pilot, ended, 900, "the run to end")
        await pilot.pause(1.0)
        shot("7-monitor-done")
        snap = snapshot()
        if snap.status != "done":
            raise SystemExit(f"screenshots: the demo run ended {snap.status}: {snap.error}")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--steps", type=int, default=None, help="max steps (default: the demo's)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="lorawiz-screenshots-") as home:
        os.environ["LORAWIZ_HOME"] = home
        asyncio.run(drive(args.out.resolve(), args.steps))
    sys.exit(0)


if __name__ == "__main__":
    main()
