"""The session file contract: defaults per method, strict validation, atomic save, round trip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lorawiz.core.errors import SessionError
from lorawiz.core.session import (
    SCHEMA_VERSION,
    Session,
    list_sessions,
    load_session,
    parse_toml,
    save_session,
)

DESIGN_EXAMPLE = """
version = 1
method = "sft"
[model]
name = "demo"
quantization = "nf4"
trust_remote_code = false
[lora]
r = 8
alpha = 16
dropout = 0.05
targets = "all-linear"
[data]
source = "demo-sft"
[train]
device = "auto"
max_steps = 60
learning_rate = 2e-4
batch_size = 4
grad_accum = 1
max_length = 256
logging_steps = 1
save_steps = 20
seed = 42
[dpo]
beta = 0.1
"""


def test_design_example_parses() -> None:
    session = parse_toml(DESIGN_EXAMPLE)
    assert session.method == "sft"
    assert session.lora.r == 8 and session.lora.alpha == 16 and session.lora.dropout == 0.05
    assert session.train.max_steps == 60 and session.train.learning_rate == 2e-4
    assert session.dpo.beta == 0.1


def test_method_defaults() -> None:
    sft, dpo = Session.for_method("sft"), Session.for_method("dpo")
    assert (sft.lora.r, sft.lora.alpha, sft.lora.dropout) == (8, 16, 0.05)
    assert (dpo.lora.r, dpo.lora.alpha, dpo.lora.dropout) == (16, 16, 0.05)
    assert sft.lora.targets == dpo.lora.targets == "all-linear"
    assert dpo.data.source == "demo-dpo"
    # A value the file gives wins over the method default.
    assert parse_toml('method = "dpo"\n[lora]\nr = 4').lora.r == 4


def test_switching_method_applies_its_defaults() -> None:
    dpo = Session().with_method("dpo")
    assert dpo.lora.r == 16 and dpo.data.source == "demo-dpo"
    custom = Session.for_method("sft", data={"source": "mine.jsonl"}).with_method("dpo")
    assert custom.data.source == "mine.jsonl"  # the user's own data is kept


def test_round_trip_through_toml() -> None:
    session = Session.for_method(
        "dpo",
        lora={"targets": ["q_proj", "v_proj"], "r": 4},
        train={"max_steps": None, "epochs": 2.0},
    )
    again = parse_toml(session.to_toml())
    assert again == session
    assert "null" not in session.to_toml()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[lora]\nrank = 8", "unknown key 'rank' in [lora]; did you mean 'r'?"),
        ("[trian]\nseed = 1", "did you mean 'train'?"),
        ("[train]\nlearning_rte = 1e-4", "did you mean 'learning_rate'?"),
        ("[lora]\nr = 0", "lora.r: input should be greater than 0"),
        ("[lora]\ndropout = 1.5", "lora.dropout"),
        ('method = "ppo"', "method: must be one of 'sft' or 'dpo'"),
        ('[train]\nbatch_size = "4"', "train.batch_size: input should be a valid integer"),
        ('[train]\ndevice = "tpu"', "train.device: must be one of"),
        ("version = 2", "upgrade lorawiz"),
        ('[model]\nquantization = "int3"', "model.quantization"),
        ("[lora]\ntargets = []", 'give at least one module name, or "all-linear"'),
        ("[train\nseed = 1", "not valid TOML"),
    ],
)
def test_bad_sessions_name_the_field(toml: str, expected: str) -> None:
    with pytest.raises(SessionError) as info:
        parse_toml(toml, origin="s.toml")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_every_problem_is_reported_with_its_field() -> None:
    with pytest.raises(SessionError) as info:
        parse_toml("[lora]\nr = -1\nalpha = 0\n[train]\nbatch_size = 0")
    locs = {p.loc for p in info.value.problems}  # type: ignore[attr-defined]
    assert locs == {"lora.r", "lora.alpha", "train.batch_size"}


def test_save_is_atomic_and_named(lorawiz_home: Path) -> None:
    path = save_session(Session(), "my-run")
    assert path == lorawiz_home / "config" / "sessions" / "my-run.toml"
    assert load_session("my-run") == Session()
    assert [s.name for s in list_sessions()] == ["my-run"]
    # No temporary files left beside it.
    assert sorted(os.listdir(path.parent)) == ["my-run.toml"]


def test_save_to_a_path(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "s.toml"
    save_session(Session.for_method("dpo"), target)
    assert load_session(target).method == "dpo"
    assert f"version = {SCHEMA_VERSION}" in target.read_text()


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "s.toml"
    save_session(Session(), target)
    before = target.read_text()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_session(Session.for_method("dpo"), target)
    assert target.read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["s.toml"]


def test_missing_session_is_a_clear_error() -> None:
    with pytest.raises(SessionError, match="no session file 'nope'"):
        load_session("nope")


def test_bad_session_name() -> None:
    with pytest.raises(SessionError, match="letters, digits"):
        save_session(Session(), "bad name!")


def test_no_secret_fields() -> None:
    text = Session().to_toml().lower()
    assert "token" not in text and "password" not in text


def test_steps_or_epochs() -> None:
    assert parse_toml("[train]\nepochs = 3").train.max_steps is None
    assert parse_toml("").train.max_steps == 60
    with pytest.raises(SessionError, match="not both"):
        parse_toml("[train]\nepochs = 3\nmax_steps = 10")


def test_whole_alpha_is_written_as_an_integer() -> None:
    assert "alpha = 16\n" in Session().to_toml()
    assert "alpha = 12.5\n" in Session.for_method("sft", lora={"alpha": 12.5}).to_toml()
