"""The events.jsonl contract: flushed lines, offset tailing, torn last lines tolerated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lorawiz.core.events import EventReader, EventWriter, read_events


def test_writer_and_reader(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    reader = EventReader(path)
    assert reader.read_new() == []  # no file yet
    with EventWriter(path) as writer:
        writer.write("start", max_steps=3)
        first = reader.read_new()
        writer.write("log", step=1, loss=2.5)
        writer.write("done", step=3, adapter="adapter")
    assert [e["event"] for e in first] == ["start"]
    rest = reader.read_new()
    assert [e["event"] for e in rest] == ["log", "done"]
    assert all("time" in e for e in first + rest)
    assert reader.read_new() == []


def test_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    line = json.dumps({"event": "log", "time": 1.0, "step": 7})
    path.write_text(line[:10])
    reader = EventReader(path)
    assert reader.read_new() == []
    with open(path, "a") as handle:
        handle.write(line[10:] + "\n")
    assert [e["step"] for e in reader.read_new()] == [7]


def test_torn_line_from_a_killed_writer_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "log", "ti\n{"event": "start", "time": 2}\n')
    assert [e["event"] for e in read_events(tmp_path)] == ["start"]


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    with EventWriter(tmp_path / "e.jsonl") as writer, pytest.raises(ValueError):
        writer.write("bogus")
