"""`lorawiz runs`, `lorawiz stop` and `lorawiz sessions`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lorawiz.core import runs
from lorawiz.core.paths import runs_dir

STATUS_STYLE = {
    "running": "green",
    "starting": "green",
    "done": "bold",
    "stopped": "yellow",
    "failed": "red",
    "crashed": "red",
}


def run_list(json_out: bool) -> None:
    found = runs.list_runs()
    if json_out:
        print(json.dumps([status.to_json() for status in found], indent=2))
        return
    console = Console()
    if not found:
        console.print(f"no runs yet in {runs_dir()}; start one with `lorawiz train SESSION`")
        return
    table = Table(box=None, header_style="bold")
    for column in ("status", "step", "method", "model", "started", "run dir"):
        # The run dir is what people copy into `monitor`/`stop`/`resume`: fold it, never cut it.
        if column == "run dir":
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, no_wrap=True)
    for status in found:
        started = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(status.started))
            if status.started
            else ""
        )
        steps = f"{status.step}/{status.max_steps}" if status.max_steps else str(status.step)
        label = status.status + (f" (pid {status.pid})" if status.pid else "")
        table.add_row(
            f"[{STATUS_STYLE.get(status.status, '')}]{label}[/]",
            steps,
            status.method,
            status.model,
            started,
            str(status.run_dir),
        )
    console.print(table)


def run_stop(run_dir: Path, timeout: float = 120.0) -> None:
    err = Console(stderr=True)
    runs.stop(run_dir)
    err.print(f"stopping {run_dir}: finishing the current step, then saving a checkpoint…")
    try:
        status = runs.wait(run_dir, timeout)
    except TimeoutError:
        err.print("still finishing its step; `lorawiz runs` shows when it has stopped")
        return
    if status.status == "stopped":
        err.print(f"stopped at step {status.step}; `lorawiz resume {run_dir}` continues it")
    else:
        err.print(f"the run ended: {status.status} at step {status.step}")


def run_sessions(json_out: bool) -> None:
    from lorawiz.core.session import list_sessions

    found = list_sessions()
    if json_out:
        print(
            json.dumps(
                [{"name": s.name, "path": str(s.path), "modified": s.modified} for s in found],
                indent=2,
            )
        )
        return
    console = Console()
    if not found:
        console.print("no saved sessions; the wizard saves them, or `lorawiz train FILE.toml`")
        return
    table = Table(box=None, header_style="bold")
    for column in ("name", "modified", "path"):
        table.add_column(column)
    for s in found:
        modified = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.modified))
        table.add_row(s.name, modified, str(s.path))
    console.print(table)
