"""Dataset formats: which columns make which format, and how each becomes trl-ready rows.

Pure functions on column names and plain dict rows; nothing here imports `datasets`.
"""

from __future__ import annotations

from typing import Final

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
