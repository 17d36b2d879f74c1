"""The runs list: every run with its status; Enter reattaches the monitor to it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

if TYPE_CHECKING:
    from lorawiz.app import LorawizApp

COLUMNS = ("run", "status", "step", "method", "model", "started")


def run_row(run: Any) -> tuple[str, ...]:
    import datetime

    steps = f"{run.step}/{run.max_steps}" if run.max_steps else str(run.step or 0)
    started = ""
    if isinstance(run.started, int | float):
        started = datetime.datetime.fromtimestamp(run.started).strftime("%Y-%m-%d %H:%M")
    elif run.started:
        started = str(run.started)
    return (Path(run.run_dir).name, run.status, steps, run.method or "", run.model or "", started)


class RunsScreen(Screen[None]):
    """Pick any run to watch; `lorawiz monitor` without an argument opens here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f5", "refresh_runs", "Refresh"),
        Binding("w", "wizard", "Wizard"),
        Binding("q", "app.quit", "Quit"),
    ]

    DEFAULT_CSS = """
    RunsScreen #runs-note { padding: 0 1; color: $text-muted; height: auto; }
    RunsScreen DataTable { height: 1fr; }
    """

    @property
    def lorawiz(self) -> LorawizApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading runs…", id="runs-note")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "runs"
        self.load_runs()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # nothing to go back to when `lorawiz monitor` opened here
            return len(self.app.screen_stack) > 2
        return True

    def action_refresh_runs(self) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def load_runs(self) -> None:
        try:
            runs = self.lorawiz.services.list_runs()
        except Exception as exc:
            self.app.call_from_thread(self._show_error, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show_runs, runs)

    def _show_runs(self, runs: list[Any]) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        rows = [run_row(run) for run in runs]
        # Explicit widths: auto widths are settled on idle, and a frame drawn before that
        # can stay on screen with every column cut to its title.
        for index, title in enumerate(COLUMNS):
            table.add_column(title, width=max([len(title), *(len(row[index]) for row in rows)]))
        for run, row in zip(runs, rows, strict=True):
            table.add_row(*row, key=str(run.run_dir))
        note = self.query_one("#runs-note", Static)
        if runs:
            note.update("Enter opens a run's live panels (quitting them never stops the run).")
            table.focus()
        else:
            note.update("No runs yet. Launch one from the wizard (w).")

    def _show_error(self, message: str) -> None:
        self.query_one("#runs-note", Static).update(f"Cannot list runs: {message}")

    @on(DataTable.RowSelected)
    def _picked(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.lorawiz.open_monitor(Path(event.row_key.value))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_wizard(self) -> None:
        from lorawiz.screens.wizard import WizardScreen

        if any(isinstance(s, WizardScreen) for s in self.app.screen_stack):
            self.app.pop_screen()
        else:
            self.lorawiz.open_wizard()
