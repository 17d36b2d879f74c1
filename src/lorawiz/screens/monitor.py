"""The monitor: live loss panels of one run, fed by the App's reader through `run_snapshot`.

Quitting never stops the run. Stop asks first and stops gracefully (the child finishes its step,
saves a checkpoint and the adapter); Resume continues a stopped or crashed run in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Log, ProgressBar, Static

from lorawiz.core.monitor_state import (
    CRASHED,
    DONE,
    FAILED,
    RUNNING,
    STOPPED,
    WAITING,
    RunSnapshot,
    format_bytes,
    format_duration,
)
from lorawiz.widgets.metric_chart import ChartLine, MetricChart

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lorawiz.app import LorawizApp

SHORT_SCREEN = 32
"""Rows below which the monitor gives the log fewer lines (80x24 still shows the charts)."""

STATUS_STYLE = {
    WAITING: "$text-muted",
    RUNNING: "$accent",
    DONE: "$success",
    STOPPED: "$warning",
    FAILED: "$error",
    CRASHED: "$error",
}
STATUS_WORDS = {
    WAITING: "starting (loading the model)",
    RUNNING: "running",
    DONE: "done",
    STOPPED: "stopped",
    FAILED: "failed",
    CRASHED: "crashed (the process is gone without a last event)",
}


def stats_markup(snapshot: RunSnapshot) -> str:
    style = STATUS_STYLE.get(snapshot.status, "")
    steps = (
        f"{snapshot.step:,}/{snapshot.max_steps:,}" if snapshot.max_steps else f"{snapshot.step:,}"
    )
    rate = f"{snapshot.steps_per_s:.2f}" if snapshot.steps_per_s else "—"
    resumed = (
        f" · resumed from {snapshot.resumed_from}" if snapshot.resumed_from is not None else ""
    )
    about = [snapshot.method.upper() or "?", snapshot.model or "?"]
    about.append(f"device {snapshot.device}" if snapshot.device else "device …")
    if snapshot.trainable_params:
        about.append(f"{snapshot.trainable_params:,} trainable")
    if snapshot.memory:
        about.append(f"memory {format_bytes(snapshot.memory)}")
    return (
        f"[b {style}]{STATUS_WORDS.get(snapshot.status, snapshot.status)}[/]{resumed}\n"
        f"step {steps} · {rate} steps/s\n"
        f"elapsed {format_duration(snapshot.elapsed)} · ETA {format_duration(snapshot.eta)}\n"
        + _escape(" · ".join(about))
    )


def last_values(snapshot: RunSnapshot) -> str:
    parts = []
    for name in ("loss", "learning_rate", "grad_norm", "margins", "accuracies"):
        value = snapshot.get(name).last
        if value is not None:
            parts.append(f"{name} {value:.4g}")
    return " · ".join(parts) or "no logged step yet"


class MonitorScreen(Screen[None]):
    """Loss chart, learning rate, grad norm, progress, speed, status and the log tail."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "stop", "Stop run"),
        Binding("r", "resume", "Resume"),
        Binding("l", "runs", "Runs"),
        Binding("w", "wizard", "Wizard"),
        Binding("q", "app.quit", "Quit (run continues)"),
    ]

    DEFAULT_CSS = """
    MonitorScreen #top { height: auto; padding: 0 1; }
    MonitorScreen #stats { width: 1fr; height: auto; }
    MonitorScreen #actions { width: auto; height: auto; }
    MonitorScreen #actions Button { margin: 0 0 0 1; min-width: 10; }
    MonitorScreen ProgressBar { padding: 0 1; width: 1fr; }
    MonitorScreen ProgressBar Bar { width: 1fr; }
    MonitorScreen #charts { grid-size: 2; grid-columns: 2fr 1fr; height: 1fr; }
    MonitorScreen #side-charts { height: 1fr; }
    MonitorScreen #chart-loss { row-span: 1; }
    MonitorScreen #chart-rewards { display: none; }
    MonitorScreen.-dpo #chart-rewards { display: block; }
    MonitorScreen #error {
        color: $error; height: auto; max-height: 8; padding: 0 1; display: none;
    }
    MonitorScreen.-error #error { display: block; }
    MonitorScreen #log { height: 8; border: round $panel; }
    MonitorScreen #hint { color: $text-muted; padding: 0 1; height: 1; }
    MonitorScreen.-short #log { height: 4; }
    MonitorScreen.-short #hint { display: none; }
    """

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.log_lines: tuple[str, ...] = ()
        self.snapshot: RunSnapshot | None = None

    @property
    def lorawiz(self) -> LorawizApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            yield Static("", id="stats")
            with Vertical(id="actions"):
                yield Button("Stop", id="stop", variant="error", compact=True)
                yield Button("Resume", id="resume", variant="success", compact=True)
                yield Button("Runs", id="runs", compact=True)
        yield ProgressBar(id="progress", show_eta=False)
        yield Static("", id="error")
        with Grid(id="charts"):
            with Vertical():
                yield MetricChart("loss", id="chart-loss")
                yield MetricChart("DPO rewards: margins · accuracies", id="chart-rewards")
            with Vertical(id="side-charts"):
                yield MetricChart("learning rate", id="chart-lr")
                yield MetricChart("grad norm", id="chart-grad")
        yield Log(id="log", max_lines=500)
        yield Static(
            f"Quitting never stops training; reattach with: lorawiz monitor {self.run_dir}",
            id="hint",
        )
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        # A short terminal keeps the charts tall: fewer log lines, and the footer's
        # "Quit (run continues)" stands in for the reattach hint.
        self.set_class(event.size.height < SHORT_SCREEN, "-short")

    def on_mount(self) -> None:
        self.sub_title = str(self.run_dir)
        self.watch(self.app, "run_snapshot", self.show_snapshot)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Stop run", "Stop gracefully (asks first)", self.action_stop)
        yield SystemCommand("Resume run", "Continue from the last checkpoint", self.action_resume)
        yield SystemCommand(
            "Back to the wizard", "Edit or start another session", self.action_wizard
        )

    def show_snapshot(self, snapshot: RunSnapshot | None) -> None:
        if snapshot is None or snapshot.run_dir != str(self.run_dir):
            return
        self.snapshot = snapshot
        self.query_one("#stats", Static).update(
            stats_markup(snapshot) + "\n" + last_values(snapshot)
        )
        progress = self.query_one(ProgressBar)
        progress.update(total=snapshot.max_steps, progress=snapshot.step)
        dpo = snapshot.method == "dpo" or len(snapshot.get("margins")) > 0
        self.set_class(dpo, "-dpo")
        loss_lines = [ChartLine("loss", snapshot.get("loss"))]
        self.query_one("#chart-loss", MetricChart).lines = tuple(loss_lines)
        if dpo:
            self.query_one("#chart-rewards", MetricChart).lines = (
                ChartLine("margins", snapshot.get("margins")),
                ChartLine("accuracies", snapshot.get("accuracies")),
            )
        self.query_one("#chart-lr", MetricChart).lines = (
            ChartLine("lr", snapshot.get("learning_rate")),
        )
        self.query_one("#chart-grad", MetricChart).lines = (
            ChartLine("grad norm", snapshot.get("grad_norm")),
        )
        failed = snapshot.status in (FAILED, CRASHED)
        self.set_class(failed, "-error")
        if snapshot.status == FAILED:
            self.query_one("#error", Static).update(
                f"✗ {_escape(snapshot.error or '')}\n[dim]{_last_lines(snapshot.traceback, 5)}[/]"
                "\nFix the cause, then Resume (r) from the last checkpoint."
            )
        elif snapshot.status == CRASHED:
            self.query_one("#error", Static).update(
                "✗ The training process is gone without a last event (killed, or out of memory). "
                "Resume (r) continues from the last checkpoint; see the log below."
            )
        self.query_one("#stop", Button).disabled = not snapshot.is_live
        self.query_one("#resume", Button).disabled = snapshot.status not in (
            STOPPED,
            CRASHED,
            FAILED,
        )
        if snapshot.log_tail and snapshot.log_tail != self.log_lines:
            self._show_log(snapshot.log_tail)

    def _show_log(self, lines: tuple[str, ...]) -> None:
        log = self.query_one(Log)
        old = self.log_lines
        # Append only what is new when the tail just grew; otherwise redraw the tail.
        if old and lines[: len(old)] == old:
            log.write_lines(lines[len(old) :])
        else:
            overlap = _overlap(old, lines)
            if overlap:
                log.write_lines(lines[overlap:])
            else:
                log.clear()
                log.write_lines(lines)
        self.log_lines = lines

    # ------------------------------------------------------------------ actions

    @on(Button.Pressed, "#stop")
    def action_stop(self) -> None:
        snapshot = self.snapshot
        if snapshot is not None and not snapshot.is_live:
            self.notify("The run is not running.", severity="warning")
            return
        from lorawiz.screens.dialogs import ConfirmScreen

        def answered(stop: bool | None) -> None:
            if stop:
                self.stop_run()

        self.app.push_screen(
            ConfirmScreen(
                "Stop this run? It finishes the current step, saves a checkpoint and the "
                "adapter; Resume continues it later.",
                yes="Stop the run",
                no="Keep training",
            ),
            answered,
        )

    @work(thread=True, group="run-control", exit_on_error=False)
    def stop_run(self) -> None:
        try:
            self.lorawiz.services.stop(self.run_dir)
        except Exception as exc:
            self.app.call_from_thread(
                self.notify, _message(exc), title="Stop failed", severity="error"
            )
            return
        self.app.call_from_thread(self.notify, "Stopping after the current step…")

    @on(Button.Pressed, "#resume")
    def action_resume(self) -> None:
        snapshot = self.snapshot
        if snapshot is not None and snapshot.status not in (STOPPED, CRASHED, FAILED):
            self.notify("Only a stopped, failed or crashed run can be resumed.", severity="warning")
            return
        self.resume_run()

    @work(thread=True, group="run-control", exit_on_error=False)
    def resume_run(self) -> None:
        try:
            run_dir = self.lorawiz.services.resume(self.run_dir)
        except Exception as exc:
            self.app.call_from_thread(
                self.notify, _message(exc), title="Resume failed", severity="error"
            )
            return
        self.app.call_from_thread(self._resumed, Path(run_dir))

    def _resumed(self, run_dir: Path) -> None:
        self.notify("Resumed from the last checkpoint.")
        self.lorawiz.watch_run(run_dir)

    @on(Button.Pressed, "#runs")
    def action_runs(self) -> None:
        self.lorawiz.action_runs()

    def action_wizard(self) -> None:
        from lorawiz.screens.wizard import WizardScreen

        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, WizardScreen):
                while self.app.screen is not screen:
                    self.app.pop_screen()
                return
        self.lorawiz.open_wizard()


def _overlap(old: tuple[str, ...], new: tuple[str, ...]) -> int:
    """How many leading lines of `new` the end of `old` already shows."""
    for size in range(min(len(old), len(new)), 0, -1):
        if old[-size:] == new[:size]:
            return size
    return 0


def _last_lines(text: str | None, n: int) -> str:
    if not text:
        return ""
    return _escape("\n".join(text.strip().splitlines()[-n:]))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _message(exc: BaseException) -> str:
    from lorawiz.core.errors import LorawizError

    if isinstance(exc, LorawizError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
