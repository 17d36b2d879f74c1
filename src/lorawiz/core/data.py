"""Datasets: loading, format detection, validation, preview, and token-length statistics.

A source is "demo-sft" / "demo-dpo" (shipped with lorawiz), a local .jsonl/.json/.csv/.parquet
file or a folder of them, or a Hugging Face hub dataset id. Every problem a user can cause is a
one-line DataError naming the file (and the line, where there is one) and what to do.
`datasets` is imported inside functions; local data is read into memory, and hub datasets are
cached under lorawiz's cache folder, never in ~/.cache.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lorawiz.core.data_files import SUFFIXES, read_file, read_folder
from lorawiz.core.data_formats import (
    MESSAGES,
    PREFERENCE,
    TEXT,
    TRAINING_COLUMNS,
    detect_format,
    is_conversation,
    training_row,
)
from lorawiz.core.demo import DEMO_DATASETS, demo_dataset_path
from lorawiz.core.errors import DataError
from lorawiz.core.paths import cache_dir

__all__ = [
    "DataPreview",
    "TokenStats",
    "detect_format",
    "length_stats",
    "load_rows",
    "preview",
    "token_length_stats",
    "training_dataset",
]

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


@dataclass(frozen=True)
class DataPreview:
    """What the wizard shows about a dataset before training on it."""

    source: str
    """The source as given ("demo-sft", a path, a hub id)."""
    method: str
    """"sft" or "dpo"."""
    format: str
    """"alpaca", "messages", "prompt-completion", "text" or "preference"."""
    columns: tuple[str, ...]
    """Every column of the raw data, in file order."""
    num_rows: int
    """Rows in the split."""
    rows: tuple[dict[str, Any], ...]
    """The first rows, raw, as the file holds them."""


@dataclass(frozen=True)
class TokenStats:
    """Token lengths of the training examples as the trainer will see them."""

    min: int
    median: int
    """The lower median (an actual example's length)."""
    p95: int
    """95th percentile by nearest rank: at least 95% of examples are this long or shorter."""
    max: int
    truncated: int
    """Examples longer than max_length, which training cuts short."""
    rows: int
    """Examples measured."""
    max_length: int


def _data_dir() -> Path:
    return cache_dir() / "datasets"


def _looks_like_path(source: str) -> bool:
    return (
        source.startswith((".", "/", "~"))
        or "\\" in source
        or source.count("/") > 1
        or Path(source).suffix.lower() in SUFFIXES
    )


def load_rows(source: str, split: str = "train") -> Any:
    """The raw rows of `source` as a `datasets.Dataset`; raises DataError if there are none."""
    dataset, origin = _load(source, split)
    if len(dataset) == 0 or not dataset.column_names:
        raise DataError(f"{origin}: no rows in split {split!r}; add data or pick another source")
    return dataset


def _load(source: str, split: str) -> tuple[Any, str]:
    if source in DEMO_DATASETS:
        _single_file_split(source, split)
        return read_file(demo_dataset_path(source)), source
    path = Path(source).expanduser()
    if path.is_dir():
        return read_folder(path, split), str(path)
    if path.is_file():
        _single_file_split(str(path), split)
        return read_file(path), str(path)
    if _looks_like_path(source) or not _HUB_ID.fullmatch(source):
        raise DataError(
            f"no such file or folder: {source}; give a {', '.join(SUFFIXES)} file, a folder of "
            "them, a hub dataset id, demo-sft or demo-dpo"
        )
    return _load_hub(source, split), source


def _single_file_split(origin: str, split: str) -> None:
    if split != "train":
        raise DataError(
            f"{origin}: a single file has only the train split (asked for {split!r}); use "
            "split train, or a folder with files named for each split"
        )


def _load_hub(source: str, split: str) -> Any:
    import datasets

    try:
        return datasets.load_dataset(source, split=split, cache_dir=str(_data_dir()))
    except Exception as exc:  # offline, unknown id, gated, missing split: all say the same
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"cannot load hub dataset {source!r} ({reason}); check the id and your network, or "
            "download it and give a local .jsonl/.json/.csv/.parquet file"
        ) from None


def _origin(source: str) -> str:
    return source if source in DEMO_DATASETS else str(Path(source).expanduser())


def preview(source: str, method: str, n: int = 5, split: str = "train") -> DataPreview:
    """The format, columns, size and first `n` raw rows of `source` for `method`."""
    dataset = load_rows(source, split)
    columns = tuple(dataset.column_names)
    fmt = detect_format(columns, method, source=_origin(source))
    first = dataset.select(range(min(n, len(dataset))))
    return DataPreview(
        source=source,
        method=method,
        format=fmt,
        columns=columns,
        num_rows=len(dataset),
        rows=tuple(dict(row) for row in first),
    )


def training_dataset(source: str, method: str, split: str = "train") -> Any:
    """The rows trl trains on: SFT gets "prompt"/"completion" (Alpaca rendered with the Alpaca
    prompt), "messages" or "text"; DPO gets "prompt"/"chosen"/"rejected" (text or
    conversations). Every row is checked; a bad one is named by its number (1-based)."""
    dataset = load_rows(source, split)
    origin = _origin(source)
    fmt = detect_format(dataset.column_names, method, source=origin)
    rows = [
        training_row(row, fmt, f"{origin}: row {number}")
        for number, row in enumerate(dataset, start=1)
    ]
    import datasets

    columns = TRAINING_COLUMNS[fmt]
    return datasets.Dataset.from_dict({c: [row[c] for row in rows] for c in columns})


# ---------------------------------------------------------------------------- token lengths


def length_stats(lengths: Sequence[int], max_length: int) -> TokenStats:
    """Summary of token lengths: lower median, nearest-rank 95th percentile, and how many
    exceed `max_length`."""
    if not lengths:
        raise DataError("no examples to measure; add data")
    ordered = sorted(lengths)
    count = len(ordered)
    return TokenStats(
        min=ordered[0],
        median=ordered[(count - 1) // 2],
        p95=ordered[max(0, math.ceil(0.95 * count) - 1)],
        max=ordered[-1],
        truncated=sum(1 for length in ordered if length > max_length),
        rows=count,
        max_length=max_length,
    )


def token_length_stats(
    source: str, method: str, tokenizer: Any, max_length: int, split: str = "train"
) -> TokenStats:
    """Token lengths of every training example of `source` with `tokenizer`, as trl builds them:
    prompt + completion + end-of-sequence token (for DPO, the longer of chosen and rejected),
    or the chat template applied to the conversation."""
    dataset = training_dataset(source, method, split)
    fmt = detect_format(dataset.column_names, method)
    # (example index, text, whether the tokenizer adds its special tokens): a chat template
    # writes its own special tokens, plain text gets them from the tokenizer, as in trl.
    pieces = [
        (index, text, special)
        for index, row in enumerate(dataset)
        for text, special in _example_texts(row, fmt, tokenizer)
    ]
    lengths = [0] * len(dataset)
    for special in (True, False):
        chosen = [(index, text) for index, text, flag in pieces if flag is special]
        if not chosen:
            continue
        ids = tokenizer([text for _, text in chosen], add_special_tokens=special)["input_ids"]
        for (index, _), tokens in zip(chosen, ids, strict=True):
            lengths[index] = max(lengths[index], len(tokens))
    return length_stats(lengths, max_length)


def _example_texts(row: dict[str, Any], fmt: str, tokenizer: Any) -> Iterable[tuple[str, bool]]:
    """The full text of each sequence one example trains on (DPO: one per answer), and whether
    the tokenizer should add its special tokens to it."""
    eos = tokenizer.eos_token or ""

    def finish(text: str) -> str:
        return text if not eos or text.endswith(eos) else text + eos

    if fmt == TEXT:
        yield finish(row["text"]), True
    elif fmt == MESSAGES:
        yield _chat(tokenizer, row["messages"]), False
    else:
        answers = ("chosen", "rejected") if fmt == PREFERENCE else ("completion",)
        for answer in answers:
            if is_conversation(row["prompt"]):
                yield _chat(tokenizer, [*row["prompt"], *row[answer]]), False
            else:
                yield finish(row["prompt"] + row[answer]), True


def _chat(tokenizer: Any, messages: list[dict[str, Any]]) -> str:
    if not getattr(tokenizer, "chat_template", None):
        raise DataError(
            "this data is conversational, but the model's tokenizer has no chat template; use a "
            "chat model or data with prompt/completion text"
        )
    return str(tokenizer.apply_chat_template(messages, tokenize=False))
