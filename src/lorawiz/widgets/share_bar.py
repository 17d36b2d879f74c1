"""The live "how much will LoRA train" line: exact counts and a bar, from pure arithmetic."""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from lorawiz.core.monitor_state import format_count


def share_text(trainable: int, total: int, share: float) -> str:
    """ "19,988,480 of 6.74 B trainable — 0.297%" (`share` as a fraction)."""
    return f"{trainable:,} of {format_count(total)} trainable — {share * 100:.3f}%"


class ShareBar(Widget):
    """Shows the trainable share; set `counts` to (trainable, total, share) or None."""

    DEFAULT_CSS = """
    ShareBar {
        height: 2;
        padding: 0 1;
    }
    """

    counts: reactive[tuple[int, int, float] | None] = reactive(None)

    def render(self) -> RenderResult:
        if self.counts is None:
            return Content.styled(
                "Inspect a model to see how many parameters LoRA will train.", "dim"
            )
        trainable, total, share = self.counts
        line = share_text(trainable, total, share)
        width = max(10, self.size.width - 2)
        # Shares are tiny (~0.3%); a log-ish scale would lie, so draw at least one cell when > 0.
        filled = min(width, max(1 if trainable else 0, round(share * width)))
        return Content.assemble(
            (line, "bold"), "\n", ("█" * filled, "$accent"), ("░" * (width - filled), "dim")
        )
