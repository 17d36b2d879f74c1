"""A labelled input bound to one session field ("lora.r"), with its problem shown under it."""

from __future__ import annotations

from typing import Any, Literal

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Label, Static

Kind = Literal["int", "float", "str"]


def parse_value(text: str, kind: Kind) -> Any:
    """The typed value when `text` parses, else the text itself (validation then says why)."""
    text = text.strip()
    if kind == "str":
        return text
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        if kind == "float":
            return text
        try:  # "1e3" for an integer field
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else text


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class FormField(Vertical):
    """Posts `FormField.Edited` on every keystroke; set `problem` to show a message under it."""

    DEFAULT_CSS = """
    FormField {
        height: auto;
        width: 1fr;
        min-width: 16;
        padding: 0 1 0 0;
    }
    FormField > Label {
        color: $text-muted;
    }
    FormField > .problem {
        color: $error;
        height: auto;
        display: none;
    }
    FormField.-invalid > .problem {
        display: block;
    }
    FormField.-invalid > Input {
        border: tall $error;
    }
    """

    problem: reactive[str | None] = reactive(None, init=False)

    class Edited(Message):
        """The user changed the field's text; `value` is typed when it parses."""

        def __init__(self, field: FormField, value: Any) -> None:
            super().__init__()
            self.field = field
            self.value = value

        @property
        def control(self) -> FormField:
            return self.field

    def __init__(
        self,
        label: str,
        loc: str,
        kind: Kind = "str",
        *,
        optional: bool = False,
        placeholder: str = "",
        tooltip: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id or "field-" + loc.replace(".", "-"))
        self.label = label
        self.loc = loc
        self.kind: Kind = kind
        self.optional = optional
        self.placeholder = placeholder
        if tooltip:
            self.tooltip = tooltip

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield Input(placeholder=self.placeholder, id=self.id + "-input" if self.id else None)
        yield Static("", classes="problem")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def parse(self, text: str) -> Any:
        if self.optional and not text.strip():
            return None
        return parse_value(text, self.kind)

    @property
    def value(self) -> Any:
        return self.parse(self.input.value)

    def set_value(self, value: Any) -> None:
        """Show `value` without posting `Edited` (the change came from the session)."""
        text = format_value(value)
        if self.input.value != text:
            with self.input.prevent(Input.Changed):
                self.input.value = text

    def watch_problem(self, problem: str | None) -> None:
        self.set_class(problem is not None, "-invalid")
        self.query_one(".problem", Static).update(problem or "")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Edited(self, self.parse(event.value)))
