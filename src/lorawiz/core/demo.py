"""The built-in demo: a tiny Llama-architecture model and two datasets, all made locally.

Nothing is downloaded. The datasets ship with lorawiz (`lorawiz/data/*.jsonl`). The model is
created on first use under `cache_dir()/demo-model-v1`, deterministically: a byte-level BPE
tokenizer trained on the demo data, then a small `LlamaForCausalLM` with seeded weights, given a
few seconds of full pre-training on the demo questions and answers as plain lines, so it is a
pretrained base that knows the words and numbers but not the Alpaca or chat format; LoRA then
teaches it to answer in that format.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from lorawiz.core.errors import DataError
from lorawiz.core.paths import cache_dir

if TYPE_CHECKING:
    from lorawiz.core.session import Session

DEMO_MODEL: Final = "demo"
DEMO_SFT: Final = "demo-sft"
DEMO_DPO: Final = "demo-dpo"
DEMO_DATASETS: Final = (DEMO_SFT, DEMO_DPO)

DEMO_MODEL_DIR: Final = "demo-model-v1"
"""Folder name under the cache; bump the suffix whenever the recipe below changes."""

_MARKER: Final = "lorawiz-demo.json"
"""Written last, before the folder is renamed into place: its presence means a complete model."""

_SEED: Final = 1234
_VOCAB_SIZE: Final = 1024
_PRETRAIN_STEPS: Final = 80
_PRETRAIN_BATCH: Final = 32
_PRETRAIN_LR: Final = 3e-3

BOS: Final = "<|begin|>"
EOS: Final = "<|end|>"
PAD: Final = "<|pad|>"
ROLE_TOKENS: Final = ("<|system|>", "<|user|>", "<|assistant|>")

CHAT_TEMPLATE: Final = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\\n' }}"
    "{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{% else %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)
"""A minimal chat format. The assistant's content and its end token sit inside
`{% generation %}` markers so trl's `assistant_only_loss` can mask everything else."""

# Model shape: every dimension a multiple of 64 so bitsandbytes NF4 blocks fit exactly.
_MODEL_SHAPE: Final[dict[str, Any]] = {
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
}


def demo_dataset_path(name: str) -> Path:
    """The shipped .jsonl file of "demo-sft" or "demo-dpo"."""
    if name not in DEMO_DATASETS:
        raise DataError(
            f"no built-in dataset {name!r}; the demo datasets are demo-sft and demo-dpo"
        )
    return Path(__file__).resolve().parent.parent / "data" / f"{name}.jsonl"


def resolve_model_source(name: str) -> str:
    """ "demo" becomes the local folder of the demo model (created if needed); anything else is
    returned unchanged."""
    if name == DEMO_MODEL:
        return str(ensure_demo_model())
    return name


def demo_session(method: Literal["sft", "dpo"]) -> Session:
    """The session `make demo` and the wizard start from: the demo model and the demo data of
    `method`, with settings that make the demo visibly learn in the default 60 steps."""
    from lorawiz.core.session import Session

    # Tuned on 2 CPU cores with plain trl runs of 60 steps (NF4, r=8/16 on all linear layers):
    # SFT loss falls from ~5.0 to ~2.2; DPO margins rise from ~0 to ~0.45 (accuracy 0.4 -> 0.65).
    # The tiny model needs a higher learning rate than a 7B model to move visibly in 60 steps,
    # and DPO a larger beta and batch: its preferred and rejected answers differ in one number.
    if method == "sft":
        return Session.for_method(
            "sft",
            model={"name": DEMO_MODEL},
            data={"source": DEMO_SFT},
            train={"learning_rate": 5e-3, "max_steps": 60, "batch_size": 8, "max_length": 128},
        )
    return Session.for_method(
        "dpo",
        model={"name": DEMO_MODEL},
        data={"source": DEMO_DPO},
        train={"learning_rate": 1e-3, "max_steps": 60, "batch_size": 16, "max_length": 128},
        dpo={"beta": 0.5},
    )


# ---------------------------------------------------------------------------- the model


def ensure_demo_model() -> Path:
    """The demo model folder (config.json, model.safetensors, tokenizer files), created on first
    use and reused after. Two processes creating it at once are safe: each builds in a private
    temporary folder and renames it into place; the loser discards its copy."""
    final = cache_dir() / DEMO_MODEL_DIR
    if (final / _MARKER).is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():  # a folder without the marker is a leftover of something else
        _discard(final)
    building = Path(tempfile.mkdtemp(prefix=f".{DEMO_MODEL_DIR}.", dir=final.parent))
    try:
        _build(building)
        try:
            os.rename(building, final)
        except OSError:
            if not (final / _MARKER).is_file():
                raise
            _discard(building)  # another process finished first; its copy is identical
    except BaseException:
        _discard(building)
        raise
    return final


def _discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _demo_texts() -> Iterator[str]:
    """Every string in both demo datasets, in file order."""
    for name in DEMO_DATASETS:
        with demo_dataset_path(name).open(encoding="utf-8") as handle:
            for line in handle:
                yield from (str(v) for v in json.loads(line).values() if v)


def _pretraining_lines() -> list[str]:
    """What the base model reads before LoRA: each demo question with its answer as plain lines,
    never in the chat or Alpaca format, so fine-tuning has a format to teach."""
    lines: list[str] = []
    with demo_dataset_path(DEMO_SFT).open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            lines.append(
                "\n".join(v for v in (row["instruction"], row["input"], row["output"]) if v)
            )
    return lines


def _build(folder: Path) -> None:
    tokenizer = _train_tokenizer()
    tokenizer.save_pretrained(folder)
    model = _create_model(tokenizer)
    from transformers.utils import logging as hf_logging

    # transformers 5 draws a "Writing model shards" bar on stderr; the demo is created inside
    # other commands (`lorawiz train`, the wizard), whose output must stay theirs.
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model.save_pretrained(folder)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    (folder / _MARKER).write_text(
        json.dumps({"recipe": DEMO_MODEL_DIR, "seed": _SEED}) + "\n", encoding="utf-8"
    )


def _train_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from lorawiz.core.data_formats import ALPACA_PROMPT, ALPACA_PROMPT_NO_INPUT

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB_SIZE,
        min_frequency=2,
        special_tokens=[PAD, BOS, EOS, *ROLE_TOKENS],
        # Every byte is in the vocabulary, so any text a user brings still tokenizes.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    templates = [ALPACA_PROMPT, ALPACA_PROMPT_NO_INPUT, "Question: Answer:"] * 50
    backend.train_from_iterator([*templates, *_demo_texts()], trainer=trainer)
    fast: Any = PreTrainedTokenizerFast  # untyped in transformers 5
    return fast(
        tokenizer_object=backend,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(ROLE_TOKENS),
        chat_template=CHAT_TEMPLATE,
        model_max_length=int(_MODEL_SHAPE["max_position_embeddings"]),
        clean_up_tokenization_spaces=False,
    )


def _create_model(tokenizer: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    vocab = -(-len(tokenizer) // 64) * 64
    config = LlamaConfig(
        vocab_size=vocab,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **_MODEL_SHAPE,
    )
    # One thread: the same arithmetic order on every machine (so the same weights), and on a
    # busy 2-core machine it is faster than two threads fighting for the cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_SEED)
            model = LlamaForCausalLM(config)
            _pretrain(model, tokenizer)
    finally:
        torch.set_num_threads(threads)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def _pretrain(model: Any, tokenizer: Any) -> None:
    """A few seconds of full training on the demo facts, in a fixed order."""
    import random

    import torch

    lines = [line + EOS for line in _pretraining_lines()]
    order = random.Random(_SEED)
    optimizer = torch.optim.AdamW(model.parameters(), lr=_PRETRAIN_LR, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 1.0 - step / _PRETRAIN_STEPS
    )
    model.train()
    for _ in range(_PRETRAIN_STEPS):
        batch = tokenizer(order.sample(lines, _PRETRAIN_BATCH), return_tensors="pt", padding=True)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()
