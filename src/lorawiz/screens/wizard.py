"""The wizard screen: the stepper, the five steps, back/next, save/open and launch.

It holds a `Draft` (the session being edited, maybe invalid) and re-validates it on every edit,
so each step shows its problems on its fields. Slow core calls (inspection, data preview, token
counts, device detection, launch) run in thread workers owned by this screen.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    Footer,
    Header,
    Input,
    OptionList,
    Static,
)

from lorawiz.core.errors import LorawizError
from lorawiz.screens.draft import DATA, LAYERS, MODEL, REVIEW, STEPS, TRAINING, Draft
from lorawiz.screens.step_model import ModelStep
from lorawiz.widgets.form_field import FormField
from lorawiz.widgets.stepper import Stepper

if TYPE_CHECKING:
    from textual.widgets import RadioSet, Select

    from lorawiz.app import LorawizApp
    from lorawiz.widgets.layer_table import LayerTable

STEP_IDS = ("step-model", "step-layers", "step-data", "step-training", "step-review")
# The other steps' modules (and the Textual widgets they use: DataTable, Select, RadioSet,
# SelectionList) load on the first visit to each step, not before the first frame.
STEP_MODULES = (
    ("lorawiz.screens.step_model", "ModelStep"),
    ("lorawiz.screens.step_layers", "LayersStep"),
    ("lorawiz.screens.step_data", "DataStep"),
    ("lorawiz.screens.step_training", "TrainingStep"),
    ("lorawiz.screens.step_review", "ReviewStep"),
)
# Where the cursor goes when a step is shown, first match that can take it.
STEP_FOCUS = (("Input",), ("SelectionList",), ("Input",), ("RadioSet",), ("#launch", "#save"))


class WizardScreen(Screen[None]):
    """Model · Layers · Data · Training · Review."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+o", "open", "Open"),
        Binding("ctrl+l", "launch", "Launch"),
        # The App's ctrl+q is hidden so screens with their own `q` show one Quit; show it here.
        Binding("ctrl+q", "app.quit", "Quit", priority=True),
        *(Binding(f"f{i + 1}", f"go({i})", name, show=False) for i, name in enumerate(STEPS)),
    ]

    DEFAULT_CSS = """
    WizardScreen ContentSwitcher { height: 1fr; padding: 1 2 0 2; }
    WizardScreen ContentSwitcher > * { height: 1fr; }
    WizardScreen .lead { width: 1fr; height: auto; }
    WizardScreen #nav { height: 1; padding: 0 2; background: $boost; }
    WizardScreen #nav Button { min-width: 12; }
    WizardScreen #nav-hint { width: 1fr; content-align: center middle; color: $text-muted; }
    """

    def __init__(self, draft: Draft, *, inspect: bool = False) -> None:
        super().__init__()
        self.draft = draft
        self.step = MODEL
        self.inspection: Any = None
        self.inspected_name: str | None = None
        self.inspect_on_mount = inspect
        self.previewed: tuple[str, str, int] | None = None
        self.devices_detected = False

    @property
    def lorawiz(self) -> LorawizApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Stepper(list(STEPS), id="stepper")
        # Only the first step is built now; the others on first visit (start-up time scales
        # with the number of widgets styled before the first frame).
        with ContentSwitcher(initial=STEP_IDS[MODEL]):
            yield ModelStep(id=STEP_IDS[MODEL])
        with Horizontal(id="nav"):
            yield Button("‹ Back", id="back", compact=True)
            yield Static("", id="nav-hint")
            yield Button("Next ›", id="next", variant="primary", compact=True)
        yield Footer()

    async def on_mount(self) -> None:
        self.fill_from_draft()
        await self.show_step(self.step)
        if not self.draft.validated:
            # After the first frame is on screen: the import would compete with it for the GIL.
            self.set_timer(0.05, self.load_defaults)
            return
        self.load_recent()
        if self.draft.problems:
            count = len(self.draft.problems)
            self.notify(
                f"This session has {count} problem{'s' * (count > 1)}; each is shown on its field.",
                severity="warning",
            )
        if self.inspect_on_mount:
            self.start_inspection()

    @work(thread=True, group="defaults", exit_on_error=False)
    def load_defaults(self) -> None:
        """Import the session model off the UI thread (pydantic costs ~0.2 s) and fill the
        default session in, so the first screen never waits for it."""
        from lorawiz.core.session import Session, list_sessions

        defaults = Session().to_dict()
        list_sessions()
        self.app.call_from_thread(self._defaults_loaded, defaults)

    def _defaults_loaded(self, defaults: dict[str, Any]) -> None:
        draft = self.draft
        edited = draft.raw  # whatever the user typed in the first instant wins
        draft.raw = _merged(defaults, edited)
        draft.saved = copy.deepcopy(defaults)
        draft.validate()
        self.fill_from_draft()
        self.load_recent()
        if self.inspect_on_mount:
            self.start_inspection()

    # ------------------------------------------------------------------ steps

    def pane(self, index: int) -> Any:
        """A step's pane (ModelStep … ReviewStep), or None while it has not been visited yet."""
        for found in self.query(f"#{STEP_IDS[index]}"):
            return found
        return None

    async def show_step(self, index: int) -> None:
        self.step = max(0, min(len(STEPS) - 1, index))
        switcher = self.query_one(ContentSwitcher)
        if self.pane(self.step) is None:
            module, name = STEP_MODULES[self.step]
            pane_class = getattr(importlib.import_module(module), name)
            await switcher.mount(pane_class(id=STEP_IDS[self.step]))
            self.fill_from_draft()
            if self.step == LAYERS and self.inspection is not None:
                self._show_layers()
        switcher.current = STEP_IDS[self.step]
        self.query_one(Stepper).current = self.step
        self.query_one("#back", Button).disabled = self.step == MODEL
        next_button = self.query_one("#next", Button)
        next_button.label = "Launch ›" if self.step == REVIEW else f"{STEPS[self.step + 1]} ›"
        next_button.variant = "success" if self.step == REVIEW else "primary"
        self.query_one("#nav-hint", Static).update(f"step {self.step + 1} of {len(STEPS)}")
        self.sub_title = f"{STEPS[self.step]} — {self.session_label}"
        if self.step == LAYERS:
            if self.inspection is None or self.inspected_name != self.draft.get("model.name"):
                self.start_inspection()
            else:
                self.refresh_share()
        elif self.step == DATA:
            self.start_preview()
        elif self.step == TRAINING and not self.devices_detected:
            self.devices_detected = True
            self.detect_devices()
        elif self.step == REVIEW:
            self.pane(REVIEW).show(self.draft, self.inspection)
        self.focus_step()

    def focus_step(self) -> None:
        """Put the cursor on the step's first control (the pane itself only scrolls)."""
        for selector in STEP_FOCUS[self.step]:
            for widget in self.query(f"#{STEP_IDS[self.step]} {selector}").results(Widget):
                if widget.focusable:
                    widget.focus()
                    return

    @property
    def session_label(self) -> str:
        name = self.draft.path.name if self.draft.path else "unsaved session"
        return name + (" •" if self.draft.dirty else "")

    async def action_next(self) -> None:
        if self.step == REVIEW:
            await self.action_launch()
        else:
            await self.show_step(self.step + 1)

    async def action_back(self) -> None:
        await self.show_step(self.step - 1)

    async def action_go(self, index: int) -> None:
        await self.show_step(index)

    @on(Button.Pressed, "#next")
    async def _next_pressed(self) -> None:
        await self.action_next()

    @on(Button.Pressed, "#back")
    async def _back_pressed(self) -> None:
        await self.action_back()

    @on(Stepper.StepSelected)
    async def _step_selected(self, event: Stepper.StepSelected) -> None:
        await self.show_step(event.index)

    def palette_commands(self) -> Iterable[SystemCommand]:
        for index, name in enumerate(STEPS):
            yield SystemCommand(
                f"Go to {name}", f"Step {index + 1} of the wizard", self._goer(index)
            )
        yield SystemCommand("Save session", "Save to a named session or a file", self.action_save)
        yield SystemCommand("Open session", "Open a saved session or a file", self.action_open)
        yield SystemCommand("Launch", "Start training this session", self.action_launch)
        yield SystemCommand("Use the demo model", "Set the model to demo", self._use_demo)

    def _goer(self, index: int) -> Any:
        async def go() -> None:
            await self.show_step(index)

        return go

    # ------------------------------------------------------------------ draft <-> widgets

    def fill_from_draft(self) -> None:
        """Show every draft value on its widget (after load, method switch or preset)."""
        draft = self.draft
        for field in self.query(FormField):
            field.set_value(draft.get(field.loc))
        trust = self.query_one("#trust-remote-code", Checkbox)
        with trust.prevent(Checkbox.Changed):
            trust.value = bool(draft.get("model.trust_remote_code", False))
        training = self.pane(TRAINING)
        if training is not None:
            from textual.widgets import Select

            training.show_method(draft.method)
            for select_id, loc, default in (
                ("#quantization", "model.quantization", "nf4"),
                ("#device", "train.device", "auto"),
            ):
                select = training.query_one(select_id, Select)
                value = draft.get(loc, default)
                # A value the file has but the options lack is shown as a problem instead.
                with select.prevent(Select.Changed), contextlib.suppress(Exception):
                    select.value = value
        data = self.pane(DATA)
        if data is not None:
            data.show_method(draft.method)
        if self.inspection is not None:
            self._show_layers()
        self.show_problems()

    def _show_layers(self) -> None:
        layers = self.pane(LAYERS)
        if layers is not None:
            layers.show_inspection(
                self.inspection, self.draft.get("lora.r"), self.draft.get("lora.targets")
            )

    def edit(self, loc: str, value: Any) -> None:
        self.draft.set(loc, value)
        self.show_problems()

    def show_problems(self) -> None:
        problems = self.draft.problems
        for field in self.query(FormField):
            message = problems.get(field.loc)
            if message is None and field.loc in ("train.max_steps", "train.epochs"):
                message = problems.get("train")  # "set either max_steps or epochs"
            field.problem = message
        layers = self.pane(LAYERS)
        if layers is not None:
            layers.show_targets_problem(problems.get("lora.targets"))
        self.query_one(Stepper).with_problems = self.draft.problem_steps()
        self.refresh_share()
        review = self.pane(REVIEW)
        if self.step == REVIEW and review is not None:
            review.show(self.draft, self.inspection)
        self.sub_title = f"{STEPS[self.step]} — {self.session_label}"

    def refresh_share(self) -> None:
        layers = self.pane(LAYERS)
        if layers is not None:
            layers.update_share(
                self.inspection, self.draft.get("lora.targets"), self.draft.get("lora.r")
            )

    @on(FormField.Edited)
    def _field_edited(self, event: FormField.Edited) -> None:
        self.edit(event.field.loc, event.value)

    @on(Checkbox.Changed, "#trust-remote-code")
    def _trust_changed(self, event: Checkbox.Changed) -> None:
        self.edit("model.trust_remote_code", event.value)

    # Named handlers rather than @on(Select.Changed, …): the decorator would need Select (and
    # RadioSet, LayerTable) imported before the first frame.
    def on_select_changed(self, event: Select.Changed) -> None:
        from textual.widgets import Select

        loc = {"quantization": "model.quantization", "device": "train.device"}.get(
            str(event.select.id)
        )
        if loc is not None and event.value != Select.NULL:
            self.edit(loc, event.value)

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id != "method":
            return
        method = "dpo" if event.pressed.id == "method-dpo" else "sft"
        if method == self.draft.method:
            return
        self.draft.switch_method(method)
        self.fill_from_draft()
        if method == "dpo":
            self.notify(
                f"DPO defaults applied (r={self.draft.get('lora.r')}, "
                f"lr={self.draft.get('train.learning_rate'):g}). DPO needs preference data: "
                f"prompt, chosen, rejected — data is now {self.draft.get('data.source')}.",
                title="Switched to DPO",
            )

    # ------------------------------------------------------------------ model step

    @on(Button.Pressed, "#use-demo")
    def _use_demo(self) -> None:
        self.draft.set("model.name", "demo")
        self.fill_from_draft()
        self.start_inspection()

    @on(Button.Pressed, "#inspect")
    @on(Input.Submitted, "#field-model-name-input")
    def _inspect_pressed(self) -> None:
        self.start_inspection()

    @on(OptionList.OptionSelected, "#recent-models")
    def _recent_model(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.edit("model.name", event.option.id)
            self.fill_from_draft()
            self.start_inspection()

    def start_inspection(self) -> None:
        name = str(self.draft.get("model.name") or "").strip()
        if not name:
            self.query_one(ModelStep).show_error("Type a model first: a folder, a hub id or demo.")
            return
        self.query_one(ModelStep).show_inspecting(name)
        self.inspect_model(name, bool(self.draft.get("model.trust_remote_code", False)))

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def inspect_model(self, name: str, trust_remote_code: bool) -> None:
        try:
            inspection = self.lorawiz.services.inspect_model(name, trust_remote_code)
        except LorawizError as exc:
            self.app.call_from_thread(self._inspection_failed, name, str(exc))
        except Exception as exc:  # a model we cannot read is a user-level problem here
            self.app.call_from_thread(self._inspection_failed, name, f"{type(exc).__name__}: {exc}")
        else:
            self.app.call_from_thread(self._inspected, name, inspection)

    def _inspected(self, name: str, inspection: Any) -> None:
        self.inspection = inspection
        self.inspected_name = name
        self.query_one(ModelStep).show_inspection(inspection)
        self._show_layers()
        self.refresh_share()

    def _inspection_failed(self, name: str, message: str) -> None:
        self.inspection = None
        self.inspected_name = None
        self.query_one(ModelStep).show_error(message)
        self.refresh_share()
        self.notify(message, title=f"Cannot inspect {name}", severity="error")

    # ------------------------------------------------------------------ layers step

    def on_layer_table_targets_changed(self, event: LayerTable.TargetsChanged) -> None:
        from lorawiz.screens.step_layers import targets_for

        targets = targets_for(self.inspection, event.selected)
        if targets != self.draft.get("lora.targets"):
            self.edit("lora.targets", targets)

    @on(Button.Pressed, "#preset-all")
    @on(Button.Pressed, "#preset-attention")
    @on(Button.Pressed, "#preset-qv")
    def _preset(self, event: Button.Pressed) -> None:
        self.apply_preset(str(event.button.id).removeprefix("preset-"))

    def apply_preset(self, preset: str) -> None:
        if self.inspection is None:
            self.notify("Inspect the model first (Model step).", severity="warning")
            return
        from lorawiz.screens.step_layers import preset_names

        names = preset_names(self.inspection, preset)
        if not names:
            self.notify(f"This model has no modules for the {preset!r} preset.", severity="warning")
            return
        self.query_one("#layers").select_only(names)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ data step

    @on(Button.Pressed, "#data-demo-sft")
    @on(Button.Pressed, "#data-demo-dpo")
    def _demo_data(self, event: Button.Pressed) -> None:
        self.edit("data.source", str(event.button.id).removeprefix("data-"))
        self.fill_from_draft()
        self.start_preview()

    @on(Button.Pressed, "#preview")
    @on(Input.Submitted, "#field-data-source-input")
    def _preview_pressed(self) -> None:
        self.previewed = None
        self.start_preview()

    def start_preview(self) -> None:
        source = str(self.draft.get("data.source") or "").strip()
        max_length = self.draft.get("train.max_length")
        if not source or not isinstance(max_length, int):
            return
        key = (source, self.draft.method, max_length)
        if key == self.previewed:
            return
        self.previewed = key
        self.pane(DATA).show_loading(source)
        self.preview_data(source, self.draft.method, str(self.draft.get("model.name")), max_length)

    @work(thread=True, exclusive=True, group="data", exit_on_error=False)
    def preview_data(self, source: str, method: str, model: str, max_length: int) -> None:
        services = self.lorawiz.services
        step = self.pane(DATA)
        if step is None:
            return
        try:
            preview = services.preview_data(source, method)
        except Exception as exc:
            self.previewed = None
            self.app.call_from_thread(step.show_error, _message(exc))
            return
        self.app.call_from_thread(step.show_preview, preview)
        try:
            stats = services.token_stats(source, method, model, max_length)
        except Exception as exc:
            self.app.call_from_thread(step.show_stats_error, _message(exc))
            return
        self.app.call_from_thread(step.show_stats, stats)

    # ------------------------------------------------------------------ training step

    @work(thread=True, exclusive=True, group="devices", exit_on_error=False)
    def detect_devices(self) -> None:
        step = self.pane(TRAINING)
        if step is None:
            return
        try:
            devices = self.lorawiz.services.detect_devices()
        except Exception as exc:
            self.app.call_from_thread(step.show_devices_error, _message(exc))
            return
        current = str(self.draft.get("train.device", "auto"))
        self.app.call_from_thread(step.show_devices, devices, current)

    # ------------------------------------------------------------------ sessions

    def load_recent(self) -> None:
        from lorawiz.core.session import list_sessions

        sessions = list_sessions()[:8]
        models: list[str] = []
        for saved in sessions:
            try:
                name = Draft.load(saved.path).get("model.name")
            except LorawizError:
                continue
            if isinstance(name, str) and name not in models:
                models.append(name)
        if "demo" not in models:
            models.append("demo")
        self.query_one(ModelStep).set_recent(models, [(s.name, str(s.path)) for s in sessions])

    def action_save(self) -> None:
        suggestion = self.draft.path.stem if self.draft.path else "my-session"
        if self.draft.path is not None and self.draft.path.parent != _sessions_dir():
            suggestion = str(self.draft.path)
        from lorawiz.screens.dialogs import SaveSessionScreen

        self.app.push_screen(SaveSessionScreen(suggestion), self._save_as)

    def _save_as(self, name: str | None) -> None:
        if not name:
            return
        if self.draft.session is None:
            count = len(self.draft.problems)
            self.notify(
                f"Fix the {count} problem{'s' * (count > 1)} first (marked on the stepper).",
                title="Not saved",
                severity="error",
            )
            return
        from lorawiz.core.session import save_session

        try:
            path = save_session(self.draft.session, name)
        except LorawizError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return
        self.draft.mark_saved(path)
        self.notify(f"Saved to {path}", title="Session saved")
        self.show_problems()
        self.load_recent()

    def action_open(self) -> None:
        from lorawiz.screens.dialogs import OpenSessionScreen

        self.app.push_screen(OpenSessionScreen(), self._open_checked)

    @on(OptionList.OptionSelected, "#recent-sessions")
    def _recent_session(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._open_checked(Path(event.option.id))

    @on(Button.Pressed, "#open-session")
    def _open_pressed(self) -> None:
        self.action_open()

    def _open_checked(self, path: Path | None) -> None:
        """Open `path`, asking first when the current session has unsaved changes."""
        if path is None:
            return
        if not self.draft.dirty:
            self.open_session(path)
            return
        from lorawiz.screens.dialogs import ConfirmScreen

        def answered(discard: bool | None) -> None:
            if discard:
                self.open_session(path)

        self.app.push_screen(
            ConfirmScreen(
                "The session has unsaved changes. Discard them and open another?",
                yes="Discard and open",
            ),
            answered,
        )

    def open_session(self, path: Path) -> None:
        from lorawiz.core.session import resolve_session_path

        try:
            path = resolve_session_path(path)
            draft = Draft.load(path)
        except LorawizError as exc:
            self.notify(str(exc), title="Cannot open", severity="error")
            return
        previous_model = self.draft.get("model.name")
        self.draft = draft
        self.previewed = None
        self.fill_from_draft()
        self.call_later(self.show_step, self.step)
        if draft.problems:
            self.notify(
                f"{len(draft.problems)} problem(s) in {path.name}, shown on the fields.",
                severity="warning",
            )
        else:
            self.notify(f"Opened {path}")
        if draft.get("model.name") != previous_model:
            self.inspection = None
            self.start_inspection()

    # ------------------------------------------------------------------ launch

    async def action_launch(self) -> None:
        if self.draft.session is None:
            await self.show_step(REVIEW)
            self.notify("Fix the problems shown first.", title="Cannot launch", severity="error")
            return
        self._set_launch_disabled(True)
        self.notify("Launching the training process…")
        self.launch(copy.deepcopy(self.draft.session))

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#launch")
    async def _launch_pressed(self) -> None:
        await self.action_launch()

    def _set_launch_disabled(self, disabled: bool) -> None:
        for button in self.query("#launch").results(Button):
            button.disabled = disabled

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False)
    def launch(self, session: Any) -> None:
        try:
            run_dir = self.lorawiz.services.launch(session)
        except Exception as exc:
            self.app.call_from_thread(self._launch_failed, _message(exc))
            return
        self.app.call_from_thread(self._launched, run_dir)

    def _launched(self, run_dir: Path) -> None:
        self._set_launch_disabled(False)
        self.lorawiz.open_monitor(Path(run_dir))

    def _launch_failed(self, message: str) -> None:
        self._set_launch_disabled(self.draft.session is None)
        self.notify(message, title="Launch failed", severity="error")


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _message(exc: BaseException) -> str:
    if isinstance(exc, LorawizError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _sessions_dir() -> Path:
    from lorawiz.core.paths import sessions_dir

    return sessions_dir()
