"""Model inspection: every linear layer LoRA can wrap, and the exact share it will train.

The model is built on the meta device from its config alone (no weights, no memory), its
modules are scanned once (see `inspect_scan.py`), and everything after that is pure
arithmetic on the stored `LinearLayer`s, so the wizard can recompute the share on each
keystroke. The counts equal what `peft.get_peft_model(...).get_nb_trainable_parameters()`
reports, to the parameter, including peft 0.21's handling of transformers 5 mixture-of-experts
(fused 3-D expert weights and routers targeted as parameters, fused gate/up at twice the rank).

torch, transformers and peft are imported inside functions only: importing this module is free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from lorawiz.core.errors import ModelError

ALL_LINEAR = "all-linear"
"""The targets shorthand for every linear layer except the output head (as in peft)."""

GROUPS = ("attention", "mlp", "experts/router", "other")
"""The display groups of `LinearLayer.group`, in display order."""


def check_rank(r: int) -> int:
    """Return `r` if it is a usable LoRA rank, else raise ModelError."""
    if isinstance(r, bool) or not isinstance(r, int) or r <= 0:
        raise ModelError(f"LoRA rank r must be a positive whole number, got {r!r}; try r=8")
    return r


@dataclass(frozen=True)
class LinearLayer:
    """All modules of one name (and shape) that LoRA can wrap, e.g. every `q_proj`."""

    name: str
    """The module name suffix peft targets, e.g. "q_proj"; what `targets` lists."""
    group: str
    """Where it sits: "attention" | "mlp" | "experts/router" | "other"."""
    count: int
    """How many modules (for mixture-of-experts weights: layers × experts) carry this name."""
    in_features: int
    """Input width of one module (one expert)."""
    out_features: int
    """Output width of one module (one expert)."""
    fused_with: tuple[str, ...] = ()
    """Names stored in one fused weight with this one (transformers 5 experts, e.g. w1 with w3).

    peft needs all of them targeted together and trains the fused weight at rank
    r × (1 + len(fused_with)); the cost is split evenly between the names."""
    parameter: bool = False
    """peft adapts it through parameter targeting (its ParamWrapper: mixture-of-experts weights
    and routers), which only works with lora dropout 0."""

    def lora_params(self, r: int) -> int:
        """Parameters LoRA adds to all `count` modules at rank `r` (A: in×r, B: r×out, no bias)."""
        check_rank(r)
        fused = 1 + len(self.fused_with)
        # A fused weight of k names at rank k·r: A is in×(k·r), B is (k·r)×(k·out), shared by k.
        return self.count * r * (self.in_features + fused * self.out_features)

    def to_dict(self, r: int) -> dict[str, Any]:
        """The `layers[]` entry of `inspect --json`."""
        entry: dict[str, Any] = {
            "name": self.name,
            "group": self.group,
            "count": self.count,
            "in_features": self.in_features,
            "out_features": self.out_features,
            "lora_params": self.lora_params(r),
        }
        if self.fused_with:
            entry["fused_with"] = list(self.fused_with)
        return entry


@dataclass(frozen=True)
class ModelInspection:
    """What LoRA can adapt in one model, and the arithmetic of how much it will train."""

    source: str
    """The model as the user gave it: a folder, a hub id, "demo" or "config"."""
    path: str | None
    """The local folder the config was read from, when there is one."""
    model_type: str
    """The config's `model_type`, e.g. "llama"."""
    architecture: str
    """The causal-LM class built from the config, e.g. "LlamaForCausalLM"."""
    total_params: int
    """Parameters of the base model, unquantized, tied weights counted once."""
    layers: tuple[LinearLayer, ...]
    """Every module name LoRA can wrap, grouped by name and shape, in model order."""
    excluded: tuple[str, ...]
    """Linear-like modules LoRA leaves alone, e.g. the output head "lm_head"."""

    @property
    def names(self) -> list[str]:
        """The distinct target names, in model order (what `all-linear` resolves to)."""
        return list(dict.fromkeys(layer.name for layer in self.layers))

    def resolve_targets(self, targets: str | Sequence[str]) -> list[str]:
        """The module names `targets` selects, in model order.

        `targets` is "all-linear", a comma-separated string, or a sequence of names. Raises
        ModelError for an empty selection, an unknown name (listing the valid ones) or half of a
        fused pair.
        """
        if isinstance(targets, str):
            wanted = [part.strip() for part in targets.split(",")]
        else:
            wanted = [str(part).strip() for part in targets]
        wanted = [name for name in wanted if name]
        valid = self.names
        if any(name.lower() == ALL_LINEAR for name in wanted):
            return valid
        if not wanted:
            raise ModelError(
                f"no target modules given; use {ALL_LINEAR} or some of: {_list(valid)}"
            )
        unknown = [name for name in dict.fromkeys(wanted) if name not in valid]
        if unknown:
            label = "module" if len(unknown) == 1 else "modules"
            raise ModelError(
                f"unknown target {label} {', '.join(unknown)} for {self.architecture}; "
                f"choose from {_list(valid)} or {ALL_LINEAR}"
            )
        chosen = set(wanted)
        for layer in self.layers:
            missing = [name for name in layer.fused_with if name not in chosen]
            if layer.name in chosen and missing:
                together = " and ".join((layer.name, *layer.fused_with))
                raise ModelError(
                    f"{together} are one fused weight in transformers 5; target all of them "
                    f"(add {', '.join(missing)}) or none"
                )
        return [name for name in valid if name in chosen]

    def selected_layers(self, targets: str | Sequence[str]) -> list[LinearLayer]:
        """The layers `targets` selects (see `resolve_targets`)."""
        chosen = set(self.resolve_targets(targets))
        return [layer for layer in self.layers if layer.name in chosen]

    def trainable_params(self, targets: str | Sequence[str], r: int) -> int:
        """Parameters LoRA trains for `targets` at rank `r`, exactly as peft counts them."""
        check_rank(r)
        return sum(layer.lora_params(r) for layer in self.selected_layers(targets))

    def trainable_share(self, targets: str | Sequence[str], r: int) -> float:
        """trainable / (total + trainable), the fraction peft prints as "trainable%"."""
        trainable = self.trainable_params(targets, r)
        return trainable / (self.total_params + trainable) if trainable else 0.0

    def to_json(self, targets: str | Sequence[str], r: int, alpha: float) -> dict[str, Any]:
        """The object `lorawiz inspect --json` prints."""
        trainable = self.trainable_params(targets, r)
        return {
            "source": self.source,
            "path": self.path,
            "model_type": self.model_type,
            "architecture": self.architecture,
            "total_params": self.total_params,
            "r": r,
            "alpha": alpha,
            "targets": self.resolve_targets(targets),
            "trainable_params": trainable,
            "trainable_share": self.trainable_share(targets, r),
            "layers": [layer.to_dict(r) for layer in self.layers],
            "excluded": list(self.excluded),
        }


def _list(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "(none)"


def inspect_config(
    config: Any, *, source: str = "config", trust_remote_code: bool = False
) -> ModelInspection:
    """Inspect a transformers `PretrainedConfig`: build it on the meta device and scan it."""
    from lorawiz.core.inspect_scan import build_meta_model, scan_model

    model = build_meta_model(config, trust_remote_code=trust_remote_code)
    layers, excluded = scan_model(model)
    return ModelInspection(
        source=source,
        path=None,
        model_type=str(getattr(model.config, "model_type", None) or "unknown"),
        architecture=type(model).__name__,
        total_params=int(model.num_parameters()),
        layers=tuple(layers),
        excluded=tuple(excluded),
    )


def inspect_model(source: str, *, trust_remote_code: bool = False) -> ModelInspection:
    """Inspect a model given as a local folder, a hub id, or "demo" (reads only its config)."""
    from lorawiz.core.inspect_source import load_config

    config, path = load_config(source, trust_remote_code=trust_remote_code)
    inspection = inspect_config(config, source=source, trust_remote_code=trust_remote_code)
    return replace(inspection, path=str(path) if path is not None else None)
