"""Step 4, Training: method, quantization, device and the numbers, each validated inline."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.widgets import Label, RadioButton, RadioSet, Select, Static

from lorawiz.core.monitor_state import format_bytes
from lorawiz.widgets.form_field import FormField

DEVICE_KINDS = ("auto", "xpu", "cuda", "cpu")
QUANTIZATION = [("nf4 · 4-bit", "nf4"), ("none · 16-bit", "none")]


def device_options(devices: list[Any]) -> list[tuple[str, str]]:
    """Select options: auto first, then detected devices (XPU first), then the rest.

    Labels stay short (a Select shows one line); the details are on the note under it."""
    order = {"xpu": 0, "cuda": 1, "cpu": 2}
    found = sorted(devices, key=lambda d: order.get(str(d.kind), 3))
    options = [("auto · best found", "auto")]
    seen = set()
    for device in found:
        if device.kind in seen or device.kind not in DEVICE_KINDS:
            continue
        seen.add(device.kind)
        options.append((f"{device.kind} · {device.name}", str(device.kind)))
    missing = [kind for kind in ("xpu", "cuda", "cpu") if kind not in seen]
    options += [(f"{kind} · not found", kind) for kind in missing]
    return options


def device_note(devices: list[Any]) -> str:
    """One line per kind found: name, memory, bf16."""
    if not devices:
        return "No device detected."
    parts = []
    for device in devices:
        total = getattr(device, "total_memory", None)
        memory = format_bytes(total) if total else "memory ?"
        bf16 = "bf16" if device.bf16 else "no bf16"
        parts.append(f"{device.kind}: {device.name}, {memory}, {bf16}")
    return "Detected " + " · ".join(parts)


class TrainingStep(VerticalScroll):
    DEFAULT_CSS = """
    TrainingStep .row { height: auto; }
    TrainingStep RadioSet { margin-right: 1; }
    TrainingStep Select { width: 1fr; margin-right: 1; }
    TrainingStep Grid {
        grid-size: 4;
        grid-gutter: 0 1;
        height: auto;
    }
    TrainingStep #field-dpo-beta { display: none; }
    TrainingStep.-dpo #field-dpo-beta { display: block; }
    TrainingStep #steps-hint { color: $text-muted; height: auto; }
    TrainingStep #device-note { color: $text-muted; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Label(
            "[b]How to train?[/b]  Switching to DPO applies its defaults (r=16, lr 5e-5).",
            classes="lead",
        )
        with Horizontal(classes="row"):
            with RadioSet(id="method"):
                yield RadioButton("QLoRA SFT", id="method-sft", value=True)
                yield RadioButton("DPO (pairs)", id="method-dpo")
            yield Select(QUANTIZATION, id="quantization", allow_blank=False, value="nf4")
            yield Select(device_options([]), id="device", allow_blank=False, value="auto")
        yield Static("Detecting devices…", id="device-note")
        with Grid():
            yield FormField("max steps", "train.max_steps", "int", optional=True)
            yield FormField("or epochs", "train.epochs", "float", optional=True)
            yield FormField("learning rate", "train.learning_rate", "float")
            yield FormField("batch size", "train.batch_size", "int")
            yield FormField("grad accum", "train.grad_accum", "int")
            yield FormField("max length", "train.max_length", "int")
            yield FormField("logging steps", "train.logging_steps", "int")
            yield FormField("save steps", "train.save_steps", "int")
            yield FormField("DPO beta", "dpo.beta", "float")
        yield Static("Leave max steps empty to train by epochs.", id="steps-hint")

    def show_method(self, method: str) -> None:
        self.set_class(method == "dpo", "-dpo")
        button = self.query_one(f"#method-{method}", RadioButton)
        if not button.value:
            with self.query_one(RadioSet).prevent(RadioSet.Changed):
                button.value = True

    def show_devices(self, devices: list[Any], current: str) -> None:
        select: Select[str] = self.query_one("#device", Select)
        with select.prevent(Select.Changed):
            select.set_options(device_options(devices))
            select.value = current if current in DEVICE_KINDS else "auto"
        self.query_one("#device-note", Static).update(device_note(devices))

    def show_devices_error(self, message: str) -> None:
        self.query_one("#device-note", Static).update(f"Device detection failed: {message}")
