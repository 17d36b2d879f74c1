"""The monitor fed with scripted events: live series, done, failure, crash, resume, stop, runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import Button, DataTable, Log, ProgressBar, Static

from lorawiz.app import LorawizApp
from lorawiz.commands.wizard import build_app
from lorawiz.screens.monitor import MonitorScreen
from lorawiz.widgets.metric_chart import MetricChart
from test_tui_support import FakeServices, log_events, write_events
from test_tui_wizard import until

SIZE = (120, 40)


def monitor_app(services: FakeServices, run_dir: Path) -> LorawizApp:
    app = build_app(monitor=run_dir, services=services)
    app.poll_interval = 0.05
    return app


def snapshot_status(app: LorawizApp) -> str:
    return app.run_snapshot.status if app.run_snapshot else ""


@pytest.fixture
def services(tmp_path: Path) -> FakeServices:
    return FakeServices(tmp_path)


async def test_live_events_reach_the_charts_then_done(
    services: FakeServices, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    write_events(run, {"event": "start", "max_steps": 20, "method": "sft", "model": "demo"})
    (run / "train.log").write_text("loading the model\n")
    app = monitor_app(services, run)
    async with app.run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, MonitorScreen)
        await until(pilot, lambda: snapshot_status(app) == "running")
        write_events(run, *log_events(1, 10))
        with open(run / "train.log", "a") as log:
            log.write("step 10\n")
        loss = screen.query_one("#chart-loss", MetricChart)
        await until(pilot, lambda: len(loss.lines[0].series) == 10 if loss.lines else False)
        assert screen.query_one(ProgressBar).progress == 10
        stats = str(screen.query_one("#stats", Static).render())
        assert "step 10/20" in stats and "running" in stats
        await until(pilot, lambda: "step 10" in "\n".join(screen.query_one(Log).lines))
        assert screen.query_one("#chart-lr", MetricChart).lines[0].series.last is not None
        assert not screen.query_one("#stop", Button).disabled
        assert screen.query_one("#resume", Button).disabled

        write_events(run, *log_events(11, 20), {"event": "done", "step": 20, "adapter": "x"})
        await until(pilot, lambda: snapshot_status(app) == "done")
        await pilot.pause()
        assert screen.query_one(ProgressBar).percentage == 1.0
        assert screen.query_one("#stop", Button).disabled
        assert len(loss.lines[0].series) == 20


async def test_failed_run_shows_its_error(services: FakeServices, tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_events(
        run,
        {"event": "start", "max_steps": 20, "method": "sft"},
        *log_events(1, 3),
        {"event": "error", "message": "out of memory [xpu]", "traceback": "Traceback…\nOOM"},
    )
    app = monitor_app(services, run)
    async with app.run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        await until(pilot, lambda: snapshot_status(app) == "failed")
        await pilot.pause()
        assert screen.has_class("-error")
        assert "out of memory [xpu]" in str(screen.query_one("#error", Static).render())
        assert not screen.query_one("#resume", Button).disabled


async def test_crash_then_resume_continues_the_same_chart(
    services: FakeServices, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    write_events(run, {"event": "start", "max_steps": 10, "method": "sft"}, *log_events(1, 6))
    services.alive = False  # the process is gone without a terminal event
    app = monitor_app(services, run)
    async with app.run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        await until(pilot, lambda: snapshot_status(app) == "crashed", timeout=8)
        await pilot.pause()
        assert "gone without a last event" in str(screen.query_one("#error", Static).render())
        await pilot.press("r")
        await until(pilot, lambda: services.resumed == [run])
        write_events(run, *log_events(5, 10))
        await until(pilot, lambda: app.run_snapshot is not None and app.run_snapshot.step == 10)
        snap = app.run_snapshot
        assert snap is not None and snap.status == "running" and snap.resumed_from == 4
        # Steps 5 and 6 of the crashed attempt were replaced by the resumed ones.
        assert snap.get("loss").steps == tuple(float(s) for s in range(1, 11))


async def test_stop_asks_first_and_quitting_leaves_the_run(
    services: FakeServices, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    write_events(run, {"event": "start", "max_steps": 10, "method": "sft"}, *log_events(1, 2))
    app = monitor_app(services, run)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: snapshot_status(app) == "running")
        await pilot.press("s")
        await pilot.pause()
        await pilot.click("#no")  # "Keep training"
        await pilot.pause()
        assert services.stopped == []
        await pilot.press("s")
        await pilot.pause()
        await pilot.click("#yes")
        await until(pilot, lambda: services.stopped == [run])
        await pilot.press("q")
        await pilot.pause()
    assert services.stopped == [run]  # quitting did not stop anything more
    assert app.return_code == 0


async def test_dpo_runs_show_rewards(services: FakeServices, tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_events(
        run, {"event": "start", "max_steps": 10, "method": "dpo"}, *log_events(1, 5, dpo=True)
    )
    app = monitor_app(services, run)
    async with app.run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        rewards = screen.query_one("#chart-rewards", MetricChart)
        await until(pilot, lambda: bool(rewards.lines))
        await pilot.pause()
        assert screen.has_class("-dpo") and rewards.display
        assert [line.label for line in rewards.lines] == ["margins", "accuracies"]
        assert rewards.lines[0].series.last == pytest.approx(0.5)


async def test_runs_list_reattaches(services: FakeServices, tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_events(run, {"event": "start", "max_steps": 10, "method": "sft"}, *log_events(1, 3))
    services.runs = [
        SimpleNamespace(
            run_dir=run,
            status="running",
            step=3,
            max_steps=10,
            method="sft",
            model="demo",
            started=1000.0,
        )
    ]
    app = build_app(runs=True, services=services)
    async with app.run_test(size=SIZE) as pilot:
        table = pilot.app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        # Columns fit their cells from the first frame (auto widths settle only on idle).
        assert [c.get_render_width(table) - 2 for c in table.ordered_columns][:3] == [3, 7, 4]
        assert "back" not in {b.binding.action for b in app.screen.active_bindings.values()}
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen))
        await until(pilot, lambda: app.run_snapshot is not None and app.run_snapshot.step == 3)


async def test_monitor_redraws_100k_steps_downsampled(
    services: FakeServices, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    events = [{"event": "start", "max_steps": 100_000, "method": "sft"}, *log_events(1, 100_000)]
    events.append({"event": "done", "step": 100_000})
    write_events(run, *events)
    app = monitor_app(services, run)
    async with app.run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        loss = screen.query_one("#chart-loss", MetricChart)
        await until(pilot, lambda: snapshot_status(app) == "done", timeout=20)
        await pilot.pause()
        assert len(loss.lines[0].series) == 100_000
        assert 0 < loss.points_drawn <= loss.size.width
