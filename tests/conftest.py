"""Test set-up: offline, and never touching the user's real config/data/cache folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# No network at run time: set before anything imports huggingface_hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo-model cache for the whole test session (creating it costs seconds)."""
    return tmp_path_factory.mktemp("lorawiz-cache")


@pytest.fixture(autouse=True)
def lorawiz_home(
    tmp_path: Path, demo_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Each test gets its own sessions and runs folders; the demo cache is shared."""
    home = tmp_path / "lorawiz-home"
    monkeypatch.setenv("LORAWIZ_HOME", str(home))
    monkeypatch.setenv("LORAWIZ_CACHE", str(demo_cache))
    yield home
