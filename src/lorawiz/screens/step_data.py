"""Step 3, Data: demo-sft, demo-dpo, a file or a hub id; format, preview rows, token lengths."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Label, LoadingIndicator, Static

from lorawiz.widgets.form_field import FormField

NEEDS = {
    "sft": (
        "SFT reads [b]instruction[/] + [b]input[/] + [b]output[/] (Alpaca), [b]messages[/] "
        "(chat), [b]prompt[/] + [b]completion[/], or a [b]text[/] column."
    ),
    "dpo": (
        "DPO needs preference data: [b]prompt[/], [b]chosen[/] and [b]rejected[/] columns "
        "(try demo-dpo)."
    ),
}
CELL_WIDTH = 40


def cell(value: Any) -> str:
    text = str(value).replace("\n", "⏎ ")
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def stats_text(stats: Any) -> str:
    return (
        f"tokens per example over {stats.rows:,} rows: min {stats.min:,} · median "
        f"{stats.median:,} · p95 {stats.p95:,} · max {stats.max:,} "
        f"(max_length {stats.max_length:,})"
    )


def truncation_warning(stats: Any) -> str:
    if not stats.truncated:
        return ""
    return (
        f"⚠ {stats.truncated:,} of {stats.rows:,} rows are longer than max_length "
        f"{stats.max_length:,} and will be truncated; raise max_length on the Training step."
    )


class DataStep(VerticalScroll):
    DEFAULT_CSS = """
    DataStep .row { height: auto; }
    DataStep .row Button { margin-right: 1; }
    DataStep #data-progress { height: 1; display: none; }
    DataStep.-loading #data-progress { display: block; }
    DataStep #data-rows { height: auto; max-height: 10; }
    DataStep #truncation-warning { color: $warning; height: auto; }
    DataStep #data-error { color: $error; height: auto; }
    DataStep #data-needs { color: $text-muted; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Label(
            "[b]Which data?[/b]  A .json/.jsonl/.csv/.parquet file, a hub id, or a demo.",
            classes="lead",
        )
        with Horizontal(classes="row"):
            yield Button("demo-sft", id="data-demo-sft")
            yield Button("demo-dpo", id="data-demo-dpo")
            yield Button("Preview", id="preview", variant="primary")
        yield FormField("Dataset", "data.source", placeholder="demo-sft, data.jsonl or org/name")
        yield Static("", id="data-needs")
        yield LoadingIndicator(id="data-progress")
        yield Static("", id="data-error")
        yield Static("", id="data-format")
        yield DataTable(id="data-rows", zebra_stripes=True, cursor_type="row")
        yield Static("", id="token-stats")
        yield Static("", id="truncation-warning")

    def show_method(self, method: str) -> None:
        self.query_one("#data-needs", Static).update(NEEDS.get(method, ""))

    def show_loading(self, source: str) -> None:
        self.add_class("-loading")
        self.query_one("#data-error", Static).update("")
        self.query_one("#data-format", Static).update(f"Reading {source}…")

    def show_preview(self, preview: Any) -> None:
        count = f"{preview.num_rows:,} rows" if preview.num_rows is not None else "rows: ?"
        self.query_one("#data-format", Static).update(
            f"format [b]{preview.format}[/b] · {count} · columns {', '.join(preview.columns)}"
        )
        table = self.query_one("#data-rows", DataTable)
        table.clear(columns=True)
        rows = [
            [cell(row.get(column, "")) for column in preview.columns]
            if isinstance(row, dict)
            else [cell(value) for value in row]
            for row in preview.rows
        ]
        # Explicit widths: auto widths are settled on idle, and a frame drawn before that
        # can stay on screen with every column cut to its title.
        for index, column in enumerate(preview.columns):
            width = max([len(column), *(len(row[index]) for row in rows if index < len(row))])
            table.add_column(column, width=width)
        table.add_rows(rows)
        self.query_one("#token-stats", Static).update("Counting tokens…")
        self.query_one("#truncation-warning", Static).update("")

    def show_stats(self, stats: Any) -> None:
        self.remove_class("-loading")
        self.query_one("#token-stats", Static).update(stats_text(stats))
        self.query_one("#truncation-warning", Static).update(truncation_warning(stats))

    def show_error(self, message: str) -> None:
        self.remove_class("-loading")
        self.query_one("#data-error", Static).update(message)
        self.query_one("#token-stats", Static).update("")

    def show_stats_error(self, message: str) -> None:
        self.remove_class("-loading")
        self.query_one("#token-stats", Static).update(f"token lengths: {message}")
