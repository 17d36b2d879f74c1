"""`lorawiz inspect MODEL`: the linear layers LoRA can adapt and the exact trainable share."""

from __future__ import annotations

import json
import sys

from lorawiz.core.inspect import ModelInspection, check_rank, inspect_model


def human_count(n: int) -> str:
    """6738415616 -> "6.74B", 124439808 -> "124M", 51200 -> "51.2K"."""
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            value = n / size
            return f"{value:.3g}{unit}"
    return str(n)


def share_line(inspection: ModelInspection, targets: str, r: int) -> str:
    """ "19,988,480 of 6.74B trainable — 0.2958%" (peft's trainable%, of base + LoRA)."""
    trainable = inspection.trainable_params(targets, r)
    share = inspection.trainable_share(targets, r)
    return f"{trainable:,} of {human_count(inspection.total_params)} trainable — {100 * share:.4g}%"


def run_inspect(
    model: str,
    *,
    r: int,
    alpha: float,
    targets: str,
    json_out: bool,
    trust_remote_code: bool,
) -> None:
    """Inspect `model` and print a table (or, with `json_out`, one JSON object on stdout)."""
    check_rank(r)
    inspection = inspect_model(model, trust_remote_code=trust_remote_code)
    document = inspection.to_json(targets, r, alpha)  # validates targets before printing
    if json_out:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    _print_table(inspection, targets, r, alpha)


def _print_table(inspection: ModelInspection, targets: str, r: int, alpha: float) -> None:
    from rich.console import Console
    from rich.table import Table

    chosen = set(inspection.resolve_targets(targets))
    where = (
        f" ({inspection.path})" if inspection.path and inspection.path != inspection.source else ""
    )
    table = Table(
        title=f"{inspection.source}{where} — {inspection.architecture}",
        caption=f"LoRA r={r}, alpha={alpha:g}; ● = targeted ({targets})",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("", width=1)
    table.add_column("module")
    table.add_column("group")
    table.add_column("count", justify="right")
    table.add_column("shape (in→out)", justify="right")
    table.add_column("LoRA params", justify="right")
    for layer in inspection.layers:
        targeted = layer.name in chosen
        shape = f"{layer.in_features:,}→{layer.out_features:,}"
        if layer.fused_with:
            shape += f" (fused with {', '.join(layer.fused_with)})"
        table.add_row(
            "●" if targeted else "",
            layer.name,
            layer.group,
            f"{layer.count:,}",
            shape,
            f"{layer.lora_params(r):,}",
            style=None if targeted else "dim",
        )
    console = Console()
    console.print(table)
    console.print(
        f"[bold]{share_line(inspection, targets, r)}[/bold]  "
        f"(base model {inspection.total_params:,} parameters)"
    )
    if inspection.excluded:
        console.print(
            "Not adapted: " + "; ".join(inspection.excluded), style="dim", highlight=False
        )
