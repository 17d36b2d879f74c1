"""The session: everything needed to launch a run, as a human-editable TOML file (`version = 1`).

A session is validated strictly: unknown keys are refused with a "did you mean" (a typo must never
silently train with a default), numbers are range-checked, and a newer `version` is refused.
Method-dependent defaults (SFT r=8, DPO r=16, learning rates) are filled in when a field is absent.
Hub tokens are never part of a session; they come from the environment (`HF_TOKEN`).
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lorawiz.core.errors import SessionError
from lorawiz.core.paths import sessions_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SCHEMA_VERSION = 1
"""The newest session `version` this release reads and writes."""

Method = Literal["sft", "dpo"]

# Defaults that depend on the method (from the QLoRA / Intel fine-tuning examples).
METHOD_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "sft": {"lora": {"r": 8, "alpha": 16, "dropout": 0.05}, "train": {"learning_rate": 2e-4}},
    "dpo": {"lora": {"r": 16, "alpha": 16, "dropout": 0.05}, "train": {"learning_rate": 5e-5}},
}
DEFAULT_DATA = {"sft": "demo-sft", "dpo": "demo-dpo"}

# Names people bring from peft / transformers / trl, so "did you mean" can point at ours.
KNOWN_ALIASES = {
    "rank": "r",
    "lora_r": "r",
    "lora_alpha": "alpha",
    "lora_dropout": "dropout",
    "target_modules": "targets",
    "lr": "learning_rate",
    "steps": "max_steps",
    "num_train_epochs": "epochs",
    "per_device_train_batch_size": "batch_size",
    "gradient_accumulation_steps": "grad_accum",
    "model_name_or_path": "name",
    "dataset": "source",
    "max_seq_length": "max_length",
    "load_in_4bit": "quantization",
}


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, validate_assignment=True, use_attribute_docstrings=True
    )


class ModelSection(_Section):
    name: str = Field(default="demo", min_length=1)
    """A local folder with config.json, a Hugging Face hub id, or "demo" (the built-in model)."""
    quantization: Literal["nf4", "none"] = "nf4"
    """"nf4" loads the base model in 4-bit NormalFloat (QLoRA); "none" trains plain LoRA."""
    trust_remote_code: bool = False
    """Run the model's own Python code from its folder or hub repo. Off unless you trust it."""


class LoraSection(_Section):
    r: int = Field(default=8, gt=0, le=4096)
    """LoRA rank. SFT defaults to 8, DPO to 16."""
    alpha: float = Field(default=16, gt=0)
    """LoRA scaling numerator: the update is scaled by alpha / r."""
    dropout: float = Field(default=0.05, ge=0, lt=1)
    """Dropout on the LoRA input, 0 to <1."""
    targets: Literal["all-linear"] | list[str] = "all-linear"
    """"all-linear" (every linear layer but the output head, as QLoRA recommends) or names."""

    @field_validator("targets")
    @classmethod
    def _targets_not_empty(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError('give at least one module name, or "all-linear"')
            if any(not name.strip() for name in value):
                raise ValueError("module names must not be empty")
        return value


class DataSection(_Section):
    source: str = Field(default="demo-sft", min_length=1)
    """A .json/.jsonl/.csv/.parquet file or folder, a hub dataset id, "demo-sft" or "demo-dpo"."""
    split: str = "train"
    """Which split of the dataset to train on."""


class TrainSection(_Section):
    device: Literal["auto", "xpu", "cuda", "cpu"] = "auto"
    """auto picks an Intel GPU (xpu) first, then CUDA, then the CPU."""
    max_steps: int | None = Field(default=60, gt=0)
    """Optimizer steps to train. Set either max_steps or epochs (a file giving only epochs
    trains by epochs)."""
    epochs: float | None = Field(default=None, gt=0)
    """Passes over the data; used when max_steps is not set."""
    learning_rate: float = Field(default=2e-4, gt=0, lt=1)
    """Peak learning rate. LoRA tolerates ~10x the full fine-tuning rate: 2e-4 SFT, 5e-5 DPO."""
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    """How the learning rate decays after warm-up."""
    warmup_ratio: float = Field(default=0.03, ge=0, lt=1)
    """Fraction of the steps spent warming the learning rate up from 0."""
    batch_size: int = Field(default=4, gt=0, le=4096)
    """Examples per device per step."""
    grad_accum: int = Field(default=1, gt=0, le=4096)
    """Steps of gradients accumulated per optimizer step (effective batch = batch_size x this)."""
    max_length: int = Field(default=256, gt=0, le=1_048_576)
    """Longest tokenized example; longer ones are truncated."""
    logging_steps: int = Field(default=1, gt=0)
    """Write a log event every this many steps."""
    save_steps: int = Field(default=20, gt=0)
    """Save a resumable checkpoint every this many steps."""
    seed: int = 42
    """Random seed for data order and LoRA initialisation."""
    gradient_checkpointing: bool = True
    """Recompute activations in the backward pass: less memory, ~20% slower."""

    @model_validator(mode="after")
    def _steps_or_epochs(self) -> TrainSection:
        if (self.max_steps is None) == (self.epochs is None):
            raise ValueError("set either max_steps or epochs, not both")
        return self


class DpoSection(_Section):
    beta: float = Field(default=0.1, gt=0)
    """How strongly DPO keeps the policy near the reference (higher = closer)."""


class Session(_Section):
    """A whole session file. `Session.model_validate(dict)` fills method defaults."""

    version: int = SCHEMA_VERSION
    """Schema version of this file."""
    method: Method = "sft"
    """"sft" (QLoRA supervised fine-tuning) or "dpo" (direct preference optimisation)."""
    model: ModelSection = Field(default_factory=ModelSection)
    lora: LoraSection = Field(default_factory=LoraSection)
    data: DataSection = Field(default_factory=DataSection)
    train: TrainSection = Field(default_factory=TrainSection)
    dpo: DpoSection = Field(default_factory=DpoSection)

    @model_validator(mode="before")
    @classmethod
    def _method_defaults(cls, raw: Any) -> Any:
        """Fill fields the file leaves out with the defaults of its method."""
        if not isinstance(raw, dict):
            return raw
        method = raw.get("method", "sft")
        if method not in METHOD_DEFAULTS:
            return raw
        out = dict(raw)
        for section, values in METHOD_DEFAULTS[method].items():
            given = out.get(section, {})
            if isinstance(given, dict):
                out[section] = {**values, **given}
        train = out.get("train", {})
        if isinstance(train, dict) and "epochs" in train and "max_steps" not in train:
            out["train"] = {**train, "max_steps": None}
        data = out.get("data", {})
        if isinstance(data, dict) and "source" not in data:
            out["data"] = {**data, "source": DEFAULT_DATA[method]}
        return out

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > SCHEMA_VERSION:
            raise ValueError(
                f"this session is version {value}, but this lorawiz reads up to "
                f"{SCHEMA_VERSION}; upgrade lorawiz"
            )
        if value < 1:
            raise ValueError("must be 1")
        return value

    @classmethod
    def for_method(cls, method: Method, **sections: dict[str, Any]) -> Session:
        """A session with the defaults of `method`, overridden by `sections`."""
        return cls.from_dict({"method": method, **sections})

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, origin: str = "session") -> Session:
        """Validate a plain dict (as read from TOML); raises SessionError listing every problem."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = problems_from(exc)
            detail = "; ".join(str(p) for p in problems)
            raise SessionError(f"{origin}: {detail}", problems) from None

    def to_dict(self) -> dict[str, Any]:
        """Every field, in file order; None values are left out (TOML has no null)."""
        dumped: dict[str, Any] = _drop_none(self.model_dump(mode="python"))
        alpha = dumped["lora"]["alpha"]
        if float(alpha).is_integer():
            dumped["lora"]["alpha"] = int(alpha)  # `alpha = 16`, as people write it
        return dumped

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    def with_method(self, method: Method) -> Session:
        """Switch method, applying the new method's defaults (r, learning rate, data)."""
        raw = self.to_dict()
        raw["method"] = method
        for section, values in METHOD_DEFAULTS[method].items():
            raw[section] = {**raw[section], **values}
        if raw["data"]["source"] == DEFAULT_DATA[self.method]:
            raw["data"]["source"] = DEFAULT_DATA[method]
        return Session.from_dict(raw)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


@dataclass(frozen=True)
class Problem:
    """One validation problem: `loc` is the dotted field path ("lora.r"), `message` what to do."""

    loc: str
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}" if self.loc else self.message


def _known_fields(loc: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] = Session
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None or not isinstance(field.annotation, type):
            return []
        if not issubclass(field.annotation, BaseModel):
            return []
        model = field.annotation
    return list(model.model_fields)


def problems_from(exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into one-line problems that name the field and what is allowed."""
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("literal")))
        # pydantic reports union members as extra loc parts; keep the field path only.
        loc = tuple(p for p in loc if p not in ("list[str]", "str", "int", "float", "none"))
        path = ".".join(str(p) for p in loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            parent, key = loc[:-1], str(loc[-1])
            known = _known_fields(parent)
            alias = KNOWN_ALIASES.get(key)
            close = [alias] if alias in known else []
            close = close or difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            where = f"[{'.'.join(map(str, parent))}]" if parent else "the top level"
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            problems.append(Problem(path, f"unknown key {key!r} in {where}; {hint}"))
            continue
        message = error["msg"]
        if kind == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            message = f"must be one of {expected} (got {error['input']!r})"
        elif kind.endswith("_type") or kind.startswith(("greater", "less")):
            message = f"{message.lower()} (got {error['input']!r})"
        else:
            message = re.sub(r"^Value error, ", "", message)
        problems.append(Problem(path, message))
    # A union (targets) produces one error per member; keep one message per field.
    unique: dict[str, Problem] = {}
    for problem in problems:
        unique.setdefault(problem.loc, problem)
    return list(unique.values())


# ---------------------------------------------------------------------------- files


def parse_toml(text: str, *, origin: str = "session") -> Session:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SessionError(f"{origin}: not valid TOML ({exc}); fix the file and retry") from None
    return Session.from_dict(raw, origin=origin)


def resolve_session_path(name_or_path: str | Path) -> Path:
    """A path as given if it exists, else a named session in the sessions folder."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise SessionError(f"{path} is a folder; give a session .toml file")
    named = sessions_dir() / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
    if len(path.parts) == 1 and named.is_file():
        return named
    raise SessionError(
        f"no session file {str(name_or_path)!r}; give a path to a .toml file or a name from "
        "`lorawiz sessions`"
    )


def load_session(name_or_path: str | Path) -> Session:
    """Read and validate a session file (a path, or the name of a saved session)."""
    path = resolve_session_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(f"cannot read session {path}: {exc}") from None
    return parse_toml(text, origin=str(path))


def save_session(session: Session, name_or_path: str | Path) -> Path:
    """Write atomically (temporary file, then rename): a crash never leaves half a session.

    A bare name ("my-run") is saved as a named session in the sessions folder.
    """
    path = Path(name_or_path).expanduser()
    if len(path.parts) == 1 and not str(name_or_path).startswith("."):
        stem = path.name[:-5] if path.name.endswith(".toml") else path.name
        if not re.fullmatch(r"[\w.-]+", stem):
            raise SessionError(
                f"session name {stem!r} may use letters, digits, '.', '_' and '-' only"
            )
        path = sessions_dir() / f"{stem}.toml"
    text = session.to_toml()
    write_atomic(path, text)
    return path


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SavedSession:
    name: str
    path: Path
    modified: float


def list_sessions() -> list[SavedSession]:
    """Named sessions, newest first."""
    folder = sessions_dir()
    if not folder.is_dir():
        return []
    found = [
        SavedSession(p.stem, p, p.stat().st_mtime)
        for p in folder.glob("*.toml")
        if not p.name.startswith(".")
    ]
    return sorted(found, key=lambda s: s.modified, reverse=True)
