"""`lorawiz inspect`: the seed fact, the pure arithmetic, source resolution, errors and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lorawiz.cli import app
from lorawiz.core.errors import ModelError
from lorawiz.core.inspect import LinearLayer, ModelInspection, inspect_config, inspect_model

LLAMA_7B = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
}
LLAMA_TINY = {
    **LLAMA_7B,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 96,
}
SEVEN = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

runner = CliRunner()


def write_model(folder: Path, config: dict[str, object] | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = config if isinstance(config, str) else json.dumps(config)
    (folder / "config.json").write_text(text)
    return folder


@pytest.fixture(scope="module")
def llama7b() -> ModelInspection:
    from transformers import LlamaConfig

    return inspect_config(LlamaConfig(**{k: v for k, v in LLAMA_7B.items() if k != "model_type"}))


# -- the seed fact -----------------------------------------------------------------------------


def test_llama_7b_r8_all_seven_modules(llama7b: ModelInspection) -> None:
    assert llama7b.total_params == 6_738_415_616
    assert llama7b.resolve_targets("all-linear") == SEVEN
    assert llama7b.trainable_params("all-linear", 8) == 19_988_480
    assert llama7b.trainable_params(SEVEN, 8) == 19_988_480
    # peft prints trainable / (total + trainable): 0.2958%; of the base model alone it is 0.297%
    assert llama7b.trainable_share("all-linear", 8) == pytest.approx(0.0029576, abs=1e-7)
    assert f"{19_988_480 / llama7b.total_params:.3%}" == "0.297%"
    assert llama7b.excluded == ("lm_head",)
    assert llama7b.architecture == "LlamaForCausalLM"


def test_arithmetic_is_linear_in_r(llama7b: ModelInspection) -> None:
    assert llama7b.trainable_params("q_proj,v_proj", 16) == 2 * 32 * 16 * (4096 + 4096)
    for r in (1, 8, 64):
        assert llama7b.trainable_params("all-linear", r) == r * 19_988_480 // 8


def test_targets_accept_strings_lists_and_order(llama7b: ModelInspection) -> None:
    assert llama7b.resolve_targets(" v_proj , q_proj ") == ["q_proj", "v_proj"]
    assert llama7b.resolve_targets(["down_proj", "q_proj", "q_proj"]) == ["q_proj", "down_proj"]
    assert llama7b.resolve_targets("ALL-LINEAR") == SEVEN


def test_lora_params_of_a_fused_pair() -> None:
    w1 = LinearLayer("w1", "experts/router", 16, 10, 20, fused_with=("w3",))
    w3 = LinearLayer("w3", "experts/router", 16, 10, 20, fused_with=("w1",))
    # one fused weight (experts × 10 → 40) at rank 2r: 2r·(10 + 40) per expert
    assert w1.lora_params(4) + w3.lora_params(4) == 16 * 8 * (10 + 40)


@pytest.mark.parametrize("r", [0, -1])
def test_rank_must_be_positive(llama7b: ModelInspection, r: int) -> None:
    with pytest.raises(ModelError, match="positive"):
        llama7b.trainable_params("all-linear", r)


def test_unknown_target_lists_valid_names(llama7b: ModelInspection) -> None:
    with pytest.raises(ModelError, match="q_proj, k_proj, v_proj") as info:
        llama7b.resolve_targets("q_proj,attn")
    assert "attn" in str(info.value)
    with pytest.raises(ModelError, match="no target"):
        llama7b.resolve_targets(" , ")


def test_half_a_fused_pair_is_refused() -> None:
    inspection = ModelInspection(
        "x",
        None,
        "mixtral",
        "MixtralForCausalLM",
        100,
        (
            LinearLayer("w1", "experts/router", 2, 4, 8, ("w3",)),
            LinearLayer("w3", "experts/router", 2, 4, 8, ("w1",)),
        ),
        ("lm_head",),
    )
    with pytest.raises(ModelError, match="w1 and w3"):
        inspection.trainable_params("w1", 8)
    assert inspection.trainable_params("w1,w3", 1) == 2 * 2 * (4 + 16)


def test_to_json_has_the_documented_keys(llama7b: ModelInspection) -> None:
    document = llama7b.to_json("q_proj,v_proj", 8, 16)
    assert {
        "source",
        "path",
        "model_type",
        "architecture",
        "total_params",
        "targets",
        "trainable_params",
        "trainable_share",
        "layers",
        "excluded",
        "r",
        "alpha",
    } <= set(document)
    assert document["targets"] == ["q_proj", "v_proj"]
    assert document["layers"][0] == {
        "name": "q_proj",
        "group": "attention",
        "count": 32,
        "in_features": 4096,
        "out_features": 4096,
        "lora_params": 32 * 8 * 8192,
    }
    json.dumps(document)


# -- sources -----------------------------------------------------------------------------------


def test_local_folder_needs_no_weights(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "tiny", LLAMA_TINY)
    inspection = inspect_model(str(folder))
    assert inspection.path == str(folder)
    assert inspection.model_type == "llama"
    assert inspection.trainable_params("all-linear", 2) == 2 * 2 * (
        (32 + 32) * 2 + (32 + 16) * 2 + (32 + 64) * 3
    )


def test_config_json_file_means_its_folder(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "tiny", LLAMA_TINY)
    assert inspect_model(str(folder / "config.json")).path == str(folder)


def test_demo_source_uses_the_demo_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_model(tmp_path / "demo-model", LLAMA_TINY)
    fake = types.ModuleType("lorawiz.core.demo")
    fake.ensure_demo_model = lambda: folder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lorawiz.core.demo", fake)
    inspection = inspect_model("demo")
    assert (inspection.source, inspection.path) == ("demo", str(folder))


def test_remote_code_runs_only_when_allowed(tmp_path: Path) -> None:
    folder = write_model(
        tmp_path / "custom",
        {
            **LLAMA_TINY,
            "model_type": "tiny_custom",
            "auto_map": {
                "AutoConfig": "configuration_tiny.TinyConfig",
                "AutoModelForCausalLM": "modeling_tiny.TinyForCausalLM",
            },
        },
    )
    (folder / "configuration_tiny.py").write_text(
        "from transformers import LlamaConfig\n\n"
        "class TinyConfig(LlamaConfig):\n    model_type = 'tiny_custom'\n"
    )
    (folder / "modeling_tiny.py").write_text(
        "from transformers import LlamaForCausalLM\n"
        "from .configuration_tiny import TinyConfig\n\n"
        "class TinyForCausalLM(LlamaForCausalLM):\n    config_class = TinyConfig\n"
    )
    with pytest.raises(ModelError, match="--trust-remote-code"):
        inspect_model(str(folder))
    # Allowed: run in a child so transformers' module cache goes to a temporary folder.
    code = (
        "from lorawiz.core.inspect import inspect_model\n"
        f"i = inspect_model({str(folder)!r}, trust_remote_code=True)\n"
        "print(i.architecture, i.trainable_params('all-linear', 2))"
    )
    env = {**__import__("os").environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["TinyForCausalLM", str(2 * 2 * (128 + 96 + 288))]


# -- errors through the CLI: exit 2, one line, no traceback ------------------------------------


def cli_error(*args: str) -> str:
    result = runner.invoke(app, ["inspect", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_error_missing_path(tmp_path: Path) -> None:
    assert "no model folder" in cli_error(str(tmp_path / "nope"))
    assert "no model folder" in cli_error("./definitely-not-here")


def test_error_folder_without_config(tmp_path: Path) -> None:
    assert "no config.json" in cli_error(str(tmp_path))


def test_error_invalid_json(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "bad", '{"model_type": "llama",')
    assert "not valid JSON" in cli_error(str(folder))


def test_error_invalid_config_values(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "bad", {**LLAMA_TINY, "num_attention_heads": 5})
    message = cli_error(str(folder))
    assert message.startswith("lorawiz: ")


def test_error_no_model_type(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "bad", {"hidden_size": 8})
    assert "no model_type" in cli_error(str(folder))


def test_error_unknown_model_type(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "bad", {**LLAMA_TINY, "model_type": "llamazing"})
    assert "unknown to this transformers" in cli_error(str(folder))


def test_error_needs_trust_remote_code(tmp_path: Path) -> None:
    folder = write_model(
        tmp_path / "custom",
        {
            **LLAMA_TINY,
            "model_type": "custom",
            "auto_map": {"AutoConfig": "configuration_custom.CustomConfig"},
        },
    )
    assert "--trust-remote-code" in cli_error(str(folder))


def test_error_not_a_causal_lm(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "bert", {"model_type": "vit", "hidden_size": 32})
    assert "causal" in cli_error(str(folder))


def test_error_hub_id_offline() -> None:
    message = cli_error("lorawiz-tests/no-such-model")
    assert "lorawiz-tests/no-such-model" in message and "local folder" in message


def test_error_bad_rank_and_targets(tmp_path: Path) -> None:
    folder = str(write_model(tmp_path / "tiny", LLAMA_TINY))
    assert "positive" in cli_error(folder, "--r", "0")
    assert "q_proj" in cli_error(folder, "--targets", "q_proj,nonsense")


# -- the CLI output ----------------------------------------------------------------------------


def test_cli_json_is_the_only_stdout(tmp_path: Path) -> None:
    folder = str(write_model(tmp_path / "tiny", LLAMA_TINY))
    result = runner.invoke(app, ["inspect", folder, "--json", "--r", "4", "--targets", "q_proj"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["source"] == folder and document["r"] == 4 and document["alpha"] == 16
    assert document["targets"] == ["q_proj"]
    assert document["trainable_params"] == 2 * 4 * (32 + 32)
    assert document["excluded"] == ["lm_head"]


def test_cli_table(tmp_path: Path) -> None:
    folder = str(write_model(tmp_path / "tiny", LLAMA_TINY))
    result = runner.invoke(app, ["inspect", folder], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for name in SEVEN:
        assert name in result.output
    assert "trainable" in result.output and "lm_head" in result.output


def test_cli_and_core_imports_stay_light() -> None:
    code = (
        "import sys, io, contextlib\n"
        "import lorawiz.cli, lorawiz.core.inspect, lorawiz.commands.inspect\n"
        "sys.argv = ['lorawiz', '--help']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        lorawiz.cli.main()\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('torch', 'transformers', 'peft', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_real_demo_model() -> None:
    pytest.importorskip("lorawiz.core.demo")
    inspection = inspect_model("demo")
    assert inspection.path is not None and (Path(inspection.path) / "config.json").is_file()
    assert inspection.model_type == "llama"
    assert inspection.resolve_targets("all-linear") == SEVEN
    assert 0 < inspection.trainable_share("all-linear", 8) < 1
