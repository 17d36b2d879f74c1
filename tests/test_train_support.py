"""Shared set-up for the training tests (no tests here): short demo sessions, event helpers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lorawiz.core.events import read_events
from lorawiz.core.session import Session

# Short, fast runs: the demo model on the CPU, tiny batches.
FAST_TRAIN: dict[str, Any] = {
    "device": "cpu",
    "batch_size": 2,
    "max_length": 64,
    "logging_steps": 1,
    "gradient_checkpointing": False,
}


def demo_session(method: str = "sft", **train: Any) -> Session:
    """The demo's tuned session for `method`, made short with `train` overrides."""
    try:
        from lorawiz.core.demo import demo_session as tuned

        base = tuned(method).to_dict()  # type: ignore[arg-type]
    except ImportError:
        base = Session.for_method(method).to_dict()  # type: ignore[arg-type]
    base["train"] = {**base["train"], **FAST_TRAIN, **train}
    if "max_steps" in train:
        base["train"].pop("epochs", None)
    return Session.from_dict(base)


def events_of(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in read_events(run_dir) if e["event"] == kind]


def wait_for_event(run_dir: Path, kind: str, timeout: float = 120, **match: Any) -> dict[str, Any]:
    """Poll events.jsonl until an event of `kind` (with fields >= match) appears."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in read_events(run_dir):
            if event["event"] == kind and all(event.get(k, -1) >= v for k, v in match.items()):
                return event
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event {match} within {timeout}s in {run_dir}")


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def lorawiz_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `lorawiz ARGS` in a fresh process, as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "lorawiz.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
