"""Write the README screenshots by driving the real app: every wizard step on the demo, then the
monitor during and after a real (short) demo run.

    python scripts/screenshots.py [--out screenshots] [--steps 30]

Runs offline; the demo model is created locally on first use. Files: 1-model.svg … 5-review.svg,
6-monitor-running.svg, 7-monitor-done.svg.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

SIZE = (130, 42)


async def wait(pilot, check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.1)


async def drive(out: Path, steps: int) -> None:
    from lorawiz.commands.wizard import build_app

    app = build_app(demo=True)
    out.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        path = app.save_screenshot(filename=f"{name}.svg", path=str(out))
        print(path)

    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait(
            pilot, lambda: getattr(screen, "inspection", None) is not None, 180, "inspection"
        )
        await pilot.pause(0.3)
        shot("1-model")
        await pilot.press("f2")
        await pilot.pause(0.3)
        shot("2-layers")
        await pilot.press("f3")
        await wait(
            pilot,
            lambda: "Counting" not in str(screen.query_one("#token-stats").render()),
            120,
            "the data preview",
        )
        await pilot.pause(0.3)
        shot("3-data")
        await pilot.press("f4")
        field = screen.query_one("#field-train-max_steps-input")
        field.value = str(steps)  # type: ignore[attr-defined]
        await pilot.pause(0.5)
        shot("4-training")
        await pilot.press("f5")
        await pilot.pause(0.3)
        shot("5-review")
        await pilot.press("ctrl+l")
        await wait(pilot, lambda: type(app.screen).__name__ == "MonitorScreen", 120, "launch")

        def step() -> int:
            snap = app.run_snapshot
            return snap.step if snap else 0

        def status() -> str:
            snap = app.run_snapshot
            return snap.status if snap else ""

        await wait(
            pilot,
            lambda: step() >= max(2, steps // 2) or status() in ("done", "failed"),
            900,
            "training to log half its steps",
        )
        await pilot.pause(0.5)
        shot("6-monitor-running")
        await wait(pilot, lambda: status() in ("done", "failed", "crashed"), 900, "the run")
        await pilot.pause(1.0)
        shot("7-monitor-done")
        if status() != "done":
            snap = app.run_snapshot
            raise SystemExit(f"screenshots: the demo run ended {status()}: {snap and snap.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(drive(args.out, args.steps))
    sys.exit(0)


if __name__ == "__main__":
    main()
