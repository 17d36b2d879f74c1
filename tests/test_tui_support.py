"""Fakes for the TUI tests: core services without torch, and scripted run directories.

As in memray's MockReader: the UI is driven by the same messages and files as in real use,
only the slow parts (inspection, data, launching a child) are replaced.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lorawiz.app import CoreServices
from lorawiz.core.errors import ModelError
from lorawiz.core.inspect import LinearLayer, ModelInspection

LLAMA_7B_TOTAL = 6_738_415_616


def llama_7b() -> ModelInspection:
    """Llama-2-7B's linear layers (32 blocks); r=8 on all seven trains 19,988,480 parameters."""
    attention = [LinearLayer(n, "attention", 32, 4096, 4096) for n in ("q_proj", "k_proj")]
    attention += [LinearLayer(n, "attention", 32, 4096, 4096) for n in ("v_proj", "o_proj")]
    mlp = [
        LinearLayer("gate_proj", "mlp", 32, 4096, 11008),
        LinearLayer("up_proj", "mlp", 32, 4096, 11008),
        LinearLayer("down_proj", "mlp", 32, 11008, 4096),
    ]
    return ModelInspection(
        source="meta-llama/Llama-2-7b-hf",
        path=None,
        model_type="llama",
        architecture="LlamaForCausalLM",
        total_params=LLAMA_7B_TOTAL,
        layers=tuple(attention + mlp),
        excluded=("lm_head",),
    )


def write_events(run_dir: Path, *events: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "events.jsonl", "a", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps({"time": time.time(), **event}) + "\n")


def log_events(first: int, last: int, *, dpo: bool = False, t0: float = 1000.0) -> list[dict]:
    out = []
    for step in range(first, last + 1):
        event: dict[str, Any] = {
            "event": "log",
            "time": t0 + step,
            "step": step,
            "loss": 2.0 / step,
            "learning_rate": 2e-4 * (1 - step / (last + 1)),
            "grad_norm": 1.0 + step / 100,
        }
        if dpo:
            event.update({"rewards/margins": step / 10, "rewards/accuracies": 0.5 + step / 200})
        out.append(event)
    return out


class FakeServices(CoreServices):
    """Answers like the core, instantly; records launches, stops and resumes."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.inspected: list[str] = []
        self.launched: list[Any] = []
        self.stopped: list[Path] = []
        self.resumed: list[Path] = []
        self.alive: bool | None = True
        self.runs: list[Any] = []

    def inspect_model(self, source: str, trust_remote_code: bool = False) -> Any:
        self.inspected.append(source)
        if source == "broken":
            raise ModelError("no model 'broken': give a local folder, a hub id or demo")
        return llama_7b()

    def preview_data(self, source: str, method: str) -> Any:
        if source == "missing.jsonl":
            from lorawiz.core.errors import DataError

            raise DataError("no dataset missing.jsonl; give a file, a folder or a hub id")
        columns = ["prompt", "chosen", "rejected"] if method == "dpo" else ["text"]
        rows = [{c: f"{c} {i}" for c in columns} for i in range(3)]
        return SimpleNamespace(
            source=source, method=method, format="jsonl", columns=columns, num_rows=64, rows=rows
        )

    def token_stats(self, source: str, method: str, model: str, max_length: int) -> Any:
        return SimpleNamespace(
            min=12, median=80, p95=300, max=512, truncated=7, rows=64, max_length=max_length
        )

    def detect_devices(self) -> list[Any]:
        return [SimpleNamespace(kind="cpu", name="Test CPU", total_memory=64 * 2**30, bf16=True)]

    def launch(self, session: Any) -> Path:
        self.launched.append(session)
        run_dir = self.tmp / f"run-{len(self.launched)}"
        write_events(
            run_dir,
            {"event": "start", "max_steps": 10, "method": session.method, "model": "demo"},
        )
        return run_dir

    def resume(self, run_dir: Path) -> Path:
        self.resumed.append(run_dir)
        self.alive = True
        write_events(run_dir, {"event": "start", "max_steps": 10, "resumed_from": 4})
        return run_dir

    def stop(self, run_dir: Path) -> None:
        self.stopped.append(run_dir)

    def list_runs(self) -> list[Any]:
        return self.runs

    def process_alive(self, run_dir: Path, pid: int | None) -> bool | None:
        return self.alive
