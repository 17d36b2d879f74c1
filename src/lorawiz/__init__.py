"""lorawiz: a terminal wizard for QLoRA SFT and DPO fine-tuning of causal language models.

Importing the package is cheap on purpose: nothing heavy (torch, transformers, peft, trl,
textual) is imported here, so `lorawiz --help` and the wizard's first screen appear fast.
"""

__version__ = "0.1.0"
