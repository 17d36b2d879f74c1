"""Run directories: stop, crash, resume (real short runs) and status logic (fabricated dirs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lorawiz.cli import app
from lorawiz.core import runs
from lorawiz.core.errors import DataError, RunError
from lorawiz.core.events import EventWriter
from test_train_support import demo_session, events_of, lorawiz_cli, wait_for_event

STEPS = 24


def _logged_steps(run_dir: Path) -> list[int]:
    return [e["step"] for e in events_of(run_dir, "log")]


@pytest.mark.slow
def test_stop_saves_checkpoint_then_resume_finishes_every_step(tmp_path: Path) -> None:
    session_file = tmp_path / "s.toml"
    session_file.write_text(
        demo_session("sft", max_steps=STEPS, save_steps=1000).to_toml(), encoding="utf-8"
    )
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", str(session_file), "--run-dir", str(run_dir), "--detach"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(run_dir.absolute())

    wait_for_event(run_dir, "log", step=2)
    assert runs.run_status(run_dir).status == "running"
    listed = json.loads(CliRunner().invoke(app, ["runs", "--json"]).output)
    # --run-dir is outside the default runs folder; the status itself carries the pid.
    assert listed == [] or listed[0]["status"] == "running"
    assert runs.run_status(run_dir).pid is not None

    result = CliRunner().invoke(app, ["stop", str(run_dir)])
    assert result.exit_code == 0, result.output
    status = runs.run_status(run_dir)
    assert status.status == "stopped"
    (stopped,) = events_of(run_dir, "stopped")
    step = stopped["step"]
    assert 2 <= step < STEPS
    assert stopped["checkpoint"] == str(run_dir / f"checkpoint-{step}")
    assert (run_dir / f"checkpoint-{step}" / "trainer_state.json").is_file()
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert _logged_steps(run_dir) == list(range(1, step + 1))

    # Stopping a stopped run is a user mistake: exit 2, one line.
    again = CliRunner().invoke(app, ["stop", str(run_dir)])
    assert again.exit_code == 2 and "not running" in again.output

    # In the foreground, as a user types it: the view must follow the new attempt past the
    # previous attempt's `stopped` (still in the file until the new `start` lands).
    result = CliRunner().invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "done:" in result.output
    final = runs.run_status(run_dir)
    assert final.status == "done", (run_dir / "train.log").read_text()[-3000:]
    starts = events_of(run_dir, "start")
    assert [s.get("resumed_from") for s in starts] == [None, step]
    assert _logged_steps(run_dir) == list(range(1, STEPS + 1))
    assert events_of(run_dir, "done")[0]["step"] == STEPS
    with pytest.raises(RunError, match="nothing to resume"):
        runs.resume(run_dir)


@pytest.mark.slow
def test_sigkill_is_crashed_and_resume_continues_from_checkpoint(tmp_path: Path) -> None:
    run_dir = runs.launch(demo_session("sft", max_steps=STEPS, save_steps=4), tmp_path / "run")
    wait_for_event(run_dir, "checkpoint", step=4)
    pid = runs.run_status(run_dir).pid
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while runs.run_status(run_dir).status == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    crashed = runs.run_status(run_dir)
    assert crashed.status == "crashed"
    assert crashed.pid is None
    newest = runs.newest_checkpoint(run_dir)
    assert newest is not None
    killed_at = max(_logged_steps(run_dir))

    # In the foreground, as a user types it: the view must follow the new attempt past the
    # previous attempt's `stopped` (still in the file until the new `start` lands).
    result = CliRunner().invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "done:" in result.output
    final = runs.run_status(run_dir)
    assert final.status == "done", (run_dir / "train.log").read_text()[-3000:]
    assert events_of(run_dir, "start")[-1]["resumed_from"] == newest[0]
    steps = _logged_steps(run_dir)
    # Steps after the checkpoint and before the kill are logged twice: once lost, once redone.
    assert steps == list(range(1, killed_at + 1)) + list(range(newest[0] + 1, STEPS + 1))
    assert sorted(set(steps)) == list(range(1, STEPS + 1))


@pytest.mark.slow
def test_stop_while_loading_ends_at_once(tmp_path: Path) -> None:
    run_dir = runs.launch(demo_session("sft", max_steps=STEPS), tmp_path / "run", check=False)
    runs.stop(run_dir, timeout=60)
    status = runs.run_status(run_dir)
    assert status.status == "stopped"
    (stopped,) = events_of(run_dir, "stopped")
    assert stopped["step"] == 0 and stopped["checkpoint"] is None


@pytest.mark.slow
def test_second_launch_into_a_live_run_is_refused(tmp_path: Path) -> None:
    session = demo_session("sft", max_steps=STEPS)
    run_dir = runs.launch(session, tmp_path / "run", check=False)
    try:
        before = sorted(p.name for p in run_dir.iterdir())
        with pytest.raises(RunError, match=r"running|starting"):
            runs.launch(session, run_dir, check=False)
        with pytest.raises(RunError, match="still"):
            runs.resume(run_dir)
        assert sorted(p.name for p in run_dir.iterdir()) == before
    finally:
        runs.stop(run_dir, timeout=60)


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_refused_launch_leaves_nothing_and_exits_2_in_one_line(tmp_path: Path) -> None:
    """The child validates; its refusal comes back as the same error, and the folder goes."""
    bad = demo_session("sft", max_steps=4)
    bad = bad.model_copy(
        update={"data": bad.data.model_copy(update={"source": str(tmp_path / "no.jsonl")})}
    )
    run_dir = tmp_path / "deep" / "run"
    with pytest.raises(DataError, match=r"no\.jsonl"):
        runs.launch(bad, run_dir)
    assert not (tmp_path / "deep").exists()  # every folder the launch made is gone again

    empty = tmp_path / "empty"  # a folder the user made: it stays, as empty as it was
    empty.mkdir()
    with pytest.raises(DataError):
        runs.launch(bad, empty)
    assert empty.is_dir() and list(empty.iterdir()) == []

    # The CLI, as a user runs it: exit 2, one line, no traceback, nothing written.
    session_file = tmp_path / "bad.toml"
    session_file.write_text(bad.to_toml(), encoding="utf-8")
    result = lorawiz_cli("train", str(session_file), "--run-dir", str(run_dir), timeout=120)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, output
    assert "\n" not in output and "no.jsonl" in output and "Traceback" not in output, output
    assert not (tmp_path / "deep").exists()


def test_refused_resume_removes_nothing(tmp_path: Path) -> None:
    session = demo_session("sft", max_steps=4)
    session = session.model_copy(
        update={"data": session.data.model_copy(update={"source": str(tmp_path / "gone.jsonl")})}
    )
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / runs.SESSION_FILE).write_text(session.to_toml())
    with EventWriter(run_dir / "events.jsonl") as events:
        events.write("start", max_steps=4)
        events.write("stopped", step=1, checkpoint=None)
    (run_dir / "checkpoint-1").mkdir()
    (run_dir / "checkpoint-1" / "trainer_state.json").write_text("{}")
    kept = {k: v for k, v in _tree(run_dir).items() if k not in (runs.PID_FILE, runs.LOG_FILE)}
    with pytest.raises(DataError, match=r"gone\.jsonl"):
        runs.resume(run_dir)
    after = _tree(run_dir)
    assert {k: v for k, v in after.items() if k in kept} == kept
    assert runs.run_status(run_dir).status == "stopped"


_LAUNCH_AND_LIST_IMPORTS = """
import json, sys
from pathlib import Path
from lorawiz.core import runs
from lorawiz.core.session import load_session
run_dir = runs.launch(load_session(sys.argv[1]), Path(sys.argv[2]))
heavy = sorted(m for m in ("torch", "transformers", "datasets", "peft", "trl") if m in sys.modules)
print(json.dumps({"run_dir": str(run_dir), "heavy": heavy}))
"""


@pytest.mark.slow
def test_launch_imports_nothing_heavy_in_the_parent(tmp_path: Path) -> None:
    """The point of validating in the child: the launcher never pays for torch & co."""
    session_file = tmp_path / "s.toml"
    session_file.write_text(demo_session("sft", max_steps=STEPS).to_toml(), encoding="utf-8")
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", _LAUNCH_AND_LIST_IMPORTS, str(session_file), str(run_dir)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["heavy"] == []
        assert report["run_dir"] == str(run_dir)
        assert runs.run_status(run_dir).status in ("starting", "running")
    finally:
        if runs.run_status(run_dir).active:
            runs.stop(run_dir, timeout=60)
    assert runs.run_status(run_dir).status == "stopped"


# ---------------------------------------------------------------------------- status logic


def _fake_run(folder: Path, *, pid: int | None = None, create_time: float | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / runs.SESSION_FILE).write_text(
        'version = 1\nmethod = "dpo"\n[model]\nname = "demo"\n[train]\nmax_steps = 9\n'
    )
    if pid is not None:
        record = {"pid": pid, "create_time": create_time, "written": 1.0}
        (folder / runs.PID_FILE).write_text(json.dumps(record))
    return folder


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_status_from_events(tmp_path: Path) -> None:
    run_dir = _fake_run(tmp_path / "r", pid=2**22 + 12345)  # a pid that does not exist
    assert runs.run_status(run_dir).status == "crashed"
    with EventWriter(run_dir / "events.jsonl") as events:
        events.write("start", max_steps=7, method="dpo")
        events.write("log", step=1, loss=1.0)
        events.write("log", step=2, loss=0.9)
    status = runs.run_status(run_dir)
    assert (status.status, status.step, status.max_steps, status.method) == ("crashed", 2, 7, "dpo")
    with EventWriter(run_dir / "events.jsonl") as events:
        events.write("error", message="DataError: bad row", traceback="...")
    failed = runs.run_status(run_dir)
    assert (failed.status, failed.error) == ("failed", "DataError: bad row")
    # A torn last line (killed writer) is ignored.
    with open(run_dir / "events.jsonl", "a") as handle:
        handle.write('{"event": "log", "st')
    assert runs.run_status(run_dir).status == "failed"


def test_live_pid_is_running_but_a_reused_pid_is_not(tmp_path: Path) -> None:
    import psutil

    proc = _sleeper()
    try:
        created = psutil.Process(proc.pid).create_time()
        live = _fake_run(tmp_path / "live", pid=proc.pid, create_time=created)
        with EventWriter(live / "events.jsonl") as events:
            events.write("start", max_steps=9)
        status = runs.run_status(live)
        assert (status.status, status.pid) == ("running", proc.pid)
        # Same pid, different process (pid reuse): the run is not alive.
        reused = _fake_run(tmp_path / "reused", pid=proc.pid, create_time=created - 1000)
        assert runs.run_status(reused).status == "crashed"
        assert runs.run_status(reused).pid is None
        # Alive but no start event yet: starting.
        starting = _fake_run(tmp_path / "starting", pid=proc.pid, create_time=created)
        assert runs.run_status(starting).status == "starting"
    finally:
        proc.kill()
        proc.wait()
    assert runs.run_status(live).status == "crashed"


def test_process_alive_reads_no_events(tmp_path: Path) -> None:
    """The live views poll it: it must not depend on (or parse) events.jsonl."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / runs.SESSION_FILE).write_text(demo_session("sft").to_toml(), encoding="utf-8")
    (run_dir / "events.jsonl").write_text("not json\n" * 1000, encoding="utf-8")
    assert not runs.process_alive(run_dir)
    runs.write_pid(run_dir, os.getpid())
    assert runs.process_alive(run_dir)


def test_not_a_run_dir(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="not a lorawiz run directory"):
        runs.run_status(tmp_path)
    with pytest.raises(RunError):
        runs.stop(tmp_path)


def test_stop_refuses_a_finished_run(tmp_path: Path) -> None:
    run_dir = _fake_run(tmp_path / "r")
    with EventWriter(run_dir / "events.jsonl") as events:
        events.write("start", max_steps=9)
        events.write("done", step=9, adapter="x")
    with pytest.raises(RunError, match=r"not running.*done"):
        runs.stop(run_dir)


def test_list_runs_newest_first_and_skips_other_folders(tmp_path: Path) -> None:
    old = _fake_run(tmp_path / "a-old")
    new = _fake_run(tmp_path / "b-new")
    (tmp_path / "not-a-run").mkdir()
    for run_dir, started in ((old, 100.0), (new, 200.0)):
        with open(run_dir / "events.jsonl", "w") as handle:
            handle.write(json.dumps({"event": "start", "time": started, "max_steps": 9}) + "\n")
    assert [s.run_dir for s in runs.list_runs(tmp_path)] == [new, old]
    assert runs.list_runs(tmp_path / "missing") == []


def test_default_run_dir_name(tmp_path: Path) -> None:
    session = demo_session("dpo")
    first = runs.default_run_dir(session, tmp_path)
    assert first.parent == tmp_path
    assert first.name.endswith("-dpo-demo")
    assert len(first.name.split("-")[0]) == 8  # YYYYmmdd
    first.mkdir()
    assert runs.default_run_dir(session, tmp_path).name.startswith(first.name)
    hub = session.model_copy(
        update={"model": session.model.model_copy(update={"name": "org/Tiny-1B"})}
    )
    assert runs.default_run_dir(hub, tmp_path).name.endswith("-dpo-Tiny-1B")


def test_launch_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="non-empty"):
        runs.launch(demo_session("sft"), folder, check=False)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_checkpoints_skip_incomplete_saves(tmp_path: Path) -> None:
    for step, complete in ((5, True), (10, True), (15, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert runs.newest_checkpoint(tmp_path) == (10, tmp_path / "checkpoint-10")
    assert [s for s, _ in runs.checkpoints(tmp_path)] == [5, 10]


def test_runs_launched_elsewhere_are_listed(tmp_path: Path) -> None:
    """`--run-dir` outside the runs folder: `lorawiz runs` still finds it, once, while it exists."""
    elsewhere = tmp_path / "mine" / "run-a"
    elsewhere.mkdir(parents=True)
    (elsewhere / runs.SESSION_FILE).write_text(demo_session("sft").to_toml(), encoding="utf-8")
    runs.remember_run(elsewhere)
    runs.remember_run(elsewhere)
    inside = runs.runs_dir() / "run-b"
    runs.remember_run(inside)  # the runs folder is scanned anyway: not noted
    assert runs.remembered_runs() == [elsewhere]
    assert [s.run_dir for s in runs.list_runs()] == [elsewhere]
    assert runs.list_runs(tmp_path / "nowhere") == []
    shutil.rmtree(elsewhere)
    assert runs.list_runs() == []
