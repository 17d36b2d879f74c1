"""Build a model on the meta device and find every module LoRA can wrap, the way peft does.

peft 0.21 rules reproduced here (read from peft/tuners/tuners_utils.py and
peft/utils/transformers_weight_conversion.py; the tests check them against real peft):

- `all-linear` takes every `nn.Linear` and transformers `Conv1D` except the output head
  (`get_output_embeddings()`); an explicit name matches every module whose name ends with it.
- For transformers 5 mixture-of-experts models whose checkpoints are converted on load
  (Mixtral and the Qwen2-MoE family: Qwen3-MoE, OLMoE, DeepSeek-V2/V3, GLM-4-MoE…, but not
  Qwen2-MoE itself), peft maps the old v4 names to parameters: the router `gate` to
  `gate.weight`, the expert projections to the fused 3-D `gate_up_proj` / `down_proj`. A fused
  weight is trained at rank r × (number of names fused), one LoRA per expert. Linear modules
  carrying one of those old names (dense MLPs and shared experts in DeepSeek) are then no longer
  targeted at all. Other fused experts and routers (e.g. Qwen2-MoE's) are not Linear: skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lorawiz.core.errors import ModelError
from lorawiz.core.inspect import GROUPS, LinearLayer

# peft 0.21.2 `_MOE_TARGET_MODULE_MAPPING` and `_MOE_FUSED_TARGETS` (old v4 name -> the v5
# parameter it became). Copied because importing peft costs seconds; tests catch any drift.
_MOE_TARGETS: dict[str, dict[str, str]] = {
    "mixtral": {
        "gate": "gate.weight",
        "w1": "gate_up_proj",
        "w3": "gate_up_proj",
        "w2": "down_proj",
    },
    "qwen2_moe": {
        "gate": "gate.weight",
        "gate_proj": "gate_up_proj",
        "up_proj": "gate_up_proj",
        "down_proj": "down_proj",
    },
}
_MOE_FUSED: dict[str, dict[str, tuple[str, ...]]] = {
    "mixtral": {"gate_up_proj": ("w1", "w3")},
    "qwen2_moe": {"gate_up_proj": ("gate_proj", "up_proj")},
}

_ATTENTION_LEAVES = {
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "qkv_proj",
    "query_key_value",
    "c_attn",
}
_MLP_LEAVES = {
    "gate_proj", "up_proj", "down_proj", "gate_up_proj", "fc1", "fc2", "fc_in", "fc_out", "c_fc",
    "dense_h_to_4h", "dense_4h_to_h", "w1", "w2", "w3",
}  # fmt: skip


def build_meta_model(config: Any, *, trust_remote_code: bool = False) -> Any:
    """The causal LM of `config`, built on the meta device: shapes only, no memory, no weights."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        with torch.device("meta"):
            return AutoModelForCausalLM.from_config(  # type: ignore[no-untyped-call]
                config, trust_remote_code=trust_remote_code
            )
    except ValueError as exc:
        if "Unrecognized configuration class" in str(exc):
            model_type = getattr(config, "model_type", "?")
            raise ModelError(
                f"model_type {model_type!r} has no causal language model in transformers; "
                "lorawiz fine-tunes causal LMs only"
            ) from None
        raise ModelError(f"cannot build the model from its config: {_first_line(exc)}") from None
    except (TypeError, AttributeError, KeyError, AssertionError, RuntimeError) as exc:
        raise ModelError(
            f"cannot build the model from its config ({type(exc).__name__}: {_first_line(exc)}); "
            "check config.json"
        ) from None


def _first_line(exc: BaseException) -> str:
    """The exception's message on one line, shortened."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text[:240] if text else type(exc).__name__


def moe_conversion(model_type: str) -> str | None:
    """The peft MoE conversion family ("mixtral" / "qwen2_moe") that applies, if any."""
    if not model_type:
        return None
    try:
        from transformers import conversion_mapping
    except ImportError:  # pragma: no cover - transformers < 5 has no conversions
        return None
    patterns = {**conversion_mapping._MODEL_TO_CONVERSION_PATTERN, "mixtral": "mixtral"}
    family = patterns.get(model_type)
    if family not in _MOE_TARGETS:
        return None
    checkpoint_mapping = conversion_mapping.get_checkpoint_conversion_mapping
    if checkpoint_mapping(model_type) is None:  # type: ignore[no-untyped-call]
        return None
    return family


def pattern(name: str) -> str:
    """A module path with layer/expert indices replaced by `*`: "model.layers.*.mlp.gate"."""
    return re.sub(r"(?<=\.)\d+(?=\.|$)|^\d+(?=\.)", "*", name)


def group_of(path: str) -> str:
    """The display group of a module from its dotted path."""
    parts = path.lower().split(".")
    leaf = parts[-1]
    if any("expert" in part or "router" in part for part in parts):
        return "experts/router"
    owners = parts[:-1]
    if any("attn" in part or "attention" in part for part in owners):
        return "attention"
    if any(part in ("mlp", "ffn", "feed_forward") or "mlp" in part for part in owners):
        return "mlp"
    if leaf in _ATTENTION_LEAVES:
        return "attention"
    if leaf in _MLP_LEAVES:
        return "mlp"
    return "other"


def scan_model(model: Any) -> tuple[list[LinearLayer], list[str]]:
    """Every module name LoRA can wrap in `model`, and what it leaves out (the output head…)."""
    import torch.nn as nn
    from transformers.pytorch_utils import Conv1D

    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    family = moe_conversion(str(getattr(model.config, "model_type", "") or ""))
    renamed = _MOE_TARGETS.get(family or "", {})
    fused = _MOE_FUSED.get(family or "", {})

    counts: dict[tuple[str, str, int, int, tuple[str, ...], bool], int] = {}
    excluded: dict[str, None] = {}

    def add(
        name: str,
        group: str,
        n: int,
        shape: tuple[int, int],
        fused_with: Iterable[str],
        parameter: bool = False,
    ) -> None:
        key = (name, group, shape[0], shape[1], tuple(fused_with), parameter)
        counts[key] = counts.get(key, 0) + n

    for name, module in model.named_modules():
        leaf = name.rpartition(".")[2]
        targeted_param = False
        # peft's parameter targeting: any parameter whose dotted name ends with the new name.
        for param_name, param in module.named_parameters(recurse=False):
            key = f"{name}.{param_name}" if name else param_name
            for old, new in renamed.items():
                if not (key == new or key.endswith("." + new)):
                    continue
                targeted_param = True
                names = fused.get(new, (old,))
                in_f, out_f, experts = _param_shape(module, param.shape, len(names))
                others = (n for n in names if n != old)
                add(old, "experts/router", experts, (in_f, out_f), others, parameter=True)
        if isinstance(module, nn.Linear | Conv1D):
            if module is head:
                excluded[name] = None
            elif leaf in renamed:
                if not targeted_param:
                    excluded[f"{pattern(name)} (peft maps {leaf} to the experts)"] = None
            else:
                in_f, out_f = _linear_shape(module, Conv1D)
                add(leaf, group_of(name), 1, (in_f, out_f), ())
        elif not targeted_param and _is_moe_holder(module):
            kind = type(module).__name__
            excluded[f"{pattern(name)} ({kind}, not a Linear: peft skips it)"] = None

    layers = [
        LinearLayer(name, group, count, in_f, out_f, fused_with, parameter)
        for (name, group, in_f, out_f, fused_with, parameter), count in counts.items()
    ]
    layers.sort(key=lambda layer: GROUPS.index(layer.group))  # stable: model order within a group
    return layers, list(excluded)


def _linear_shape(module: Any, conv1d: Any) -> tuple[int, int]:
    if isinstance(module, conv1d):
        # GPT-2's Conv1D stores its weight as in × out.
        in_f, out_f = module.weight.shape
        return int(in_f), int(out_f)
    return int(module.in_features), int(module.out_features)


def _param_shape(module: Any, shape: Any, fused: int) -> tuple[int, int, int]:
    """(in, out, experts) of a targeted parameter, per expert and per fused name."""
    dims = tuple(int(d) for d in shape)
    if len(dims) == 3:
        experts, first, second = dims
        # transformers 5 experts store (experts, out, in); `is_transposed` means (experts, in, out)
        in_f, out_f = (
            (first, second) if getattr(module, "is_transposed", False) else (second, first)
        )
    elif len(dims) == 2:
        experts, (out_f, in_f) = 1, dims
    else:
        raise ModelError(f"peft cannot target a {len(dims)}-D parameter of {type(module).__name__}")
    if out_f % fused:
        raise ModelError(f"fused weight of {type(module).__name__} does not split into {fused}")
    return in_f, out_f // fused, experts


def _is_moe_holder(module: Any) -> bool:
    """Experts kept as fused 3-D parameters, or a router that is not a Linear."""
    if "router" in type(module).__name__.lower():
        return True
    return any(p.dim() == 3 for p in module.parameters(recurse=False))
