"""The training child keeps the hub out of runs whose model and data are all local."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lorawiz.core.session import Session, save_session
from lorawiz.core.train import offline_when_all_local


def _run_dir(tmp_path: Path, **sections: dict[str, str]) -> Path:
    save_session(Session.for_method("sft", **sections), tmp_path / "session.toml")
    return tmp_path


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's environment without HF_HUB_OFFLINE (monkeypatch restores the tests' own)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.mark.usefixtures("online")
def test_demo_run_goes_offline(tmp_path: Path) -> None:
    assert offline_when_all_local(_run_dir(tmp_path))
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.usefixtures("online")
def test_local_folder_and_file_go_offline(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "rows.jsonl").write_text("{}\n")
    run = _run_dir(
        tmp_path,
        model={"name": str(tmp_path / "model")},
        data={"source": str(tmp_path / "rows.jsonl")},
    )
    assert offline_when_all_local(run)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.usefixtures("online")
@pytest.mark.parametrize(
    "sections",
    [{"model": {"name": "meta-llama/Llama-3.2-1B"}}, {"data": {"source": "tatsu-lab/alpaca"}}],
)
def test_hub_sources_keep_the_network(tmp_path: Path, sections: dict[str, dict[str, str]]) -> None:
    assert not offline_when_all_local(_run_dir(tmp_path, **sections))
    assert "HF_HUB_OFFLINE" not in os.environ


def test_the_users_setting_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert not offline_when_all_local(_run_dir(tmp_path))
    assert os.environ["HF_HUB_OFFLINE"] == "0"
