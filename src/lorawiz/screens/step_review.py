"""Step 5, Review: the session as TOML, the equivalent command, Save and Launch."""

from __future__ import annotations

import shlex
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static

from lorawiz.screens.draft import Draft
from lorawiz.screens.step_layers import share_counts
from lorawiz.widgets.share_bar import share_text


def summary_text(draft: Draft, inspection: Any = None) -> str:
    """What will run, in one line (markup): method, model, LoRA, data, length; then the
    trainable share once the model is inspected."""

    def shown(loc: str, default: Any = None) -> str:
        return _escape(str(draft.get(loc, default)))

    method = "DPO" if draft.method == "dpo" else "SFT"
    targets = draft.get("lora.targets")
    if isinstance(targets, list):
        targets_text = _escape(", ".join(str(t) for t in targets) or "nothing")
    else:
        targets_text = shown("lora.targets")
    if draft.get("train.max_steps"):
        length = f"{shown('train.max_steps')} steps"
    else:
        length = f"{shown('train.epochs')} epochs"
    line = (
        f"[b]{method}[/b] on [b]{shown('model.name')}[/b] ({shown('model.quantization', 'nf4')})"
        f" · LoRA r={shown('lora.r')} on {targets_text} · data [b]{shown('data.source')}[/b]"
        f" · {length} on {shown('train.device', 'auto')}"
    )
    counts = share_counts(inspection, targets, draft.get("lora.r"))
    if counts is not None:
        line += "\n" + share_text(*counts)
    return line


def train_command(draft: Draft) -> str:
    """The `lorawiz train` line that runs this session headless."""
    if draft.path is not None:
        return f"lorawiz train {shlex.quote(str(draft.path))} --detach"
    return "lorawiz train SESSION.toml --detach   # save first (ctrl+s) to get the file"


class ReviewStep(VerticalScroll):
    DEFAULT_CSS = """
    ReviewStep .row { height: auto; margin-bottom: 1; }
    ReviewStep .row Button { margin-right: 1; }
    ReviewStep #review-problems { color: $error; height: auto; margin-bottom: 1; }
    ReviewStep #review-problems.-empty { display: none; }
    ReviewStep #review-summary { height: auto; margin-bottom: 1; }
    ReviewStep #review-toml { border: round $panel; height: auto; padding: 0 1; }
    ReviewStep #review-command { height: auto; padding: 0 1; background: $boost; }
    """

    def compose(self) -> ComposeResult:
        yield Label(
            "[b]Review[/b]  The session file and the command that runs it without the UI.",
            classes="lead",
        )
        with Horizontal(classes="row"):
            yield Button("Save (ctrl+s)", id="save")
            yield Button("Launch (ctrl+l)", id="launch", variant="success")
        yield Static("", id="review-problems")
        yield Static("", id="review-summary")
        yield Label("Equivalent command:")
        yield Static("", id="review-command")
        yield Static("", id="review-toml")

    def show(self, draft: Draft, inspection: Any = None) -> None:
        problems = "\n".join(f"✗ {loc or 'session'}: {msg}" for loc, msg in draft.problems.items())
        shown = self.query_one("#review-problems", Static)
        shown.update(_escape(problems))
        shown.set_class(not problems, "-empty")
        self.query_one("#review-summary", Static).update(summary_text(draft, inspection))
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


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _drop_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value
