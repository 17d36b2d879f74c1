"""The `events.jsonl` stream: one JSON object per line, written by the training child, read by
every tailer (CLI live view, `lorawiz runs`, the TUI monitor).

Every event has "event" (its kind) and "time" (Unix seconds). Kinds:
- start: max_steps, device, trainable_params, total_params, method, model, pid;
  on resume also resumed_from (the checkpoint step)
- log: step, loss, learning_rate, epoch, grad_norm; DPO adds rewards/chosen, rewards/rejected,
  rewards/margins, rewards/accuracies
- eval: step and the metrics
- checkpoint: step, path
- terminal, exactly one per finished attempt: done (step, adapter), stopped (step, checkpoint),
  error (message, traceback)
A process that is gone without a terminal event is "crashed".
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

EVENTS_FILE: Final = "events.jsonl"

START: Final = "start"
LOG: Final = "log"
EVAL: Final = "eval"
CHECKPOINT: Final = "checkpoint"
DONE: Final = "done"
STOPPED: Final = "stopped"
ERROR: Final = "error"
TERMINAL: Final = frozenset({DONE, STOPPED, ERROR})
KINDS: Final = frozenset({START, LOG, EVAL, CHECKPOINT, DONE, STOPPED, ERROR})

Event = dict[str, Any]


class EventWriter:
    """Appends events, one flushed line each, so a reader never waits for a buffer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def write(self, kind: str, **fields: Any) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event: Event = {"event": kind, "time": time.time(), **fields}
        self._handle.write(json.dumps(event, default=_jsonable) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return event

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    # Tensors and numpy scalars from Trainer logs; paths.
    if hasattr(value, "item"):
        return value.item()
    return str(value)


class EventReader:
    """Reads new complete lines since the last call; tolerates a half-written last line.

    Keeps a byte offset, so reading a 100,000-line file is done once and each later call
    costs only what was appended.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read_new(self) -> list[Event]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return list(parse_lines(chunk[: end + 1]))


def parse_lines(data: bytes) -> Iterator[Event]:
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a torn line from a killed writer; the next start event follows it
        if isinstance(event, dict) and "event" in event:
            yield event


def read_events(run_dir: Path) -> list[Event]:
    """All complete events of a run, in order."""
    return EventReader(run_dir / EVENTS_FILE).read_new()
