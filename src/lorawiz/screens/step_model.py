"""Step 1, Model: a local folder, a hub id, `demo` or a recent model; inspected in a worker."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Label, LoadingIndicator, OptionList, Static
from textual.widgets.option_list import Option

from lorawiz.core.monitor_state import format_count
from lorawiz.widgets.form_field import FormField


def summary_text(inspection: Any) -> str:
    """What the user needs to know about an inspected model, in a few lines."""
    groups: dict[str, int] = {}
    for layer in inspection.layers:
        groups[layer.group] = groups.get(layer.group, 0) + layer.count
    layers = ", ".join(f"{count} {group}" for group, count in groups.items())
    excluded = ", ".join(inspection.excluded) if inspection.excluded else "none"
    return (
        f"[b]{inspection.architecture}[/b]  (model_type [b]{inspection.model_type}[/b])\n"
        f"{inspection.total_params:,} parameters ({format_count(inspection.total_params)})\n"
        f"{len(inspection.layers)} linear module names — {layers}\n"
        f"excluded from all-linear: {excluded}"
    )


class ModelStep(VerticalScroll):
    """The first screen: pick a model, see it inspected; recent sessions on the right."""

    DEFAULT_CSS = """
    ModelStep #model-columns { height: auto; }
    ModelStep #model-main { width: 2fr; height: auto; }
    ModelStep #model-side { width: 1fr; height: auto; padding-left: 2; }
    ModelStep .row { height: auto; }
    ModelStep .row Button { margin-right: 1; min-width: 11; }
    ModelStep #inspect-progress { height: 1; display: none; }
    ModelStep.-inspecting #inspect-progress { display: block; }
    ModelStep #model-summary { margin-top: 1; padding: 0 1; border: round $panel; height: auto; }
    ModelStep OptionList { height: auto; max-height: 8; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="model-columns"):
            with Vertical(id="model-main"):
                yield Label(
                    "[b]Which model?[/b]  A local folder, a Hugging Face hub id, or demo.",
                    classes="lead",
                )
                yield FormField("Model", "model.name", placeholder="demo, ./my-model or org/name")
                with Horizontal(classes="row"):
                    yield Button("Use demo", id="use-demo")
                    yield Button("Inspect", id="inspect", variant="primary")
                    yield Checkbox("trust remote code", id="trust-remote-code")
                yield LoadingIndicator(id="inspect-progress")
                yield Static("", id="inspect-status")
                yield Static("Not inspected yet.", id="model-summary")
            # Filled by `set_recent` once the saved sessions are read, after the first frame:
            # two option lists are a good share of the first screen's styling and layout.
            yield Vertical(id="model-side")

    def set_recent(self, models: list[str], sessions: list[tuple[str, str]]) -> None:
        model_options = [Option(name, id=name) for name in models] or [Option("demo", "demo")]
        if sessions:
            session_options = [Option(name, id=path) for name, path in sessions]
        else:
            session_options = [Option("[dim]none saved yet (ctrl+s saves)[/]", disabled=True)]
        recent = next(self.query("#recent-models").results(OptionList), None)
        if recent is None:
            self.query_one("#model-side", Vertical).mount_all(
                [
                    Label("[b]Recent models[/b]"),
                    OptionList(*model_options, id="recent-models"),
                    Label("[b]Recent sessions[/b]"),
                    OptionList(*session_options, id="recent-sessions"),
                    Button("Open session… (ctrl+o)", id="open-session"),
                ]
            )
            return
        recent.clear_options()
        recent.add_options(model_options)
        saved = self.query_one("#recent-sessions", OptionList)
        saved.clear_options()
        saved.add_options(session_options)

    def show_inspecting(self, name: str) -> None:
        self.add_class("-inspecting")
        self.query_one("#inspect-status", Static).update(
            f"Inspecting [b]{name}[/b]… (the first inspection loads torch: a few seconds)"
        )

    def show_inspection(self, inspection: Any) -> None:
        self.remove_class("-inspecting")
        self.query_one("#inspect-status", Static).update(f"Inspected [b]{inspection.source}[/b].")
        self.query_one("#model-summary", Static).update(summary_text(inspection))

    def show_error(self, message: str) -> None:
        self.remove_class("-inspecting")
        self.query_one("#inspect-status", Static).update(f"[$error]{message}[/]")
        self.query_one("#model-summary", Static).update("Not inspected.")
