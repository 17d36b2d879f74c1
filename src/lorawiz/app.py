"""The Textual App: the wizard and the monitor screens, global bindings, and the run-tail worker.

The App owns the one reader of a run's `events.jsonl` (a thread worker, as in memray's live
view): it folds events into a `RunFold` and posts frozen `RunSnapshot`s, which replace each
other in the queue when the UI is busy (toolong's coalescing). Screens only watch
`run_snapshot`. Nothing here imports torch, transformers or peft: the core calls that do are in
`CoreServices`, imported inside each call, and run from workers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import get_current_worker

from lorawiz.core.monitor_state import RunFold, RunSnapshot, tail_lines

if TYPE_CHECKING:
    from lorawiz.core.session import Session
    from lorawiz.screens.draft import Draft

LOG_TAIL_LINES = 200


class CoreServices:
    """The core calls the UI makes, each importing its module when called.

    Tests hand the App a fake with the same methods (memray's MockReader idea), so the UI is
    tested without torch or a training process.
    """

    def inspect_model(self, source: str, trust_remote_code: bool = False) -> Any:
        from lorawiz.core.inspect import inspect_model

        return inspect_model(source, trust_remote_code=trust_remote_code)

    def preview_data(self, source: str, method: str) -> Any:
        from lorawiz.core.data import preview

        return preview(source, method, n=5)

    def token_stats(self, source: str, method: str, model: str, max_length: int) -> Any:
        from transformers import AutoTokenizer

        from lorawiz.core.data import token_length_stats
        from lorawiz.core.demo import DEMO_MODEL, resolve_model_source

        path = resolve_model_source(model) if model == DEMO_MODEL else model
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        return token_length_stats(source, method, tokenizer, max_length)

    def detect_devices(self) -> list[Any]:
        from lorawiz.core.devices import detect_devices

        return list(detect_devices())

    def launch(self, session: Session) -> Path:
        from lorawiz.core.runs import launch

        return launch(session)

    def resume(self, run_dir: Path) -> Path:
        from lorawiz.core.runs import resume

        return resume(run_dir)

    def stop(self, run_dir: Path) -> None:
        from lorawiz.core.runs import stop

        stop(run_dir)

    def list_runs(self) -> list[Any]:
        from lorawiz.core.runs import list_runs

        return list(list_runs())

    def process_alive(self, run_dir: Path, pid: int | None) -> bool | None:
        """Whether the run's process still runs; None when it cannot be told."""
        from lorawiz.core.runs import process_alive

        return process_alive(run_dir)


class LorawizApp(App[None]):
    """`lorawiz`: opens the wizard (or the monitor, or the runs list) as told."""

    TITLE = "lorawiz"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Hidden: each screen shows its own Quit (`q` on the monitor and runs list).
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        Binding("ctrl+r", "runs", "Runs"),
    ]

    run_snapshot: reactive[RunSnapshot | None] = reactive(None, always_update=True)
    """The newest state of the monitored run; the monitor screen watches it."""

    class RunTailed(Message):
        """The reader thread saw the run change; only the newest one matters."""

        def __init__(self, snapshot: RunSnapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LorawizApp.RunTailed)

    def __init__(
        self,
        *,
        draft: Draft | None = None,
        monitor: Path | None = None,
        runs_list: bool = False,
        inspect_on_start: bool = False,
        services: CoreServices | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        super().__init__()
        self.services = services or CoreServices()
        self.start_draft = draft
        self.start_monitor = monitor
        self.start_runs = runs_list
        self.inspect_on_start = inspect_on_start
        self.poll_interval = poll_interval
        self.tailing: Path | None = None

    def on_mount(self) -> None:
        if self.start_monitor is not None:
            self.open_monitor(self.start_monitor)
        elif self.start_runs:
            from lorawiz.screens.runs import RunsScreen

            self.push_screen(RunsScreen())
        else:
            self.open_wizard(self.start_draft, inspect=self.inspect_on_start)

    # ------------------------------------------------------------------ navigation

    def open_wizard(self, draft: Draft | None = None, *, inspect: bool = False) -> None:
        from lorawiz.screens.draft import Draft
        from lorawiz.screens.wizard import WizardScreen

        if draft is None:
            draft = Draft.deferred()
        self.push_screen(WizardScreen(draft, inspect=inspect))

    def open_monitor(self, run_dir: Path) -> None:
        from lorawiz.screens.monitor import MonitorScreen

        self.watch_run(run_dir)
        self.push_screen(MonitorScreen(run_dir))

    def action_runs(self) -> None:
        from lorawiz.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    async def action_quit(self) -> None:
        from lorawiz.screens.dialogs import ConfirmScreen
        from lorawiz.screens.wizard import WizardScreen

        dirty = any(
            isinstance(screen, WizardScreen) and screen.draft.dirty for screen in self.screen_stack
        )
        if not dirty:
            self.exit_politely()
            return

        def answered(leave: bool | None) -> None:
            if leave:
                self.exit_politely()

        self.push_screen(
            ConfirmScreen(
                "The session has unsaved changes. Quit without saving?",
                yes="Quit without saving",
                no="Stay",
            ),
            answered,
        )

    def exit_politely(self) -> None:
        """Exit; when a run is live, say that it keeps training and how to come back."""
        snapshot = self.run_snapshot
        if snapshot is not None and snapshot.is_live:
            self.exit(
                message=(
                    f"Training continues in the background. "
                    f"Reattach with: lorawiz monitor {snapshot.run_dir}"
                )
            )
        else:
            self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Runs", "Pick a run to watch or reattach to", self.action_runs)
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            yield from commands()

    # ------------------------------------------------------------------ the run tail

    def watch_run(self, run_dir: Path) -> None:
        """Start (or switch) the one reader of a run's events."""
        self.tailing = run_dir
        self.run_snapshot = RunFold(run_dir).snapshot()
        self._tail_run(run_dir)

    @work(thread=True, exclusive=True, group="run-tail", exit_on_error=False)
    def _tail_run(self, run_dir: Path) -> None:
        from lorawiz.core.events import EVENTS_FILE, EventReader

        worker = get_current_worker()
        reader = EventReader(run_dir / EVENTS_FILE)
        fold = RunFold(run_dir)
        log_path = run_dir / "train.log"
        last_status = ""
        last_log_size = -1
        quiet_since = time.monotonic()
        checked = 0.0
        alive: bool | None = None
        tail: list[str] = []
        while not worker.is_cancelled:
            changed = fold.add(reader.read_new())
            now = time.monotonic()
            if changed:
                quiet_since = now
                alive = alive or None  # a run that writes events is not dead
            # Ask whether the process lives only when the run has gone quiet: a run that writes
            # events is alive, and the question costs a process-table lookup.
            quiet = now - quiet_since > 3.0 or fold.attempts == 0
            if fold.terminal is None and quiet and now - checked > 3.0:
                checked = now
                alive = self._process_alive(run_dir, fold.pid)
            try:
                log_size = log_path.stat().st_size
            except OSError:
                log_size = -1
            status = fold.status(alive)
            if changed or log_size != last_log_size or status != last_status:
                last_log_size = log_size
                last_status = status
                tail = tail_lines(log_path, LOG_TAIL_LINES)
                self.post_message(self.RunTailed(fold.snapshot(process_alive=alive, log_tail=tail)))
            elif status == "running":
                # Elapsed time keeps moving even when no step finished.
                self.post_message(self.RunTailed(fold.snapshot(process_alive=alive, log_tail=tail)))
            # Poll slower once the run has ended; a resume brings it back.
            pause = self.poll_interval * (1 if fold.terminal is None else 4)
            deadline = time.monotonic() + pause
            while not worker.is_cancelled and time.monotonic() < deadline:
                time.sleep(min(0.05, pause))

    def _process_alive(self, run_dir: Path, pid: int | None) -> bool | None:
        try:
            return self.services.process_alive(run_dir, pid)
        except Exception:  # a status read must never kill the reader
            return None

    @on(RunTailed)
    def _run_tailed(self, message: RunTailed) -> None:
        if self.tailing is not None and message.snapshot.run_dir == str(self.tailing):
            self.run_snapshot = message.snapshot
