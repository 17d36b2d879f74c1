"""`inspect` previews exactly what peft trains: tiny configs of 20 architectures against real peft.

For each architecture × {all-linear, an explicit list} × two ranks, the inspection's
`trainable_params` must equal `get_peft_model(...).get_nb_trainable_parameters()[0]`, and its
`total_params` the real base model's `num_parameters()` (built on CPU, so the meta-device build
is checked too).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

from lorawiz.core.inspect import ModelInspection, inspect_config  # noqa: E402

H, L, HEADS, FF, VOCAB = 32, 2, 4, 64, 96
"""Tiny shapes: hidden, layers, heads, feed-forward width, vocabulary."""


def _llama_like(name: str, **extra: Any) -> Callable[[], Any]:
    def build() -> Any:
        kwargs: dict[str, Any] = dict(
            vocab_size=VOCAB,
            hidden_size=H,
            intermediate_size=FF,
            num_hidden_layers=L,
            num_attention_heads=HEADS,
            num_key_value_heads=2,
            max_position_embeddings=64,
        )
        kwargs.update(extra)
        return getattr(transformers, name)(**kwargs)

    return build


ARCHITECTURES: dict[str, tuple[Callable[[], Any], list[str]]] = {
    # name: (tiny config, an explicit target list)
    "llama": (_llama_like("LlamaConfig"), ["q_proj", "v_proj"]),
    "mistral": (_llama_like("MistralConfig"), ["k_proj", "o_proj", "down_proj"]),
    "qwen2": (_llama_like("Qwen2Config"), ["q_proj", "k_proj", "v_proj"]),
    "qwen3": (_llama_like("Qwen3Config", head_dim=8), ["q_proj", "up_proj"]),
    "gemma": (_llama_like("GemmaConfig", head_dim=8), ["q_proj", "gate_proj"]),
    "gemma2": (_llama_like("Gemma2Config", head_dim=8), ["o_proj", "down_proj"]),
    "phi3": (_llama_like("Phi3Config", pad_token_id=0), ["qkv_proj"]),
    "stablelm": (_llama_like("StableLmConfig"), ["q_proj", "v_proj", "up_proj"]),
    "phi": (_llama_like("PhiConfig"), ["q_proj", "dense", "fc1"]),
    "gpt2": (
        lambda: transformers.GPT2Config(
            vocab_size=VOCAB, n_embd=H, n_layer=L, n_head=HEADS, n_positions=64
        ),
        ["c_attn"],
    ),
    "gptj": (
        lambda: transformers.GPTJConfig(
            vocab_size=VOCAB, n_embd=H, n_layer=L, n_head=HEADS, n_positions=64, rotary_dim=4
        ),
        ["q_proj", "fc_in"],
    ),
    "gpt_neox": (
        lambda: transformers.GPTNeoXConfig(
            vocab_size=VOCAB,
            hidden_size=H,
            intermediate_size=FF,
            num_hidden_layers=L,
            num_attention_heads=HEADS,
            max_position_embeddings=64,
        ),
        ["query_key_value", "dense"],
    ),
    "falcon": (
        lambda: transformers.FalconConfig(
            vocab_size=VOCAB, hidden_size=H, num_hidden_layers=L, num_attention_heads=HEADS
        ),
        ["query_key_value", "dense_4h_to_h"],
    ),
    "bloom": (
        lambda: transformers.BloomConfig(vocab_size=VOCAB, hidden_size=H, n_layer=L, n_head=HEADS),
        ["query_key_value"],
    ),
    "opt": (
        lambda: transformers.OPTConfig(
            vocab_size=VOCAB,
            hidden_size=H,
            ffn_dim=FF,
            num_hidden_layers=L,
            num_attention_heads=HEADS,
            word_embed_proj_dim=H,
            max_position_embeddings=64,
        ),
        ["q_proj", "v_proj", "fc2"],
    ),
    "mixtral": (
        _llama_like("MixtralConfig", num_local_experts=4, num_experts_per_tok=2),
        ["q_proj", "w1", "w3", "gate"],
    ),
    "qwen2_moe": (
        _llama_like(
            "Qwen2MoeConfig",
            num_experts=4,
            num_experts_per_tok=2,
            moe_intermediate_size=16,
            shared_expert_intermediate_size=48,
        ),
        ["k_proj", "shared_expert_gate", "down_proj"],
    ),
    "qwen3_moe": (
        _llama_like(
            "Qwen3MoeConfig",
            num_experts=4,
            num_experts_per_tok=2,
            moe_intermediate_size=16,
            head_dim=8,
        ),
        ["gate_proj", "up_proj", "gate"],
    ),
    "olmoe": (
        _llama_like("OlmoeConfig", num_experts=4, num_experts_per_tok=2),
        ["o_proj", "down_proj"],
    ),
    "deepseek_v3": (  # multi-head latent attention + MoE with a dense first layer
        _llama_like(
            "DeepseekV3Config",
            num_key_value_heads=HEADS,
            n_routed_experts=4,
            num_experts_per_tok=2,
            moe_intermediate_size=16,
            q_lora_rank=16,
            kv_lora_rank=16,
            qk_rope_head_dim=8,
            qk_nope_head_dim=8,
            v_head_dim=8,
            first_k_dense_replace=1,
            n_group=1,
            topk_group=1,
        ),
        ["q_b_proj", "kv_a_proj_with_mqa", "gate_proj", "up_proj", "down_proj"],
    ),
}

_inspections: dict[str, ModelInspection] = {}


def _inspection(arch: str) -> ModelInspection:
    if arch not in _inspections:
        _inspections[arch] = inspect_config(ARCHITECTURES[arch][0](), source=arch)
    return _inspections[arch]


def _real_model(arch: str) -> Any:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.AutoModelForCausalLM.from_config(ARCHITECTURES[arch][0]())


def _peft_trainable(arch: str, targets: Any, r: int) -> tuple[int, int]:
    """(trainable, base total) as peft and transformers count them on a real tiny model."""
    model = _real_model(arch)
    base = model.num_parameters()
    config = peft.LoraConfig(r=r, target_modules=targets, task_type="CAUSAL_LM")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peft_model = peft.get_peft_model(model, config)
    trainable, everything = peft_model.get_nb_trainable_parameters()
    assert everything == base + trainable
    return trainable, base


def test_at_least_fifteen_architectures() -> None:
    assert len(ARCHITECTURES) >= 15


@pytest.mark.parametrize("r", [4, 16])
@pytest.mark.parametrize("which", ["all-linear", "explicit"])
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_preview_equals_peft(arch: str, which: str, r: int) -> None:
    inspection = _inspection(arch)
    targets: Any = "all-linear" if which == "all-linear" else ARCHITECTURES[arch][1]
    trainable, base = _peft_trainable(arch, targets, r)
    assert inspection.total_params == base
    assert inspection.trainable_params(targets, r) == trainable
    assert inspection.trainable_share(targets, r) == pytest.approx(trainable / (base + trainable))


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_architecture_is_described(arch: str) -> None:
    inspection = _inspection(arch)
    assert inspection.layers, arch
    assert inspection.excluded[-1] == "lm_head"
    assert inspection.architecture == type(_real_model(arch)).__name__
    assert {layer.group for layer in inspection.layers} <= {
        "attention",
        "mlp",
        "experts/router",
        "other",
    }
    assert "other" not in {layer.group for layer in inspection.layers}, inspection.layers
    # each explicit name selects exactly what it says
    for name in ARCHITECTURES[arch][1]:
        assert name in inspection.names


def test_gpt2_conv1d_shapes_are_in_to_out() -> None:
    by_name = {layer.name: layer for layer in _inspection("gpt2").layers}
    assert (by_name["c_attn"].in_features, by_name["c_attn"].out_features) == (H, 3 * H)
    assert (by_name["c_fc"].in_features, by_name["c_fc"].out_features) == (H, 4 * H)


def test_mixtral_experts_are_fused_and_doubled() -> None:
    inspection = _inspection("mixtral")
    by_name = {layer.name: layer for layer in inspection.layers}
    assert by_name["w1"].fused_with == ("w3",)
    assert by_name["w1"].count == L * 4  # layers × experts
    assert by_name["gate"].out_features == 4  # the router picks among 4 experts
    assert by_name["w1"].group == "experts/router"


def test_qwen2_moe_skips_experts_and_router() -> None:
    inspection = _inspection("qwen2_moe")
    assert "gate" not in inspection.names
    assert any("experts" in entry for entry in inspection.excluded)


def test_deepseek_dense_mlp_is_not_targeted_by_peft() -> None:
    # peft 0.21 maps gate/up/down_proj to the routed experts, so the dense MLP of the first
    # layer and the shared experts are left alone: the preview says so instead of counting them.
    inspection = _inspection("deepseek_v3")
    assert any("shared_experts.gate_proj" in entry for entry in inspection.excluded)
    assert {layer.group for layer in inspection.layers if layer.name == "gate_proj"} == {
        "experts/router"
    }


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_parameter_flag_predicts_peft_dropout_refusal(arch: str) -> None:
    """`LinearLayer.parameter` marks exactly what peft wraps as parameters (dropout 0 only)."""
    inspection = _inspection(arch)
    needs_zero = any(layer.parameter for layer in inspection.selected_layers("all-linear"))
    config = peft.LoraConfig(
        r=4, target_modules="all-linear", lora_dropout=0.05, task_type="CAUSAL_LM"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if needs_zero:
            with pytest.raises(ValueError, match="dropout"):
                peft.get_peft_model(_real_model(arch), config)
        else:
            peft.get_peft_model(_real_model(arch), config)
