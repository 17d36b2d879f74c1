"""Dataset formats: which columns make which format, and how a row of each becomes a trl row.

Pure functions on column names and plain dict rows; nothing here imports `datasets`.

| format              | columns                          | trl gets                          |
|---------------------|----------------------------------|-----------------------------------|
| "alpaca"            | instruction, output (+ input)    | prompt / completion (strings)     |
| "messages"          | messages                         | messages (a conversation)         |
| "prompt-completion" | prompt, completion               | prompt / completion               |
| "text"              | text                             | text                              |
| "preference"        | prompt, chosen, rejected         | prompt / chosen / rejected        |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from lorawiz.core.errors import DataError

ALPACA: Final = "alpaca"
MESSAGES: Final = "messages"
PROMPT_COMPLETION: Final = "prompt-completion"
TEXT: Final = "text"
PREFERENCE: Final = "preference"

SFT_FORMATS: Final = (ALPACA, MESSAGES, PROMPT_COMPLETION, TEXT)
DPO_FORMATS: Final = (PREFERENCE,)

# The Stanford Alpaca prompt (also used by Intel's fine-tuning examples); the model learns to
# write the response after "### Response:".
ALPACA_PROMPT: Final = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
ALPACA_PROMPT_NO_INPUT: Final = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"
)

_SFT_NEEDS: Final = "instruction/input/output (Alpaca), messages, prompt/completion, or text"
_DPO_NEEDS: Final = "prompt/chosen/rejected"

# The columns each format trains on, in the order trl expects them.
TRAINING_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    ALPACA: ("prompt", "completion"),
    MESSAGES: ("messages",),
    PROMPT_COMPLETION: ("prompt", "completion"),
    TEXT: ("text",),
    PREFERENCE: ("prompt", "chosen", "rejected"),
}


def _sft_format(found: set[str]) -> str | None:
    if "messages" in found:
        return MESSAGES
    if {"instruction", "output"} <= found:
        return ALPACA
    if {"prompt", "completion"} <= found:
        return PROMPT_COMPLETION
    if "text" in found:
        return TEXT
    return None


def detect_format(columns: Iterable[str], method: str, *, source: str = "") -> str:
    """The format of data with these columns, for `method` ("sft" or "dpo").

    Raises DataError (prefixed with `source` when given) when the columns fit no format of the
    method, saying which columns were found and which are needed, and naming the other method
    when the data fits that one instead."""
    found = set(columns)
    listed = ", ".join(sorted(found)) or "none"
    where = f"{source}: " if source else ""
    preference = {"prompt", "chosen", "rejected"} <= found
    if method == "sft":
        sft = _sft_format(found)
        if sft is not None and not (preference and sft == PROMPT_COMPLETION):
            return sft
        if preference or {"chosen", "rejected"} <= found:
            raise DataError(
                f"{where}this is preference data (prompt/chosen/rejected), which trains with "
                "DPO; use method dpo, or give SFT data"
            )
        raise DataError(f"{where}found columns {listed}; SFT data needs {_SFT_NEEDS}")
    if method == "dpo":
        if preference:
            return PREFERENCE
        if {"chosen", "rejected"} <= found:
            raise DataError(
                f"{where}found chosen and rejected but no prompt column; DPO data needs "
                f"{_DPO_NEEDS}"
            )
        sft = _sft_format(found)
        if sft is not None:
            raise DataError(
                f"{where}this is SFT data ({sft}: columns {listed}); use method sft, or give "
                f"DPO data with {_DPO_NEEDS}"
            )
        raise DataError(f"{where}found columns {listed}; DPO data needs {_DPO_NEEDS}")
    raise DataError(f"unknown method {method!r}; use sft or dpo")


def is_conversation(value: object) -> bool:
    """A list of {"role", "content"} messages (trl's conversational format)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, Mapping) and "role" in m and "content" in m for m in value)
    )


def _text_or_conversation(row: Mapping[str, Any], column: str, where: str) -> Any:
    value = row.get(column)
    if isinstance(value, str) or is_conversation(value):
        return value
    kind = "empty" if value is None else type(value).__name__
    raise DataError(
        f"{where}: {column!r} is {kind}; it must be text or a list of {{role, content}} messages"
    )


def _text(row: Mapping[str, Any], column: str, where: str, *, optional: bool = False) -> str:
    value = row.get(column)
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        kind = "empty" if value is None else type(value).__name__
        raise DataError(f"{where}: {column!r} is {kind}; it must be text")
    return value


def alpaca_prompt(instruction: str, input_: str = "") -> str:
    """The Alpaca prompt for an instruction and its (optional) input."""
    if input_.strip():
        return ALPACA_PROMPT.format(instruction=instruction, input=input_)
    return ALPACA_PROMPT_NO_INPUT.format(instruction=instruction)


def training_row(row: Mapping[str, Any], fmt: str, where: str) -> dict[str, Any]:
    """One raw row as trl expects it for `fmt`; `where` names the row in error messages."""
    if fmt == ALPACA:
        return {
            "prompt": alpaca_prompt(
                _text(row, "instruction", where), _text(row, "input", where, optional=True)
            ),
            "completion": _text(row, "output", where),
        }
    if fmt == MESSAGES:
        if not is_conversation(row.get("messages")):
            raise DataError(f"{where}: 'messages' must be a list of {{role, content}} messages")
        return {"messages": row["messages"]}
    if fmt == TEXT:
        return {"text": _text(row, "text", where)}
    columns = TRAINING_COLUMNS[fmt]
    out = {column: _text_or_conversation(row, column, where) for column in columns}
    kinds = {isinstance(value, str) for value in out.values()}
    if len(kinds) > 1:
        raise DataError(
            f"{where}: mixes text and conversations across {', '.join(columns)}; use one kind"
        )
    return out
