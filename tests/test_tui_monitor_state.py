"""The monitor's pure arithmetic: folding events, status, ETA, resume, downsampling."""

from __future__ import annotations

from pathlib import Path

import pytest

from lorawiz.core.monitor_state import (
    CRASHED,
    DONE,
    FAILED,
    RUNNING,
    STOPPED,
    WAITING,
    RunFold,
    downsample,
    format_bytes,
    format_count,
    format_duration,
    session_info,
    steps_per_second,
    tail_lines,
)
from test_tui_support import log_events


def start(t: float = 1000.0, **fields: object) -> dict:
    return {"event": "start", "time": t, "max_steps": 100, "method": "sft", **fields}


def test_fold_series_progress_eta_and_done() -> None:
    fold = RunFold("run")
    assert fold.snapshot(now=0).status == WAITING
    fold.add([start(), *log_events(1, 40)])  # one step per second
    snap = fold.snapshot(now=1040.0)
    assert snap.status == RUNNING
    assert snap.step == 40 and snap.max_steps == 100 and snap.progress == 0.4
    assert len(snap.get("loss")) == 40 and snap.get("loss").last == pytest.approx(2 / 40)
    assert snap.steps_per_s == pytest.approx(1.0)
    assert snap.eta == pytest.approx(60.0)
    assert snap.elapsed == pytest.approx(40.0)
    fold.add([{"event": "done", "time": 1041.0, "step": 40, "adapter": "a", "peak_memory": 2048}])
    done = fold.snapshot(now=5000.0)
    assert done.status == DONE and done.eta is None and done.adapter == "a"
    assert done.elapsed == pytest.approx(41.0)  # the clock stops with the run
    assert done.memory == 2048


@pytest.mark.parametrize(
    ("last", "alive", "status"),
    [
        ({"event": "stopped", "step": 5, "checkpoint": "c"}, None, STOPPED),
        ({"event": "error", "message": "CUDA OOM", "traceback": "tb"}, None, FAILED),
        (None, False, CRASHED),
        (None, None, RUNNING),
    ],
)
def test_status(last: dict | None, alive: bool | None, status: str) -> None:
    fold = RunFold("run")
    fold.add([start(), *log_events(1, 5)])
    if last:
        fold.add([{"time": 1006.0, **last}])
    snap = fold.snapshot(process_alive=alive)
    assert snap.status == status
    if status == FAILED:
        assert snap.error == "CUDA OOM" and snap.traceback == "tb"


def test_resume_drops_the_steps_logged_after_the_checkpoint() -> None:
    fold = RunFold("run")
    fold.add([start(), *log_events(1, 30)])  # crashed at 30, last checkpoint at 20
    fold.add([start(t=2000.0, resumed_from=20), *log_events(21, 25, t0=2000.0)])
    snap = fold.snapshot(now=2025.0)
    loss = snap.get("loss")
    assert loss.steps == tuple(float(s) for s in range(1, 26))
    assert snap.resumed_from == 20 and snap.attempts == 2 and snap.step == 25
    assert snap.elapsed == pytest.approx(30 + 25)


def test_snapshots_are_cached_until_a_series_changes() -> None:
    fold = RunFold("run")
    fold.add([start(), *log_events(1, 3)])
    first = fold.snapshot()
    assert fold.snapshot().get("loss") is first.get("loss")
    fold.add(log_events(4, 4))
    assert len(fold.snapshot().get("loss")) == 4


def test_downsample_keeps_at_most_width_points_and_the_level() -> None:
    steps = [float(i) for i in range(100_000)]
    values = [1.0 if i % 2 else 3.0 for i in range(100_000)]
    xs, ys = downsample(steps, values, 80)
    assert len(xs) == len(ys) == 80
    assert all(y == pytest.approx(2.0, abs=1e-3) for y in ys)
    assert xs == sorted(xs)
    assert downsample(steps[:10], values[:10], 80) == (steps[:10], values[:10])
    assert downsample([], [], 80) == ([], [])


def test_small_helpers(tmp_path: Path) -> None:
    assert steps_per_second([(0.0, 0), (10.0, 5)]) == 0.5
    assert steps_per_second([(0.0, 0)]) is None
    assert format_duration(3725) == "1:02:05" and format_duration(65) == "1:05"
    assert format_duration(None) == "—"
    assert format_bytes(3 * 2**30) == "3.0 GiB"
    assert format_count(6_738_415_616) == "6.74 B"
    log = tmp_path / "train.log"
    log.write_text("".join(f"line {i}\n" for i in range(5000)) + "10%\r50%\r90%\n")
    tail = tail_lines(log, 3)
    assert tail == ["line 4998", "line 4999", "90%"]
    assert tail_lines(tmp_path / "missing.log") == []


def test_waiting_run_shows_its_frozen_session(tmp_path: Path) -> None:
    """Before the child's start event, method, model and max_steps come from session.toml."""
    (tmp_path / "session.toml").write_text(
        'version = 1\nmethod = "dpo"\n[model]\nname = "demo"\n[train]\nmax_steps = 16\n'
    )
    assert session_info(tmp_path / "session.toml") == {
        "method": "dpo",
        "model": "demo",
        "max_steps": 16,
    }
    assert session_info(tmp_path / "missing.toml") == {}
    fold = RunFold(tmp_path)
    waiting = fold.snapshot()
    assert (waiting.status, waiting.method, waiting.model, waiting.max_steps) == (
        WAITING,
        "dpo",
        "demo",
        16,
    )
    fold.add([start(max_steps=20)])
    assert fold.snapshot().max_steps == 20  # the start event wins
