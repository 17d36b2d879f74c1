"""`lorawiz train / resume / stop / runs` on bad input: exit 2, one line, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lorawiz.cli import app
from test_train_support import demo_session


@pytest.fixture(autouse=True)
def _demo_model_exists(demo_cache: Path) -> None:
    """Create the demo model up front: its one-time creation may print progress of its own."""
    from lorawiz.core.demo import ensure_demo_model

    ensure_demo_model()


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output.strip()


def _session_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "session.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _train_refused(tmp_path: Path, session_file: Path, *words: str) -> str:
    run_dir = tmp_path / "run"
    code, output = _invoke("train", str(session_file), "--run-dir", str(run_dir))
    assert code == 2, output
    assert "\n" not in output, output
    assert output.startswith("lorawiz: ")
    assert "Traceback" not in output
    for word in words:
        assert word in output, output
    assert not run_dir.exists()  # refused before anything was written
    return output


SFT = """version = 1
method = "sft"
[model]
name = "demo"
[train]
device = "cpu"
max_steps = 4
"""


def _with(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


BAD_SESSIONS = {
    "invalid toml": ("version = 1\nmethod = sft\n", ["not valid TOML"]),
    "bad value": (SFT + "[lora]\nr = 0\n", ["lora.r"]),
    "unknown key": (SFT + "[lora]\nrank = 8\n", ["rank", "did you mean"]),
    "unknown method": (_with(SFT, '"sft"', '"ppo"'), ["method"]),
    "newer version": (_with(SFT, "version = 1", "version = 9"), ["upgrade lorawiz"]),
    "missing device": (_with(SFT, '"cpu"', '"xpu"'), ["xpu"]),
    "missing model": (_with(SFT, '"demo"', '"/no/such/model-folder"'), ["/no/such/model-folder"]),
    "unknown target": (SFT + '[lora]\ntargets = ["q_proj", "nope_proj"]\n', ["nope_proj"]),
    "missing data": (SFT + '[data]\nsource = "/no/such/data.jsonl"\n', ["/no/such/data.jsonl"]),
    "sft data for dpo": (
        _with(SFT, 'method = "sft"', 'method = "dpo"') + '[data]\nsource = "demo-sft"\n',
        ["demo-sft"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_SESSIONS))
def test_bad_session_is_one_line_exit_2(tmp_path: Path, case: str) -> None:
    text, words = BAD_SESSIONS[case]
    _train_refused(tmp_path, _session_file(tmp_path, text), *words)


@pytest.mark.parametrize(
    "rows",
    [
        ['{"prompt": "a", "completion": "b"}', "{not json"],
        ['{"question": "a", "answer": "b"}'],
        [],
    ],
    ids=["malformed-json", "unknown-columns", "empty"],
)
def test_bad_data_is_one_line_exit_2(tmp_path: Path, rows: list[str]) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    session = _session_file(tmp_path, SFT + f'[data]\nsource = "{data}"\n')
    _train_refused(tmp_path, session, "data.jsonl")


def test_missing_session_file(tmp_path: Path) -> None:
    code, output = _invoke("train", str(tmp_path / "nope.toml"))
    assert code == 2 and "\n" not in output and "nope.toml" in output


def test_run_dir_that_is_a_non_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "keep.txt").write_text("x")
    session = _session_file(tmp_path, SFT)
    code, output = _invoke("train", str(session), "--run-dir", str(folder))
    assert code == 2 and "\n" not in output and "non-empty" in output
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_stop_and_resume_of_something_that_is_not_a_run(tmp_path: Path) -> None:
    for command in ("stop", "resume"):
        code, output = _invoke(command, str(tmp_path))
        assert code == 2 and "\n" not in output and "not a lorawiz run directory" in output


def test_resume_of_a_finished_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "session.toml").write_text(demo_session("sft").to_toml())
    (run_dir / "events.jsonl").write_text(
        json.dumps({"event": "start", "time": 1.0, "max_steps": 3})
        + "\n"
        + json.dumps({"event": "done", "time": 2.0, "step": 3, "adapter": "a"})
        + "\n"
    )
    code, output = _invoke("resume", str(run_dir))
    assert code == 2 and "\n" not in output and "nothing to resume" in output


def test_runs_and_sessions_json_when_empty() -> None:
    assert _invoke("runs", "--json") == (0, "[]")
    assert _invoke("sessions", "--json") == (0, "[]")
    code, output = _invoke("runs")
    assert code == 0 and "no runs yet" in output


def test_runs_table_and_json_list_a_run(lorawiz_home: Path) -> None:
    from lorawiz.core.paths import runs_dir

    run_dir = runs_dir() / "20250101-120000-sft-demo"
    run_dir.mkdir(parents=True)
    (run_dir / "session.toml").write_text(demo_session("sft").to_toml())
    (run_dir / "events.jsonl").write_text(
        json.dumps({"event": "start", "time": 1.0, "max_steps": 3, "method": "sft"})
        + "\n"
        + json.dumps({"event": "log", "time": 1.5, "step": 2, "loss": 1.0})
        + "\n"
        + json.dumps({"event": "stopped", "time": 2.0, "step": 2, "checkpoint": None})
        + "\n"
    )
    code, output = _invoke("runs", "--json")
    assert code == 0
    (entry,) = json.loads(output)
    assert entry["run_dir"] == str(run_dir)
    assert (entry["status"], entry["step"], entry["max_steps"]) == ("stopped", 2, 3)
    assert (entry["method"], entry["model"], entry["pid"]) == ("sft", "demo", None)
    code, output = _invoke("runs")
    assert code == 0 and "stopped" in output and "2/3" in output


def test_plain_view_lines() -> None:
    from lorawiz.commands.train import LiveState, log_line, sparkline

    assert sparkline([3.0, 2.0, 1.0]) == "█▄▁"
    assert sparkline([1.0, 1.0]) == "▄▄"
    assert log_line({"event": "log", "step": 3, "loss": 1.23456, "learning_rate": 2e-4}, 10) == (
        "step 3/10  loss 1.235  lr 0.0002"
    )
    state = LiveState()
    state.add({"event": "start", "max_steps": 10, "method": "dpo", "device": "cpu"})
    for step in range(1, 5):
        state.add({"event": "log", "time": float(step), "step": step, "loss": 1.0 / step})
    assert state.eta() == pytest.approx(6.0)  # 1 s per step, 6 steps left
    state.add({"event": "log", "time": 5.0, "step": 5, "loss": 0.2, "rewards/margins": 0.5})
    assert state.margins == [0.5]


def test_moe_experts_with_dropout_are_refused_before_training(tmp_path: Path) -> None:
    """peft wraps Mixtral's fused experts as parameters, which it refuses with dropout > 0."""
    from transformers import MixtralConfig

    folder = tmp_path / "tiny-mixtral"
    MixtralConfig(
        vocab_size=64,
        hidden_size=64,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_local_experts=2,
        num_experts_per_tok=1,
    ).save_pretrained(folder)
    text = _with(SFT, '"demo"', json.dumps(str(folder))) + "[lora]\ndropout = 0.05\n"
    output = _train_refused(tmp_path, _session_file(tmp_path, text), "dropout = 0", "w1")
    assert "lora.dropout" in output
