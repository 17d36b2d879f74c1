"""The reusable widgets on their own: share text, field parsing, layer rows, the chart."""

from __future__ import annotations

from textual.app import App, ComposeResult

from lorawiz.core.monitor_state import Series
from lorawiz.screens.step_layers import preset_names, share_counts, targets_for
from lorawiz.widgets.form_field import format_value, parse_value
from lorawiz.widgets.layer_table import LayerTable, row_text
from lorawiz.widgets.metric_chart import ChartLine, MetricChart
from lorawiz.widgets.share_bar import ShareBar, share_text
from lorawiz.widgets.stepper import Stepper
from test_tui_support import llama_7b


def test_share_text_and_counts() -> None:
    inspection = llama_7b()
    counts = share_counts(inspection, "all-linear", 8)
    assert counts is not None
    assert share_text(*counts) == "19,988,480 of 6.74 B trainable — 0.296%"
    assert share_counts(inspection, "all-linear", 0) is None
    assert share_counts(inspection, ["nope"], 8) is None  # unknown names: no number, no crash
    assert share_counts(None, "all-linear", 8) is None


def test_presets_and_targets() -> None:
    inspection = llama_7b()
    assert preset_names(inspection, "qv") == ["q_proj", "v_proj"]
    assert preset_names(inspection, "attention") == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert len(preset_names(inspection, "all")) == 7
    assert targets_for(inspection, tuple(preset_names(inspection, "all"))) == "all-linear"
    assert targets_for(inspection, ("q_proj",)) == ["q_proj"]


def test_field_parsing() -> None:
    assert parse_value("16", "int") == 16
    assert parse_value("1e3", "int") == 1000
    assert parse_value("2e-4", "float") == 2e-4
    assert parse_value("fast", "float") == "fast"  # validation says why
    assert format_value(2e-4) == "0.0002" and format_value(None) == ""


def test_layer_row_text() -> None:
    q = llama_7b().layers[0]
    row = row_text(q, 8)
    assert row.startswith("q_proj") and "4096×4096" in row and "2,097,152" in row
    assert row_text(q, None).rstrip().endswith("—")


class WidgetsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Stepper(["Model", "Layers", "Data"])
        yield ShareBar()
        yield LayerTable()
        yield MetricChart("loss", id="chart")


async def test_widgets_render_at_a_fixed_size() -> None:
    app = WidgetsApp()
    async with app.run_test(size=(80, 30)) as pilot:
        inspection = llama_7b()
        table = app.query_one(LayerTable)
        table.show(inspection.layers, 8, ["q_proj"])
        app.query_one(ShareBar).counts = share_counts(inspection, ["q_proj"], 8)
        steps = tuple(float(s) for s in range(1, 5001))
        chart = app.query_one(MetricChart)
        chart.lines = (ChartLine("loss", Series("loss", steps, tuple(1 / s for s in steps))),)
        app.query_one(Stepper).with_problems = frozenset({1})
        await pilot.pause()
        assert table.selected == ("q_proj",)
        assert 0 < chart.points_drawn <= 80
        svg = app.export_screenshot()
    for text in ("Layers", "trainable", "q_proj", "step"):
        assert text in svg


def test_step_axis_ticks_are_whole_round_steps() -> None:
    from lorawiz.widgets.metric_chart import step_ticks

    assert step_ticks(1, 2) == [1, 2]
    assert step_ticks(1, 13) == [1, 5, 10]
    assert step_ticks(1, 60) == [1, 20, 40, 60]
    assert step_ticks(1, 100_000) == [1, 20_000, 40_000, 60_000, 80_000, 100_000]
    assert step_ticks(1, 7) == [2, 4, 6]
    assert step_ticks(5, 5) == [5]
    assert step_ticks(3.5, 3.7) == []
