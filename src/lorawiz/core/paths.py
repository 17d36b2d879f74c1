"""Where lorawiz keeps sessions, runs and the demo model.

`LORAWIZ_HOME` puts all three under one folder (tests and CI use it so they never touch the
user's real directories); otherwise platformdirs picks the platform's usual places.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "lorawiz"


def _home() -> Path | None:
    value = os.environ.get("LORAWIZ_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """Where named sessions live (`<config>/sessions/NAME.toml`)."""
    home = _home()
    if home is not None:
        return home / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """Where run directories live by default (`<data>/runs/`)."""
    home = _home()
    if home is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    """Where the built-in demo model is created on first use (`LORAWIZ_CACHE` overrides)."""
    override = os.environ.get("LORAWIZ_CACHE")
    if override:
        return Path(override).expanduser()
    home = _home()
    if home is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP))


def sessions_dir() -> Path:
    return config_dir() / "sessions"


def runs_dir() -> Path:
    return data_dir() / "runs"
