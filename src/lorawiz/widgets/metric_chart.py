"""The one chart widget of the monitor: a few metric lines over steps.

Everything that draws a curve goes through `MetricChart`, so swapping textual-plotext for
Textual's Sparkline (or anything else) touches this file only. Lines are downsampled to the
widget's width before plotting: a 100,000-step run costs the same redraw as a 200-step one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual_plotext import PlotextPlot

from lorawiz.core.monitor_state import Series, downsample


@dataclass(frozen=True)
class ChartLine:
    """One curve: a label for the legend, the series, and an optional plotext colour."""

    label: str
    series: Series
    color: str | None = None


class MetricChart(PlotextPlot):
    """Draws `lines` (set the attribute; it redraws) with a title and a y-axis label."""

    DEFAULT_CSS = """
    MetricChart {
        height: 1fr;
        min-height: 8;
        border: round $panel;
        border-title-color: $text-muted;
    }
    """

    lines: reactive[tuple[ChartLine, ...]] = reactive((), always_update=True, layout=False)

    def __init__(
        self,
        title: str,
        *,
        ylabel: str = "",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = title
        self.ylabel = ylabel
        self.points_drawn = 0
        """How many points the last redraw plotted (tests check the downsampling)."""

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        width = max(10, self.size.width - 12)  # the y-axis labels take ~12 cells
        drawn = 0
        has_data = False
        for line in self.lines:
            xs, ys = downsample(line.series.steps, line.series.values, width)
            if not xs:
                continue
            has_data = True
            drawn += len(xs)
            if line.color:
                plt.plot(xs, ys, label=line.label, marker="hd", color=line.color)
            else:
                plt.plot(xs, ys, label=line.label, marker="hd")
        self.points_drawn = drawn
        if not has_data:
            return Text("waiting for the first logged step…", style="dim")
        plt.xlabel("step")
        if self.ylabel:
            plt.ylabel(self.ylabel)
        return super().render()
