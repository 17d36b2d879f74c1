"""core/demo: the built-in model is made locally and deterministically; the demo data ships."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from lorawiz.core import demo
from lorawiz.core.demo import (
    DEMO_DPO,
    DEMO_MODEL,
    DEMO_SFT,
    demo_dataset_path,
    demo_session,
    ensure_demo_model,
    resolve_model_source,
)
from lorawiz.core.errors import DataError
from lorawiz.core.session import parse_toml

REPO = Path(__file__).resolve().parent.parent


def digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def test_demo_model_is_created_once_and_reused(demo_cache: Path) -> None:
    folder = ensure_demo_model()
    assert folder == demo_cache / demo.DEMO_MODEL_DIR
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    before = digests(folder)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert ensure_demo_model() == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert digests(folder) == before
    # No half-built temporary folders are left next to it.
    assert [p.name for p in demo_cache.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_demo_model_is_deterministic(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A second build from scratch (seconds of pre-training) gives byte-identical files, and
    prints nothing: it happens inside other commands, whose output must stay theirs."""
    cached = ensure_demo_model()
    again = tmp_path / "again"
    again.mkdir()
    capfd.readouterr()
    demo._build(again)
    assert capfd.readouterr() == ("", "")
    assert digests(again) == digests(cached)


def test_demo_model_loads_offline_as_a_small_llama() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve_model_source(DEMO_MODEL)
    assert Path(folder) == ensure_demo_model()
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    config = model.config
    assert type(model).__name__ == "LlamaForCausalLM" and config.model_type == "llama"
    for dim in ("hidden_size", "intermediate_size", "vocab_size"):
        assert getattr(config, dim) % 64 == 0, dim
    assert config.num_key_value_heads * config.head_dim % 64 == 0
    params = sum(p.numel() for p in model.parameters())
    assert 1_000_000 < params < 5_000_000
    assert len(tokenizer) <= config.vocab_size
    for token in (tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token):
        assert token is not None
    assert len({tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id}) == 3
    # Byte-level: any text round-trips, even text the tokenizer never saw.
    text = "Zürich 42 ✓"
    assert tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) == text


def test_chat_template_marks_the_assistant_turn() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(ensure_demo_model())
    assert "{% generation %}" in tokenizer.chat_template
    messages = [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "2 + 3 = 5"},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == "<|user|>\nWhat is 2 + 3?<|end|>\n<|assistant|>\n2 + 3 = 5<|end|>\n"
    prompt = tokenizer.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert text.startswith(prompt) and prompt.endswith("<|assistant|>\n")
    out = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = out["input_ids"], out["assistant_masks"]
    trained = [token for token, keep in zip(ids, mask, strict=True) if keep]
    # Exactly the answer and its end token, so the model learns to stop.
    assert tokenizer.decode(trained) == "2 + 3 = 5<|end|>"


def test_model_source_passes_other_names_through() -> None:
    assert resolve_model_source("meta-llama/Llama-3.2-1B") == "meta-llama/Llama-3.2-1B"
    assert resolve_model_source("./my-model") == "./my-model"


def test_demo_datasets_ship_and_match_their_generator() -> None:
    sft = demo_dataset_path(DEMO_SFT).read_text(encoding="utf-8").splitlines()
    dpo = demo_dataset_path(DEMO_DPO).read_text(encoding="utf-8").splitlines()
    assert len(sft) >= 500 and len(dpo) >= 300
    assert set(json.loads(sft[0])) == {"instruction", "input", "output"}
    assert set(json.loads(dpo[0])) == {"prompt", "chosen", "rejected"}
    assert all(row["chosen"] != row["rejected"] for row in map(json.loads, dpo))

    script = REPO / "scripts" / "make_demo_data.py"
    if not script.is_file():  # an installed copy without the repository's scripts
        pytest.skip("scripts/make_demo_data.py is not here")
    spec = importlib.util.spec_from_file_location("make_demo_data", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    regenerated = module.generate(module.SFT_ROWS, module.SEED)
    assert [json.loads(line)["output"] for line in sft] == [row[2] for row in regenerated]


def test_unknown_demo_dataset() -> None:
    with pytest.raises(DataError, match="demo-sft and demo-dpo"):
        demo_dataset_path("demo-kto")


@pytest.mark.parametrize(("method", "data"), [("sft", DEMO_SFT), ("dpo", DEMO_DPO)])
def test_demo_session(method: str, data: str) -> None:
    session = demo_session(method)  # type: ignore[arg-type]
    assert session.method == method
    assert session.model.name == DEMO_MODEL and session.data.source == data
    assert session.train.max_steps == 60
    assert session.lora.r == (8 if method == "sft" else 16)
    assert session.lora.targets == "all-linear"
    assert parse_toml(session.to_toml()) == session


def test_two_builders_at_once_keep_one_complete_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loser of the rename race throws its copy away and uses the winner's."""
    monkeypatch.setenv("LORAWIZ_CACHE", str(tmp_path))
    final = tmp_path / demo.DEMO_MODEL_DIR

    def build_while_another_process_finishes(folder: Path) -> None:
        (folder / demo._MARKER).write_text("mine\n")
        final.mkdir()
        (final / "config.json").write_text("{}\n")
        (final / demo._MARKER).write_text("theirs\n")

    monkeypatch.setattr(demo, "_build", build_while_another_process_finishes)
    assert ensure_demo_model() == final
    assert (final / demo._MARKER).read_text() == "theirs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [demo.DEMO_MODEL_DIR]


def test_a_failed_build_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LORAWIZ_CACHE", str(tmp_path))
    leftover = tmp_path / demo.DEMO_MODEL_DIR
    leftover.mkdir()  # e.g. a folder from an interrupted copy, without the marker

    def failing_build(folder: Path) -> None:
        (folder / "config.json").write_text("{}\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "_build", failing_build)
    with pytest.raises(KeyboardInterrupt):
        ensure_demo_model()
    assert list(tmp_path.iterdir()) == []
