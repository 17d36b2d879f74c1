"""Errors a user can cause. Each message says what is wrong and what to do, in one line.

The CLI prints `LorawizError` messages without a traceback and exits 2; the TUI shows them
as notifications or inline. Anything else escaping is a bug in lorawiz.
"""

from __future__ import annotations

from collections.abc import Sequence


class LorawizError(Exception):
    """A mistake the user can fix; the message says how."""


class ModelError(LorawizError):
    """The model cannot be found, read or inspected."""


class SessionError(LorawizError):
    """A session file is missing, malformed or fails validation.

    `problems` holds one entry per field problem (objects with `loc` and `message`), so the
    wizard can show each one on its field.
    """

    def __init__(self, message: str, problems: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class DataError(LorawizError):
    """A dataset is missing, malformed or does not fit the training method."""


class DeviceError(LorawizError):
    """The requested device is not available."""


class RunError(LorawizError):
    """A run directory cannot be launched into, stopped or resumed."""
