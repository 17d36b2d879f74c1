"""Real short training runs on the demo model: SFT through the CLI, DPO through core."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lorawiz.cli import app
from lorawiz.core import runs
from lorawiz.core.session import save_session
from test_train_support import demo_session, events_of, lorawiz_cli, mean

pytestmark = pytest.mark.slow

SFT_STEPS = 12


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and mtime: a fingerprint of 'nothing changed'."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory, demo_cache: Path) -> dict[str, Any]:
    """One foreground `lorawiz train` of the demo SFT session, run as a user would."""
    home = tmp_path_factory.mktemp("sft-home")
    env = {**os.environ, "LORAWIZ_HOME": str(home), "LORAWIZ_CACHE": str(demo_cache)}
    session_file = home / "sft.toml"
    session = demo_session("sft", max_steps=SFT_STEPS, save_steps=5, learning_rate=2e-3)
    session_file.write_text(session.to_toml(), encoding="utf-8")
    run_dir = home / "run"
    result = lorawiz_cli("train", str(session_file), "--run-dir", str(run_dir), env=env)
    return {"result": result, "run_dir": run_dir, "home": home, "session": session_file}


def test_sft_trains_to_done_and_loss_falls(sft_run: dict[str, Any]) -> None:
    result, run_dir = sft_run["result"], sft_run["run_dir"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "done: 12 steps" in result.stdout
    assert "step 12/12" in result.stdout  # the plain (non-terminal) view logs every step

    (start,) = events_of(run_dir, "start")
    assert start["max_steps"] == SFT_STEPS
    assert start["device"] == "cpu"
    assert start["method"] == "sft"
    assert start["pid"] > 0
    assert 0 < start["trainable_params"] < start["total_params"]

    logs = events_of(run_dir, "log")
    assert [e["step"] for e in logs] == list(range(1, SFT_STEPS + 1))
    for event in logs:
        assert {"loss", "learning_rate", "epoch", "grad_norm"} <= event.keys()
    losses = [e["loss"] for e in logs]
    assert mean(losses[-3:]) < mean(losses[:3]), losses

    assert [e["step"] for e in events_of(run_dir, "checkpoint")][:2] == [5, 10]
    (done,) = events_of(run_dir, "done")
    assert done["step"] == SFT_STEPS
    assert Path(done["adapter"]) == run_dir / "adapter"
    assert events_of(run_dir, "error") == events_of(run_dir, "stopped") == []

    for name in ("session.toml", "events.jsonl", "train.log"):
        assert (run_dir / name).is_file()
    assert (run_dir / "checkpoint-5" / "trainer_state.json").is_file()
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert "HF_TOKEN" not in (run_dir / "session.toml").read_text()

    status = runs.run_status(run_dir)
    assert (status.status, status.step, status.max_steps, status.pid) == ("done", 12, 12, None)


def test_adapter_loads_in_plain_peft_and_generates(sft_run: dict[str, Any]) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = sft_run["run_dir"] / "adapter"
    config = (adapter / "adapter_config.json").read_text()
    base_path = json.loads(config)["base_model_name_or_path"]
    base = AutoModelForCausalLM.from_pretrained(base_path)
    model = PeftModel.from_pretrained(base, str(adapter))
    tokenizer = AutoTokenizer.from_pretrained(str(adapter))
    inputs = tokenizer("hello", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]
    # The adapter is not a no-op: LoRA B moved away from its zero init.
    b_norm = sum(float(p.abs().sum()) for n, p in model.named_parameters() if "lora_B" in n)
    assert b_norm > 0


def test_relaunch_into_finished_run_is_refused_and_touches_nothing(
    sft_run: dict[str, Any],
) -> None:
    run_dir = sft_run["run_dir"]
    before = _tree(run_dir)
    result = CliRunner().invoke(app, ["train", str(sft_run["session"]), "--run-dir", str(run_dir)])
    assert result.exit_code == 2
    message = result.output.strip()
    assert "\n" not in message and "done" in message, message
    assert _tree(run_dir) == before


def test_runs_json_lists_the_finished_run(
    sft_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("LORAWIZ_HOME", str(sft_run["home"]))
    # The run is not under the default runs folder; list it through a session-named run too.
    found = runs.list_runs(sft_run["run_dir"].parent)
    assert [s.run_dir for s in found] == [sft_run["run_dir"]]
    save_session(demo_session("sft"), "named")
    result = CliRunner().invoke(app, ["sessions", "--json"])
    assert result.exit_code == 0
    assert [s["name"] for s in json.loads(result.output)] == ["named"]


def _completion_logp(model: Any, tokenizer: Any, prompt: str, completion: str) -> float:
    import torch

    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    full = tokenizer(prompt + completion, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([full])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1].float()
    logp = torch.log_softmax(logits, dim=-1).gather(1, ids[0, 1:, None])[:, 0]
    return float(logp[len(prompt_ids) - 1 :].sum())


def test_dpo_margins_rise(tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lorawiz.core.data import training_dataset

    session = demo_session(
        "dpo", max_steps=20, save_steps=100, batch_size=8, max_length=128, learning_rate=2e-3
    )
    run_dir = runs.launch(session, tmp_path / "dpo")
    status = runs.wait(run_dir, timeout=300)
    assert status.status == "done", (run_dir / "train.log").read_text()[-3000:]
    (start,) = events_of(run_dir, "start")
    assert start["method"] == "dpo"
    logs = events_of(run_dir, "log")
    assert [e["step"] for e in logs] == list(range(1, 21))
    keys = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")
    for event in logs:
        assert all(isinstance(event[k], float) for k in keys), event
    margins = [e["rewards/margins"] for e in logs]
    assert margins[0] == 0.0  # the adapter starts as a no-op: policy == reference
    # Per-batch margins are noisy on a tiny model; their second half is clearly positive.
    assert mean(margins[10:]) > 0.05, margins

    # The trained adapter prefers chosen over rejected on held rows, against its reference
    # (the same model with the adapter disabled): the DPO implicit reward margin is positive.
    adapter = run_dir / "adapter"
    base_path = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_path), str(adapter))
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(adapter))
    rows = training_dataset("demo-dpo", "dpo").to_list()[-24:]
    total = 0.0
    for row in rows:
        policy = _completion_logp(model, tokenizer, row["prompt"], row["chosen"]) - (
            _completion_logp(model, tokenizer, row["prompt"], row["rejected"])
        )
        with model.disable_adapter():
            reference = _completion_logp(model, tokenizer, row["prompt"], row["chosen"]) - (
                _completion_logp(model, tokenizer, row["prompt"], row["rejected"])
            )
        total += session.dpo.beta * (policy - reference)
    assert total / len(rows) > 0.05
