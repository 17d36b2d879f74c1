"""The one chart widget of the monitor: a few metric lines over steps.

Everything that draws a curve goes through `MetricChart`, so swapping textual-plotext for
Textual's Sparkline (or anything else) touches this file only. Lines are downsampled to the
widget's width before plotting: a 100,000-step run costs the same redraw as a 200-step one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual_plotext import PlotextPlot

from lorawiz.core.monitor_state import Series, downsample


def step_ticks(first: float, last: float, most: int = 6) -> list[int]:
    """Whole-number ticks for a step axis from `first` to `last`, at most `most`, on a round
    gap (1, 2, 5, 10, 20, 50 …): the axis never reads 1.25 or 4.5 steps."""
    lo, hi = math.ceil(first), math.floor(last)
    if hi <= lo:
        return [lo] if hi == lo else []
    gap, scale = 1, 1
    while (hi - lo) / gap > most - 1:
        for factor in (2, 5, 10):
            gap = factor * scale
            if (hi - lo) / gap <= most - 1:
                break
        scale *= 10
    ticks = list(range(math.ceil(lo / gap) * gap, hi + 1, gap))
    if not ticks or ticks[0] - lo >= gap * 0.75:
        ticks.insert(0, lo)  # the first step logged, unless a round tick sits right by it
    return ticks[:most]


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
        first, last = math.inf, -math.inf
        for line in self.lines:
            xs, ys = downsample(line.series.steps, line.series.values, width)
            if not xs:
                continue
            has_data = True
            drawn += len(xs)
            first, last = min(first, xs[0]), max(last, xs[-1])
            if line.color:
                plt.plot(xs, ys, label=line.label, marker="hd", color=line.color)
            else:
                plt.plot(xs, ys, label=line.label, marker="hd")
        self.points_drawn = drawn
        if not has_data:
            return Text("waiting for the first logged step…", style="dim")
        plt.xticks([float(tick) for tick in step_ticks(first, last)])
        plt.xlabel("step")
        if self.ylabel:
            plt.ylabel(self.ylabel)
        return super().render()
