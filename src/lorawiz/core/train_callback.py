"""The training child's link to the outside: events written from Trainer hooks, and the stop flag.

`EventCallback` turns Trainer hooks into `start` / `log` / `checkpoint` events. `StopSignal`
turns SIGTERM (`lorawiz stop`, Ctrl-C in the foreground view) into a graceful stop: while the
model loads it interrupts at once; once training runs it lets the current step finish, then asks
the Trainer to save a checkpoint and end the loop.
"""

from __future__ import annotations

import math
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from lorawiz.core.events import CHECKPOINT, LOG, START, EventWriter

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

# Log keys every `log` event carries (None when the Trainer did not report one).
LOG_KEYS = ("loss", "learning_rate", "epoch", "grad_norm")
DPO_KEYS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")
# Summary keys the Trainer logs once at the end; not a training step.
_SUMMARY_KEYS = ("train_runtime", "train_loss")


class StopRequested(BaseException):
    """SIGTERM arrived before training began: nothing to finish, end the attempt now.

    A BaseException, like KeyboardInterrupt, so library code catching Exception while the model
    loads cannot swallow it."""


class StopSignal:
    """Installs SIGTERM/SIGINT handlers; `requested` turns true on the first signal."""

    def __init__(self) -> None:
        self.requested = False
        self.interruptible = True
        """True while loading: a signal raises StopRequested at once. Cleared when the training
        loop starts (a signal then waits for the step's end) and never set again."""

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)
        # The launcher starts us with both blocked (see runs._spawn); a stop that arrived while
        # Python was starting is delivered to the handler right here.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        already = self.requested
        self.requested = True
        if self.interruptible and not already:
            self.interruptible = False  # one StopRequested, then the attempt winds down
            raise StopRequested(signal.Signals(signum).name)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class EventHooks:
    """Writes the run's events; asks for a checkpoint and a stop when `stop.requested`.

    The Trainer hooks only; `event_callback` mixes them into a `TrainerCallback` (imported
    there, so this module stays light to import)."""

    def __init__(
        self,
        events: EventWriter,
        stop: StopSignal,
        start_fields: dict[str, Any],
        *,
        resumed_from: int | None = None,
        dpo: bool = False,
    ) -> None:
        self.events = events
        self.stop = stop
        self.start_fields = start_fields
        self.resumed_from = resumed_from
        self.dpo = dpo
        self.started = False
        self.saved_steps: list[int] = []

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        fields = {"max_steps": state.max_steps, **self.start_fields}
        if self.resumed_from is not None:
            fields["resumed_from"] = self.resumed_from
        self.events.write(START, **fields)
        self.started = True
        self.stop.interruptible = False
        if self.stop.requested:  # a signal landed between loading and the first step
            control.should_training_stop = True

    def on_step_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if self.stop.requested and state.global_step < state.max_steps:
            control.should_save = True
            control.should_training_stop = True

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not logs or "loss" not in logs or any(key in logs for key in _SUMMARY_KEYS):
            return
        fields: dict[str, Any] = {"step": state.global_step}
        for key in LOG_KEYS:
            fields[key] = _number(logs.get(key))
        if self.dpo:
            for key in DPO_KEYS:
                fields[key] = _number(logs.get(key))
        # Anything else numeric the trainer reports (token accuracy, log-probs…) rides along.
        for key, value in logs.items():
            if key not in fields and key != "step":
                number = _number(value)
                if number is not None:
                    fields[key] = number
        self.events.write(LOG, **fields)

    def on_save(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        path = Path(str(args.output_dir)) / f"checkpoint-{state.global_step}"
        self.saved_steps.append(state.global_step)
        self.events.write(CHECKPOINT, step=state.global_step, path=str(path))


def event_callback(
    events: EventWriter,
    stop: StopSignal,
    start_fields: dict[str, Any],
    *,
    resumed_from: int | None = None,
    dpo: bool = False,
) -> EventHooks:
    """The `TrainerCallback` that writes the run's events."""
    from transformers import TrainerCallback

    class EventCallback(EventHooks, TrainerCallback):
        pass

    return EventCallback(events, stop, start_fields, resumed_from=resumed_from, dpo=dpo)
