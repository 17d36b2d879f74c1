"""Step 5, Review: the session as TOML, the equivalent command, Save and Launch."""

from __future__ import annotations

import shlex

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static

from lorawiz.screens.draft import Draft


def train_command(draft: Draft) -> str:
    """The `lorawiz train` line that runs this session headless."""
    if draft.path is not None:
        return f"lorawiz train {shlex.quote(str(draft.path))} --detach"
    return "lorawiz train SESSION.toml --detach   # save first (ctrl+s) to get the file"


class ReviewStep(VerticalScroll):
    DEFAULT_CSS = """
    ReviewStep .row { height: auto; margin-bottom: 1; }
    ReviewStep .row Button { margin-right: 1; }
    ReviewStep #review-problems { color: $error; height: auto; }
    ReviewStep #review-toml { border: round $panel; height: auto; padding: 0 1; }
    ReviewStep #review-command { height: auto; padding: 0 1; background: $boost; }
    """

    def compose(self) -> ComposeResult:
        yield Label("[b]Review[/b]  The session file and the command that runs it without the UI.")
        with Horizontal(classes="row"):
            yield Button("Save (ctrl+s)", id="save")
            yield Button("Launch (ctrl+l)", id="launch", variant="success")
        yield Static("", id="review-problems")
        yield Label("Equivalent command:")
        yield Static("", id="review-command")
        yield Static("", id="review-toml")

    def show(self, draft: Draft) -> None:
        problems = "\n".join(f"✗ {loc or 'session'}: {msg}" for loc, msg in draft.problems.items())
        self.query_one("#review-problems", Static).update(problems)
        if draft.session is not None:
            toml = draft.session.to_toml()
        else:
            import tomli_w

            try:
                toml = tomli_w.dumps(_drop_none(draft.raw))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                toml = repr(draft.raw)
        from rich.syntax import Syntax

        self.toml = toml
        syntax = Syntax(toml, "toml", background_color="default")
        self.query_one("#review-toml", Static).update(syntax)
        self.query_one("#review-command", Static).update(train_command(draft))
        self.query_one("#launch", Button).disabled = draft.session is None


def _drop_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value
