"""Pilot tests of the wizard: steps, presets and live share arithmetic, validation, sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton, Static

from lorawiz.commands.wizard import build_app
from lorawiz.core.session import Session, load_session, save_session
from lorawiz.screens.draft import DATA, LAYERS, MODEL, REVIEW, TRAINING
from lorawiz.screens.step_review import ReviewStep
from lorawiz.screens.wizard import WizardScreen
from lorawiz.widgets.form_field import FormField
from lorawiz.widgets.layer_table import LayerTable
from lorawiz.widgets.share_bar import ShareBar
from lorawiz.widgets.stepper import Stepper
from test_tui_support import FakeServices

SIZE = (120, 40)


async def until(pilot: Pilot, check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let workers finish: pause until `check()` holds (thread workers post back later)."""
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting for the UI")


def wizard(pilot: Pilot) -> WizardScreen:
    screen = pilot.app.screen
    assert isinstance(screen, WizardScreen)
    return screen


def field(pilot: Pilot, loc: str) -> FormField:
    return pilot.app.screen.query_one(f"#field-{loc.replace('.', '-')}", FormField)


async def type_into(pilot: Pilot, loc: str, text: str) -> None:
    """Clear a field and type `text` key by key, as a person would."""
    target = field(pilot, loc).input
    target.focus()
    await pilot.pause()
    target.value = ""
    await pilot.press(*text)
    await pilot.pause()


@pytest.fixture
def services(tmp_path: Path) -> FakeServices:
    return FakeServices(tmp_path)


async def test_every_step_by_keyboard_buttons_and_stepper(services: FakeServices) -> None:
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        assert screen.step == MODEL
        stepper = screen.query_one(Stepper)
        assert app.focused is field(pilot, "model.name").input
        # Each step puts the cursor on its first control, so typing goes somewhere visible.
        focused = {LAYERS: "layer-list", DATA: "field-data-source-input", TRAINING: "method"}
        focused[REVIEW] = "launch"
        for expected in (LAYERS, DATA, TRAINING, REVIEW):
            await pilot.press("ctrl+n")
            assert screen.step == expected == stepper.current
            assert app.focused is not None and app.focused.id == focused[expected]
        await pilot.press("ctrl+b")
        assert screen.step == TRAINING
        await pilot.click("#back")
        assert screen.step == DATA
        await pilot.press("f1")
        assert screen.step == MODEL
        # Clicking a step name on the stepper goes there.
        x = next(x for x in range(80) if stepper.step_at(x) == REVIEW)
        await pilot.click(Stepper, offset=(x, 0))
        assert screen.step == REVIEW
        assert 'targets = "all-linear"' in screen.query_one(ReviewStep).toml
        summary = str(screen.query_one("#review-summary", Static).render())
        assert "SFT on demo (nf4) · LoRA r=8 on all-linear · data demo-sft" in summary
        command = str(screen.query_one("#review-command", Static).render())
        assert command.startswith("lorawiz train")


async def test_model_step_inspects_in_a_worker_and_shows_errors(services: FakeServices) -> None:
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        await type_into(pilot, "model.name", "broken")
        await pilot.press("enter")
        await until(pilot, lambda: services.inspected == ["broken"])
        await until(
            pilot,
            lambda: (
                "no model 'broken'" in str(screen.query_one("#inspect-status", Static).render())
            ),
        )
        await type_into(pilot, "model.name", "meta-llama/Llama-2-7b-hf")
        await pilot.click("#inspect")
        await until(pilot, lambda: screen.inspection is not None)
        summary = str(screen.query_one("#model-summary", Static).render())
        assert "LlamaForCausalLM" in summary
        assert "6,738,415,616" in summary


async def test_presets_and_share_update_on_every_keystroke(services: FakeServices) -> None:
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        await pilot.press("ctrl+n")  # Layers: inspects the model on the way in
        await until(pilot, lambda: screen.query_one(ShareBar).counts is not None)
        share = screen.query_one(ShareBar)
        assert share.counts == (19_988_480, 6_738_415_616, pytest.approx(0.0029576, rel=1e-4))
        assert "19,988,480 of 6.74 B trainable — 0.296%" in str(share.render())
        table = screen.query_one(LayerTable)
        assert len(table.selected) == 7
        assert screen.draft.get("lora.targets") == "all-linear"

        await pilot.click("#preset-qv")
        await pilot.pause()
        assert screen.draft.get("lora.targets") == ["q_proj", "v_proj"]
        assert share.counts is not None and share.counts[0] == 2 * 32 * 8 * (4096 + 4096)

        await pilot.click("#preset-attention")
        await pilot.pause()
        assert screen.draft.get("lora.targets") == ["q_proj", "k_proj", "v_proj", "o_proj"]

        # r=1, then r=16: the share follows each keystroke, the table's LoRA column too.
        await type_into(pilot, "lora.r", "1")
        assert share.counts is not None and share.counts[0] == 4 * 32 * 1 * 8192
        await pilot.press("6")
        await pilot.pause()
        assert share.counts is not None and share.counts[0] == 4 * 32 * 16 * 8192
        assert table.r == 16

        # Unchecking a row by keyboard (space) changes the targets.
        table.options.focus()
        table.options.highlighted = 0
        await pilot.press("space")
        await pilot.pause()
        assert screen.draft.get("lora.targets") == ["k_proj", "v_proj", "o_proj"]

        await pilot.click("#preset-all")
        await pilot.pause()
        assert screen.draft.get("lora.targets") == "all-linear"


async def test_validation_shows_on_fields_and_blocks_launch(services: FakeServices) -> None:
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        await pilot.press("ctrl+n")
        await type_into(pilot, "lora.r", "0")
        r_field = field(pilot, "lora.r")
        assert r_field.problem is not None and "greater than 0" in r_field.problem
        assert r_field.has_class("-invalid")
        assert LAYERS in screen.query_one(Stepper).with_problems
        assert screen.query_one(ShareBar).counts is None

        await pilot.press("f4")
        await type_into(pilot, "train.learning_rate", "fast")
        lr = field(pilot, "train.learning_rate")
        assert lr.problem is not None and "number" in lr.problem
        assert TRAINING in screen.query_one(Stepper).with_problems
        await type_into(pilot, "train.learning_rate", "1e-4")
        assert lr.problem is None
        await type_into(pilot, "train.max_steps", "")
        steps = field(pilot, "train.max_steps")
        assert str(steps.problem).startswith("set either max_steps or epochs")
        await type_into(pilot, "train.epochs", "2")
        assert steps.problem is None

        await pilot.press("ctrl+l")  # launch refuses and shows the review with the problems
        assert screen.step == REVIEW
        problems = str(screen.query_one("#review-problems", Static).render())
        assert "lora.r" in problems
        assert services.launched == []

        await type_into(pilot, "lora.r", "8")
        assert screen.draft.problems == {}
        assert screen.draft.session is not None
        assert screen.draft.session.train.epochs == 2.0
        assert screen.draft.session.train.max_steps is None


async def test_switching_to_dpo_applies_its_defaults(services: FakeServices) -> None:
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        await pilot.press("f4")
        await pilot.click("#method-dpo")
        await pilot.pause()
        assert screen.draft.method == "dpo"
        assert screen.draft.get("lora.r") == 16
        assert screen.draft.get("train.learning_rate") == 5e-5
        assert screen.draft.get("data.source") == "demo-dpo"
        assert field(pilot, "dpo.beta").display
        await pilot.press("f2")  # built on first visit, with the DPO values
        assert field(pilot, "lora.r").input.value == "16"
        await pilot.press("f3")
        needs = str(screen.query_one("#data-needs", Static).render())
        assert "preference data" in needs
        await until(
            pilot,
            lambda: "7 of 64 rows" in str(screen.query_one("#truncation-warning", Static).render()),
        )
        await pilot.press("f4")
        await pilot.click("#method-sft")
        await pilot.pause()
        assert screen.draft.get("lora.r") == 8
        assert not screen.query_one("#method-dpo", RadioButton).value


async def test_data_step_preview_stats_and_errors(services: FakeServices) -> None:
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        await pilot.press("f3")
        warning = screen.query_one("#truncation-warning", Static)
        await until(pilot, lambda: "7 of 64 rows" in str(warning.render()))
        assert "format jsonl" in str(screen.query_one("#data-format", Static).render())
        assert "median 80" in str(screen.query_one("#token-stats", Static).render())
        await type_into(pilot, "data.source", "missing.jsonl")
        await pilot.press("enter")
        error = screen.query_one("#data-error", Static)
        await until(pilot, lambda: "no dataset missing.jsonl" in str(error.render()))


async def test_save_and_reopen_round_trip(services: FakeServices, lorawiz_home: Path) -> None:
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        await pilot.press("f2")
        await type_into(pilot, "lora.r", "32")
        await pilot.press("f4")
        await type_into(pilot, "train.batch_size", "2")
        assert screen.draft.dirty
        await pilot.press("ctrl+s")
        await pilot.pause()
        name_input = pilot.app.screen.query_one("#save-name", Input)
        name_input.value = "round-trip"
        await pilot.press("enter")
        await pilot.pause()
        assert not screen.draft.dirty
        assert screen.draft.path is not None
    saved = load_session("round-trip")
    assert saved.lora.r == 32 and saved.train.batch_size == 2

    again = build_app(session=Path(str(screen.draft.path)), services=services)
    async with again.run_test(size=SIZE) as pilot:
        reopened = wizard(pilot)
        await pilot.press("f2")
        assert field(pilot, "lora.r").input.value == "32"
        await pilot.press("f4")
        assert field(pilot, "train.batch_size").input.value == "2"
        assert not reopened.draft.dirty
        assert services.inspected  # a session opens with its model inspected


async def test_invalid_session_opens_with_problems_on_fields(
    services: FakeServices, tmp_path: Path
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(
        'version = 1\nmethod = "sft"\n[lora]\nr = -4\nalpah = 16\n[train]\nbatch_size = "big"\n',
        encoding="utf-8",
    )
    app = build_app(session=path, services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        assert screen.draft.session is None
        assert "did you mean 'alpha'" in screen.draft.problems["lora.alpah"]
        assert {LAYERS, TRAINING} <= screen.query_one(Stepper).with_problems
        await pilot.press("f2")
        assert "greater than 0" in str(field(pilot, "lora.r").problem)
        await type_into(pilot, "lora.r", "8")
        await pilot.press("f4")
        assert "integer" in str(field(pilot, "train.batch_size").problem)
        await type_into(pilot, "train.batch_size", "4")
        assert list(screen.draft.problems) == ["lora.alpah"]


async def test_opening_a_session_with_unsaved_changes_asks_first(
    services: FakeServices, lorawiz_home: Path
) -> None:
    save_session(Session.for_method("dpo"), "other")
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        screen = wizard(pilot)
        await type_into(pilot, "model.name", "my/model")
        await pilot.press("ctrl+o")
        await pilot.pause()
        pilot.app.screen.query_one("#open-path", Input).value = "other"
        pilot.app.screen.query_one("#open-path", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert type(pilot.app.screen).__name__ == "ConfirmScreen"
        await pilot.click("#no")
        await pilot.pause()
        assert screen.draft.get("model.name") == "my/model"

        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("enter")  # the saved-sessions list has focus: pick the newest
        await pilot.pause()
        await pilot.click("#yes")
        await pilot.pause()
        assert screen.draft.method == "dpo"
        assert not screen.draft.dirty
        await pilot.press("f2")
        assert field(pilot, "lora.r").input.value == "16"


async def test_quitting_with_unsaved_changes_asks(services: FakeServices) -> None:
    app = build_app(services=services)
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "model.name", "my/model")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert pilot.app.screen.__class__.__name__ == "ConfirmScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, WizardScreen)
        assert pilot.app.is_running


async def test_launch_opens_the_monitor(services: FakeServices) -> None:
    app = build_app(demo=True, services=services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.click("#launch")
        await until(pilot, lambda: pilot.app.screen.__class__.__name__ == "MonitorScreen")
        assert services.launched[0].model.name == "demo"
        assert services.launched[0].data.source == "demo-sft"
        await until(
            pilot,
            lambda: (
                pilot.app.run_snapshot is not None and pilot.app.run_snapshot.status == "running"
            ),
        )
