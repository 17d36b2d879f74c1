"""`lorawiz train` and `lorawiz resume`: launch the child, then follow it in a live view.

The child always runs detached (its own session), so this view is only a tail of
`events.jsonl`: Ctrl-C asks the child to stop gracefully (SIGTERM) and keeps showing it until it
has saved its checkpoint; a second Ctrl-C leaves the view and the run finishes on its own.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from lorawiz.core import runs
from lorawiz.core.errors import RunError
from lorawiz.core.events import DONE, ERROR, LOG, START, STOPPED, EventReader

SPARK = "▁▂▃▄▅▆▇█"
EXIT_OK, EXIT_FAILED = 0, 1


def run_train(session: str, *, run_dir: Path | None, detach: bool) -> int:
    from lorawiz.core.session import load_session

    loaded = load_session(session)
    path = runs.launch(loaded, run_dir)
    return _after_launch(path, detach, f"{loaded.method} on {loaded.model.name}")


def run_resume(run_dir: Path, *, detach: bool) -> int:
    path = runs.resume(run_dir)
    return _after_launch(path, detach, "resumed")


def _after_launch(path: Path, detach: bool, what: str) -> int:
    if detach:
        err = Console(stderr=True)
        err.print(f"training {what} in the background; `lorawiz monitor {path}` follows it")
        print(path, flush=True)  # the last line: scripts take the run dir from here
        return EXIT_OK
    return follow(path)


def sparkline(values: list[float], width: int = 40) -> str:
    """A one-line chart of the last `width` values (flat input draws a flat line)."""
    values = values[-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    if span <= 0:
        return SPARK[3] * len(values)
    return "".join(SPARK[min(7, int((v - low) / span * 7.999))] for v in values)


@dataclass
class LiveState:
    """What the live view shows, folded from events."""

    method: str = "sft"
    max_steps: int | None = None
    step: int = 0
    device: str = ""
    trainable: int | None = None
    total: int | None = None
    losses: list[float] = field(default_factory=list)
    margins: list[float] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)
    first_step_at: tuple[int, float] | None = None
    """(step, time) of the first log since the latest start: the ETA's baseline."""
    last_time: float | None = None
    note: str = ""
    terminal: dict[str, Any] | None = None

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == START:
            self.method = str(event.get("method", self.method))
            self.max_steps = event.get("max_steps", self.max_steps)
            self.device = str(event.get("device", ""))
            self.trainable = event.get("trainable_params")
            self.total = event.get("total_params")
            self.step = int(event.get("resumed_from") or 0)
            self.first_step_at = None
            self.terminal = None
        elif kind == LOG:
            self.step = int(event.get("step", self.step))
            self.last = event
            if isinstance(event.get("loss"), (int, float)):
                self.losses.append(float(event["loss"]))
            if isinstance(event.get("rewards/margins"), (int, float)):
                self.margins.append(float(event["rewards/margins"]))
            if self.first_step_at is None:
                self.first_step_at = (self.step, float(event["time"]))
            self.last_time = float(event["time"])
        elif kind in (DONE, STOPPED, ERROR):
            self.terminal = event
            if isinstance(event.get("step"), int):
                self.step = event["step"]

    def eta(self) -> float | None:
        if self.first_step_at is None or self.last_time is None or not self.max_steps:
            return None
        first_step, first_time = self.first_step_at
        done = self.step - first_step
        if done <= 0:
            return None
        return (self.last_time - first_time) / done * (self.max_steps - self.step)

    def status(self) -> str:
        """What the events alone say while the process lives."""
        return "running" if self.device else "starting"

    def render(self, status: str) -> Group:
        total = self.max_steps or 0
        header = Text.assemble(
            (f"{self.method.upper()} ", "bold"),
            (f"{status}", "cyan"),
            f"  step {self.step}/{total or '?'}",
        )
        eta = self.eta()
        if eta is not None and status == "running":
            header.append(f"  ETA {_duration(eta)}")
        if self.device:
            header.append(f"  on {self.device}", style="dim")
        bar = ProgressBar(total=float(total or 1), completed=float(self.step), width=50)
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_row("progress", bar)
        if self.trainable and self.total:
            share = self.trainable / (self.total + self.trainable)
            table.add_row("trainable", f"{self.trainable:,} of {self.total:,} ({share:.3%})")
        loss = self.last.get("loss")
        if loss is not None:
            table.add_row("loss", f"{loss:.4f}  {sparkline(self.losses)}")
        lr = self.last.get("learning_rate")
        if lr is not None:
            table.add_row("learning rate", f"{lr:.3g}")
        margin = self.last.get("rewards/margins")
        if margin is not None:
            accuracy = self.last.get("rewards/accuracies")
            extra = f"  accuracy {accuracy:.2f}" if accuracy is not None else ""
            table.add_row("reward margin", f"{margin:+.4f}{extra}  {sparkline(self.margins)}")
        parts: list[Any] = [header, table]
        if self.note:
            parts.append(Text(self.note, style="yellow"))
        return Group(*parts)


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def log_line(event: dict[str, Any], max_steps: int | None) -> str | None:
    """One plain line per event, for a terminal that is not interactive (CI, a pipe)."""
    kind = event.get("event")
    if kind == START:
        resumed = event.get("resumed_from")
        where = f", resumed from step {resumed}" if resumed is not None else ""
        return f"start: {event.get('method')} on {event.get('device')}{where}"
    if kind == LOG:
        parts = [f"step {event.get('step')}/{max_steps or '?'}"]
        for key, label in (
            ("loss", "loss"),
            ("learning_rate", "lr"),
            ("rewards/margins", "margin"),
        ):
            if isinstance(event.get(key), (int, float)):
                parts.append(f"{label} {event[key]:.4g}")
        return "  ".join(parts)
    return None


def _caught_up(
    state: LiveState, reader: EventReader, run_dir: Path, echo: Console | None = None
) -> bool:
    """Fold the new events into `state` (printing each as a line to `echo`); True once the
    process has ended. Each poll reads only what was appended, so a 100,000-step run costs no
    more to follow than a short one. The end is the process's, not a terminal event's: a
    resumed run's file still holds the previous attempt's `stopped` until its new `start`."""
    alive = runs.process_alive(run_dir)  # asked first: no event written before the end is missed
    for event in reader.read_new():
        state.add(event)
        if echo is not None:
            line = log_line(event, state.max_steps)
            if line:
                echo.print(line, highlight=False)
    return not alive


def follow(run_dir: Path, poll: float = 0.25) -> int:
    """Show the run live until it ends; return 0 for done/stopped, 1 for failed/crashed."""
    console = Console()
    if not console.is_terminal:
        return _follow_plain(console, run_dir, poll)
    reader = EventReader(runs.events_path(run_dir))
    state = LiveState()
    stopping = False
    with Live(state.render(state.status()), console=console, refresh_per_second=4) as live:
        while True:
            try:
                if _caught_up(state, reader, run_dir):
                    status = runs.run_status(run_dir)  # once, for the last frame and summary
                    live.update(state.render(status.status))
                    break
                live.update(state.render(state.status()))
                time.sleep(poll)
            except KeyboardInterrupt:
                if stopping:
                    live.stop()
                    console.print(
                        f"left the view; the run is still stopping. `lorawiz runs` shows it: "
                        f"{run_dir}"
                    )
                    return EXIT_OK
                stopping = True
                state.note = "stopping: finishing the current step, then saving a checkpoint…"
                with contextlib.suppress(RunError):  # it may have ended on its own meanwhile
                    runs.stop(run_dir)
    return _summary(console, run_dir, status)


def _follow_plain(console: Console, run_dir: Path, poll: float) -> int:
    reader = EventReader(runs.events_path(run_dir))
    state = LiveState()
    stopping = False
    while True:
        try:
            ended = _caught_up(state, reader, run_dir, console)
            if ended:
                status = runs.run_status(run_dir)
                break
            time.sleep(poll)
        except KeyboardInterrupt:
            if stopping:
                console.print(f"left; the run is still stopping: {run_dir}")
                return EXIT_OK
            stopping = True
            console.print("stopping: finishing the current step, then saving a checkpoint…")
            with contextlib.suppress(RunError):
                runs.stop(run_dir)
    return _summary(console, run_dir, status)


def _summary(console: Console, run_dir: Path, status: runs.RunStatus) -> int:
    if status.status == "done":
        console.print(f"done: {status.step} steps; adapter in {run_dir / runs.ADAPTER_DIR}")
        return EXIT_OK
    if status.status == "stopped":
        console.print(
            f"stopped at step {status.step}/{status.max_steps}; "
            f"continue with `lorawiz resume {run_dir}`"
        )
        return EXIT_OK
    if status.status == "failed":
        console.print(
            f"[red]failed:[/red] {status.error}; details in {run_dir / runs.LOG_FILE}",
            highlight=False,
        )
        return EXIT_FAILED
    console.print(
        f"[red]crashed[/red] at step {status.step} (the process ended without a word); see "
        f"{run_dir / runs.LOG_FILE}, and `lorawiz resume {run_dir}` continues it",
        highlight=False,
    )
    return EXIT_FAILED
