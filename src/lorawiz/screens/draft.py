"""The session being edited: a plain dict that may be invalid, validated on every change.

The wizard never holds an invalid `Session`; it holds this draft, asks `Session.from_dict` after
each keystroke, and shows each problem on its field. No UI imports here.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lorawiz.core.errors import SessionError

if TYPE_CHECKING:
    from lorawiz.core.session import Session

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STEPS = ("Model", "Layers", "Data", "Training", "Review")
MODEL, LAYERS, DATA, TRAINING, REVIEW = range(5)

# Which step shows a problem at a dotted location ("lora.r" → Layers).
STEP_OF_SECTION = {"model": MODEL, "lora": LAYERS, "data": DATA, "train": TRAINING, "dpo": TRAINING}


def step_of(loc: str) -> int:
    return STEP_OF_SECTION.get(loc.split(".", 1)[0], TRAINING if loc == "method" else REVIEW)


@dataclass
class Draft:
    """The editable session. `problems` maps a dotted location to its message."""

    raw: dict[str, Any]
    path: Path | None = None
    """Where it was loaded from or last saved to."""
    saved: dict[str, Any] | None = None
    """The raw dict as last loaded/saved, to know whether leaving loses changes."""
    session: Session | None = None
    problems: dict[str, str] = field(default_factory=dict)

    validated: bool = False
    """False for a draft made with `deferred()`, until `validate()` runs."""

    def __post_init__(self) -> None:
        if self.raw:
            self.validate()

    @classmethod
    def deferred(cls) -> Draft:
        """The default session, validated later: an empty file means every default.

        Building the Session model imports pydantic (~0.2 s); the first screen does not wait
        for it. Call `validate(normalize=True)` (off the UI thread) to fill the defaults in.
        """
        return cls({}, saved={})

    @classmethod
    def of(cls, session: Session, path: Path | None = None) -> Draft:
        raw = session.to_dict()
        return cls(raw, path=path, saved=copy.deepcopy(raw))

    @classmethod
    def load(cls, path: Path) -> Draft:
        """Read a session file that may be invalid; problems end up on `problems`, not raised."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SessionError(f"cannot read session {path}: {exc}") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SessionError(f"{path}: not valid TOML ({exc}); fix the file and retry") from None
        draft = cls(raw, path=path, saved=copy.deepcopy(raw))
        draft.validate(normalize=True)  # fill the method defaults in, so every field shows one
        return draft

    @property
    def dirty(self) -> bool:
        return self.raw != self.saved

    @property
    def method(self) -> str:
        return str(self.raw.get("method", "sft"))

    def get(self, loc: str, default: Any = None) -> Any:
        node: Any = self.raw
        for part in loc.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def set(self, loc: str, value: Any) -> None:
        parts = loc.split(".")
        node = self.raw
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
        self.validate()

    def validate(self, *, normalize: bool = False) -> Session | None:
        """Validate `raw`; with `normalize`, a valid draft gets every default filled in."""
        from lorawiz.core.session import Session

        self.validated = True
        try:
            self.session = Session.from_dict(self.raw)
            self.problems = {}
        except SessionError as exc:
            self.session = None
            self.problems = {}
            for problem in exc.problems:
                loc = str(getattr(problem, "loc", ""))
                self.problems.setdefault(loc, str(getattr(problem, "message", problem)))
        if normalize and self.session is not None:
            self.raw = self.session.to_dict()
            self.saved = copy.deepcopy(self.raw)
        return self.session

    def switch_method(self, method: str) -> None:
        """Apply the method's defaults (DPO: r=16, lr 5e-5, demo-dpo data) when it changes."""
        if method == self.method:
            return
        current = self.validate()
        if current is not None and method in ("sft", "dpo"):
            self.raw = current.with_method(method).to_dict()  # type: ignore[arg-type]
            self.validate()
        else:
            self.set("method", method)

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self.saved = copy.deepcopy(self.raw)

    def problem_steps(self) -> frozenset[int]:
        return frozenset(step_of(loc) for loc in self.problems)
