"""Small modal dialogs: confirm, save a session under a name, open a saved session."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

DIALOG_CSS = """
{name} {{
    align: center middle;
}}
{name} > Vertical {{
    width: 72;
    max-width: 90%;
    height: auto;
    border: thick $primary 80%;
    background: $surface;
    padding: 1 2;
}}
{name} .buttons {{
    height: auto;
    align-horizontal: right;
    margin-top: 1;
}}
{name} .buttons Button {{
    margin-left: 1;
}}
{name} OptionList {{
    height: auto;
    max-height: 12;
}}
"""


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; dismisses with True for yes. Escape means no."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "answer(False)", "Cancel")]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button(self.no, id="no")
                yield Button(self.yes, id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class SaveSessionScreen(ModalScreen[str | None]):
    """Asks for a session name (saved in the sessions folder) or a path ending in .toml."""

    DEFAULT_CSS = DIALOG_CSS.format(name="SaveSessionScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, suggestion: str) -> None:
        super().__init__()
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Save the session as (a name, or a path ending in .toml):")
            yield Input(self.suggestion, id="save-name")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#save-name")
    def _save(self) -> None:
        name = self.query_one("#save-name", Input).value.strip()
        if name:
            self.dismiss(name)


class OpenSessionScreen(ModalScreen[Path | None]):
    """Pick a saved session, or type a path to any session file."""

    DEFAULT_CSS = DIALOG_CSS.format(name="OpenSessionScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        from lorawiz.core.session import list_sessions

        saved = list_sessions()
        with Vertical():
            yield Label("Open a saved session:" if saved else "No saved sessions yet.")
            if saved:
                yield OptionList(
                    *(Option(f"{s.name}  [dim]{s.path}[/]", id=str(s.path)) for s in saved),
                    id="saved-sessions",
                )
            yield Label("…or a session file:")
            yield Input(placeholder="path/to/session.toml", id="open-path")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Open", id="open", variant="primary")

    def on_mount(self) -> None:
        for options in self.query("#saved-sessions").results(OptionList):
            options.highlighted = 0
            options.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#saved-sessions")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(Path(event.option.id))

    @on(Button.Pressed, "#open")
    @on(Input.Submitted, "#open-path")
    def _open(self) -> None:
        text = self.query_one("#open-path", Input).value.strip()
        if text:
            self.dismiss(Path(text).expanduser())
