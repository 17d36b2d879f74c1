"""Every linear module name a model has, with a checkbox each and what LoRA adds per name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection


class LayerRow(Protocol):
    """What the table needs from `lorawiz.core.inspect.LinearLayer`."""

    name: str
    group: str
    count: int
    in_features: int
    out_features: int

    def lora_params(self, r: int) -> int: ...


COLUMNS = (("module", 16), ("group", 10), ("count", 6), ("shape", 14), ("LoRA params", 12))


def row_text(layer: LayerRow, r: int | None) -> str:
    """One aligned row; LoRA params shows "—" while r is not a valid rank."""
    params = f"{layer.lora_params(r):,}" if r else "—"
    cells = (
        layer.name,
        layer.group,
        str(layer.count),
        f"{layer.in_features}×{layer.out_features}",
        params,
    )
    return " ".join(
        cell.ljust(width) if i < 2 else cell.rjust(width)
        for i, (cell, (_, width)) in enumerate(zip(cells, COLUMNS, strict=True))
    )


def header_text() -> str:
    return " ".join(
        title.ljust(width) if i < 2 else title.rjust(width)
        for i, (title, width) in enumerate(COLUMNS)
    )


class LayerTable(Vertical):
    """A header and one checkbox row per module name; all on by default.

    Space, Enter or a click toggles a row. Posts `LayerTable.TargetsChanged` on every change,
    from the user or from `select_only`.
    """

    DEFAULT_CSS = """
    LayerTable {
        height: auto;
        max-height: 16;
    }
    LayerTable > #layer-header {
        padding: 0 0 0 6;
        color: $text-muted;
        text-style: bold;
    }
    LayerTable > SelectionList {
        height: auto;
        max-height: 14;
    }
    """

    class TargetsChanged(Message):
        """The set of checked module names changed."""

        def __init__(self, table: LayerTable, selected: tuple[str, ...]) -> None:
            super().__init__()
            self.table = table
            self.selected = selected

        @property
        def control(self) -> LayerTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: tuple[LayerRow, ...] = ()
        self.r: int | None = 8

    def compose(self) -> ComposeResult:
        yield Static(header_text(), id="layer-header")
        yield SelectionList[str](id="layer-list")

    @property
    def options(self) -> SelectionList[str]:
        return self.query_one("#layer-list", SelectionList)

    @property
    def selected(self) -> tuple[str, ...]:
        chosen = set(self.options.selected)
        return tuple(layer.name for layer in self.rows if layer.name in chosen)

    def show(self, layers: Sequence[LayerRow], r: int | None, selected: Iterable[str]) -> None:
        """Replace the rows; `selected` names are checked."""
        self.rows = tuple(layers)
        self.r = r
        self._fill(set(selected))

    def set_r(self, r: int | None) -> None:
        """Redraw the LoRA-params column for a new rank (the checks are kept)."""
        if r == self.r:
            return
        self.r = r
        self._fill(set(self.options.selected))

    def _fill(self, chosen: set[str]) -> None:
        options = self.options
        highlighted = options.highlighted
        with options.prevent(SelectionList.SelectedChanged):
            options.clear_options()
            options.add_options(
                Selection(row_text(layer, self.r), layer.name, layer.name in chosen)
                for layer in self.rows
            )
        if highlighted is not None and highlighted < len(self.rows):
            options.highlighted = highlighted

    def select_only(self, names: Iterable[str]) -> None:
        wanted = set(names)
        options = self.options
        with options.prevent(SelectionList.SelectedChanged):
            for layer in self.rows:
                if layer.name in wanted:
                    options.select(layer.name)
                else:
                    options.deselect(layer.name)
        self.post_message(self.TargetsChanged(self, self.selected))

    @on(SelectionList.SelectedChanged, "#layer-list")
    def _selection_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        self.post_message(self.TargetsChanged(self, self.selected))
