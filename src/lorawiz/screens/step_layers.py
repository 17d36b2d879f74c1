"""Step 2, Layers: which linear modules LoRA wraps, its rank, and the live trainable share."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static

from lorawiz.widgets.form_field import FormField
from lorawiz.widgets.layer_table import LayerTable
from lorawiz.widgets.share_bar import ShareBar

ATTENTION_GROUP = "attention"
CLASSIC = ("q_proj", "v_proj", "query", "value")


def preset_names(inspection: Any, preset: str) -> list[str]:
    """Module names of a preset: "all" (all linear), "attention", or "qv" (classic LoRA)."""
    names = [layer.name for layer in inspection.layers]
    if preset == "attention":
        return [layer.name for layer in inspection.layers if layer.group == ATTENTION_GROUP]
    if preset == "qv":
        return [name for name in names if name in CLASSIC]
    return names


def targets_for(inspection: Any, selected: tuple[str, ...]) -> str | list[str]:
    """ "all-linear" when every module is checked (the session's shorthand), else the names."""
    if inspection is not None and len(selected) == len(inspection.layers):
        return "all-linear"
    return list(selected)


def share_counts(inspection: Any, targets: Any, r: Any) -> tuple[int, int, float] | None:
    """(trainable, total, share) for the share bar, or None while r or targets are invalid."""
    if inspection is None or not isinstance(r, int) or isinstance(r, bool) or r <= 0:
        return None
    if not targets:
        return (0, inspection.total_params, 0.0)
    try:
        trainable = inspection.trainable_params(targets, r)
        share = inspection.trainable_share(targets, r)
    except Exception:  # unknown module names typed into a session file
        return None
    return (int(trainable), int(inspection.total_params), float(share))


class LayersStep(VerticalScroll):
    DEFAULT_CSS = """
    LayersStep .row { height: auto; }
    LayersStep .row Button { margin-right: 1; }
    LayersStep #targets-problem { color: $error; height: auto; }
    LayersStep #layers-note { color: $text-muted; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Label(
            "[b]Which layers does LoRA adapt?[/b]  QLoRA adapts all linear layers.", classes="lead"
        )
        yield ShareBar(id="share")
        with Horizontal(classes="row"):
            yield Button("All linear", id="preset-all")
            yield Button("Attention only", id="preset-attention")
            yield Button("q,v only (classic LoRA)", id="preset-qv")
        yield Static("Inspect the model on the Model step to list its layers.", id="layers-note")
        yield LayerTable(id="layers")
        yield Static("", id="targets-problem")
        with Horizontal(classes="row"):
            yield FormField("r (rank)", "lora.r", "int", tooltip="SFT defaults to 8, DPO to 16")
            yield FormField("alpha", "lora.alpha", "float", tooltip="update scaled by alpha / r")
            yield FormField("dropout", "lora.dropout", "float", tooltip="0 to <1")

    def show_inspection(self, inspection: Any, r: Any, targets: Any) -> None:
        if targets == "all-linear" or not isinstance(targets, list):
            selected = [layer.name for layer in inspection.layers]
        else:
            selected = [name for name in targets if isinstance(name, str)]
        self.query_one("#layers-note", Static).update(
            f"{len(inspection.layers)} module names in {inspection.source}; space or click "
            "toggles a row."
        )
        table = self.query_one(LayerTable)
        table.show(inspection.layers, r if isinstance(r, int) and r > 0 else None, selected)

    def update_share(self, inspection: Any, targets: Any, r: Any) -> None:
        self.query_one(ShareBar).counts = share_counts(inspection, targets, r)
        if inspection is not None:
            self.query_one(LayerTable).set_r(r if isinstance(r, int) and r > 0 else None)

    def show_targets_problem(self, message: str | None) -> None:
        self.query_one("#targets-problem", Static).update(message or "")
