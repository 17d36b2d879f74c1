"""The wizard's visible stepper: Model · Layers · Data · Training · Review."""

from __future__ import annotations

from textual import events
from textual.app import RenderResult
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class Stepper(Widget):
    """Step names with the current one highlighted and steps with problems marked.

    Clicking a step posts `Stepper.StepSelected`; the screen decides whether to go there.
    """

    DEFAULT_CSS = """
    Stepper {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    """

    current: reactive[int] = reactive(0)
    with_problems: reactive[frozenset[int]] = reactive(frozenset())

    class StepSelected(Message):
        """The user clicked a step."""

        def __init__(self, stepper: Stepper, index: int) -> None:
            super().__init__()
            self.stepper = stepper
            self.index = index

        @property
        def control(self) -> Stepper:
            return self.stepper

    def __init__(self, steps: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.steps = steps

    def render(self) -> RenderResult:
        parts: list[tuple[str, str]] = []
        for index, name in enumerate(self.steps):
            if index:
                parts.append(("  ·  ", "dim"))
            label = f"{index + 1} {name}"
            if index in self.with_problems:
                label += " !"
            if index == self.current:
                style = "bold reverse"
            elif index in self.with_problems:
                style = "bold $error"
            elif index < self.current:
                style = "$success"
            else:
                style = "$text-muted"
            parts.append((f" {label} ", style))
        return Content.assemble(*parts)

    def step_at(self, x: int) -> int | None:
        """Which step the cell column `x` falls on."""
        position = 1  # padding
        for index, name in enumerate(self.steps):
            if index:
                position += 5
            width = len(f" {index + 1} {name} ") + (2 if index in self.with_problems else 0)
            if position <= x < position + width:
                return index
            position += width
        return None

    def on_click(self, event: events.Click) -> None:
        index = self.step_at(event.x)
        if index is not None:
            self.post_message(self.StepSelected(self, index))
