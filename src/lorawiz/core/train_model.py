"""Builds what the training child runs: the (4-bit) base model, the LoRA config and the trl
trainer, all from a session. Kept apart from `train.py` so the benchmark and tests can build a
trainer without the process around it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lorawiz.core.devices import DeviceInfo, load_ipex, pick_device
from lorawiz.core.session import Session


@dataclass
class Prepared:
    """What validating a session loaded, handed on to `build_trainer` so nothing is loaded
    twice: the device, the model's local source, its meta-device inspection and the rows."""

    device: DeviceInfo
    source: str
    inspection: Any
    """The `ModelInspection` of the base model."""
    dataset: Any
    """The `datasets.Dataset` trl trains on."""


def prepare(session: Session) -> Prepared:
    """Check what can be checked before loading the weights: device, model, targets, data.

    Raises the matching LorawizError (DeviceError, ModelError, SessionError, DataError) with a
    one-line message. The training child runs this first and reports the outcome to its
    launcher (see `runs.launch`); what it loaded is kept for the build.
    """
    import importlib.util

    from lorawiz.core.data import training_dataset
    from lorawiz.core.demo import resolve_model_source
    from lorawiz.core.errors import DataError, RunError, SessionError
    from lorawiz.core.inspect import inspect_model

    device = pick_device(session.train.device)
    if session.model.quantization == "nf4" and importlib.util.find_spec("bitsandbytes") is None:
        raise RunError('quantization = "nf4" needs bitsandbytes; pip install bitsandbytes')
    source = resolve_model_source(session.model.name)
    inspection = inspect_model(source, trust_remote_code=session.model.trust_remote_code)
    by_parameter = [
        layer.name for layer in inspection.selected_layers(session.lora.targets) if layer.parameter
    ]
    if by_parameter and session.lora.dropout != 0:
        raise SessionError(
            f"lora.dropout: peft adapts the mixture-of-experts weights {', '.join(by_parameter)} "
            "only with dropout = 0; set [lora] dropout = 0 or leave those targets out"
        )
    dataset = training_dataset(session.data.source, session.method, split=session.data.split)
    if len(dataset) == 0:
        raise DataError(f"{session.data.source}: no examples to train on")
    return Prepared(device, source, inspection, dataset)


@dataclass
class BuiltTrainer:
    trainer: Any
    """A trl SFTTrainer or DPOTrainer, ready for `.train()`."""
    tokenizer: Any
    device: DeviceInfo
    trainable_params: int
    total_params: int
    """The base model's parameters, unquantized (as `lorawiz inspect` counts them)."""


def cpu_threads(device: DeviceInfo) -> int | None:
    """How many threads torch should compute with on the CPU; None to leave torch's default.

    One, on a machine with at most 2 cores, unless the user set OMP_NUM_THREADS. Measured
    here (2 cores, demo SFT, 20 steps, 3 reps alternating, the machine also running other
    tests): 1 thread 3.42/3.68/4.10 steps/s, torch's default (2) 0.90/2.76/5.25 — medians
    3.68 vs 2.76. Two threads win only on an otherwise idle machine (5.25 vs 4.10); under any
    other load OpenMP's threads wait on each other and a step takes up to 4x longer. On larger
    machines nothing was measured, so torch's default stays.
    """
    if device.kind != "cpu" or "OMP_NUM_THREADS" in os.environ:
        return None
    return 1 if (os.cpu_count() or 1) <= 2 else None


def quantization_config(device: DeviceInfo) -> Any:
    """QLoRA's 4-bit NF4 with double quantization; computing in bf16 where it is native."""
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(  # type: ignore[no-untyped-call]
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if device.bf16 else torch.float32,
    )


def lora_config(session: Session) -> Any:
    from peft import LoraConfig

    targets = session.lora.targets
    alpha = session.lora.alpha
    return LoraConfig(
        r=session.lora.r,
        # peft annotates lora_alpha as int, but only ever divides by it: keep 16.0 an int,
        # and a fractional alpha as given.
        lora_alpha=int(alpha) if float(alpha).is_integer() else alpha,  # type: ignore[arg-type]
        lora_dropout=session.lora.dropout,
        target_modules=targets if isinstance(targets, str) else list(targets),
        bias="none",
        task_type="CAUSAL_LM",
    )


def load_model(session: Session, source: str, device: DeviceInfo) -> Any:
    """The base model on `device`: 4-bit NF4 prepared for k-bit training, or plain weights."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if device.bf16 else torch.float32
    kwargs: dict[str, Any] = {
        "dtype": dtype,
        "trust_remote_code": session.model.trust_remote_code,
    }
    if session.model.quantization == "nf4":
        kwargs["quantization_config"] = quantization_config(device)
        # bitsandbytes quantizes as the weights land on the device.
        kwargs["device_map"] = {"": device.torch_device}
    model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    if session.model.quantization == "nf4":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model,
            use_gradient_checkpointing=session.train.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    return model


def load_tokenizer(session: Session, source: str) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        source, trust_remote_code=session.model.trust_remote_code
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def training_arguments(session: Session, run_dir: Path, device: DeviceInfo, config_cls: Any) -> Any:
    """SFTConfig / DPOConfig from the session's [train] (and [dpo]) sections."""
    train = session.train
    fields = {field.name for field in dataclasses.fields(config_cls)}
    kwargs: dict[str, Any] = {
        "output_dir": str(run_dir),
        "per_device_train_batch_size": train.batch_size,
        "gradient_accumulation_steps": train.grad_accum,
        "learning_rate": train.learning_rate,
        "lr_scheduler_type": train.lr_scheduler,
        "logging_steps": train.logging_steps,
        "save_strategy": "steps",
        "save_steps": train.save_steps,
        "seed": train.seed,
        "data_seed": train.seed,
        "report_to": "none",
        "disable_tqdm": True,
        "use_cpu": device.kind == "cpu",
        "bf16": device.bf16 and device.kind != "cpu",
        "max_length": train.max_length,
    }
    # transformers 5 takes the warm-up ratio as a float warmup_steps < 1; 4.x as warmup_ratio.
    if "warmup_ratio" in fields:
        kwargs["warmup_ratio"] = train.warmup_ratio
    else:
        kwargs["warmup_steps"] = train.warmup_ratio
    # transformers 5 renamed gradient_checkpointing (kept as a deprecated alias).
    checkpointing = (
        "activation_checkpointing"
        if "activation_checkpointing" in fields
        else "gradient_checkpointing"
    )
    kwargs[checkpointing] = train.gradient_checkpointing
    kwargs[f"{checkpointing}_kwargs"] = {"use_reentrant": False}
    if train.max_steps is not None:
        kwargs["max_steps"] = train.max_steps
    else:
        kwargs["max_steps"] = -1
        kwargs["num_train_epochs"] = float(train.epochs or 1)
    if session.method == "dpo":
        kwargs["beta"] = session.dpo.beta
    return config_cls(**kwargs)


def build_trainer(
    session: Session,
    run_dir: Path,
    *,
    say: Callable[[str], None] = print,
    prepared: Prepared | None = None,
) -> BuiltTrainer:
    """Everything the child needs to call `.train()`, built from the session (and from what
    `prepare` loaded already, when given: the device, the inspection, the dataset)."""
    if prepared is None:
        prepared = prepare(session)
    device, source, dataset = prepared.device, prepared.source, prepared.dataset
    say(f"device {device.describe()}")
    if device.kind == "xpu":
        say(f"intel-extension-for-pytorch: {load_ipex(device).reason}")
    threads = cpu_threads(device)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
        say(f"torch computes with {threads} thread(s); set OMP_NUM_THREADS to choose")
    tokenizer = load_tokenizer(session, source)
    say(f"data {session.data.source}: {len(dataset)} examples")
    model = load_model(session, source, device)
    total = int(prepared.inspection.total_params)
    peft_config = lora_config(session)
    if session.method == "dpo":
        from trl.trainer.dpo_config import DPOConfig
        from trl.trainer.dpo_trainer import DPOTrainer

        args = training_arguments(session, run_dir, device, DPOConfig)
        # ref_model=None with a peft_config: the reference is the adapter-disabled model.
        trainer: Any = DPOTrainer(
            model=model,
            ref_model=None,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
        )
    else:
        from trl.trainer.sft_config import SFTConfig
        from trl.trainer.sft_trainer import SFTTrainer

        args = training_arguments(session, run_dir, device, SFTConfig)
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
        )
    trainable, _ = trainer.model.get_nb_trainable_parameters()
    say(f"LoRA trains {trainable:,} of {total:,} parameters")
    return BuiltTrainer(trainer, tokenizer, device, int(trainable), int(total))
