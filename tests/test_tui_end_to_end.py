"""From the demo model through Launch to a real short run whose logged points reach the chart."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from textual.widgets import Static

from lorawiz.commands.wizard import build_app
from lorawiz.widgets.metric_chart import MetricChart
from test_tui_wizard import field, type_into, until


@pytest.mark.slow
async def test_demo_launch_trains_and_the_chart_fills() -> None:
    app = build_app(demo=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: getattr(screen, "inspection", None) is not None, timeout=120)
        await pilot.press("f4")
        await type_into(pilot, "train.max_steps", "4")
        await type_into(pilot, "train.save_steps", "2")
        await type_into(pilot, "train.batch_size", "2")
        assert field(pilot, "train.max_steps").problem is None
        await pilot.press("f5")
        await pilot.press("ctrl+l")
        await until(pilot, lambda: type(app.screen).__name__ == "MonitorScreen", timeout=60)
        monitor = app.screen
        await until(
            pilot,
            lambda: app.run_snapshot is not None and app.run_snapshot.status in ("done", "failed"),
            timeout=600,
        )
        snapshot = app.run_snapshot
        assert snapshot is not None
        assert snapshot.status == "done", snapshot.error
        assert snapshot.step == 4
        # What was typed in the wizard is what ran.
        run_dir = Path(snapshot.run_dir)
        assert "max_steps = 4" in (run_dir / "session.toml").read_text()
        assert snapshot.adapter and (run_dir / "adapter").is_dir()
        losses = snapshot.get("loss").values
        assert len(losses) == 4 and all(math.isfinite(v) and v > 0 for v in losses)
        await pilot.pause()
        loss = monitor.query_one("#chart-loss", MetricChart)
        assert loss.lines[0].series.values == losses
        assert loss.points_drawn == 4
        stats = str(monitor.query_one("#stats", Static).render())
        assert stats.startswith("done") and "step 4/4" in stats
